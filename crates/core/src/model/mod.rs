//! The data model of `../shared/spec/data-model.md`: loose drafts in, validated listings out.

mod draft;
mod enums;
mod listing;
mod values;

pub use draft::{
    Draft, DraftBudget, DraftContact, DraftOrganisation, DraftTranslation, draft_from_value,
    parse_draft,
};
pub use enums::{Cooperation, Ipr, Kind, OrganisationKind, OrganisationSize, Status};
pub use listing::{Budget, Contact, Listing, ListingBody, Organisation, TextRole, Translation};
pub use values::{Country, Currency, LanguageTag, Sdg, Sector, TechnologyField, Trl};
