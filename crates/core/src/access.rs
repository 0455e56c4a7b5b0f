//! Who may see and change a listing (data model, "Organisations and credentials"; api.md, "Auth").
//! One rule for every front end, so the API, the web pages and the CLI cannot drift apart.

use crate::{Listing, Timestamp};

/// What a reader may do with a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The owner: everything, contact included, drafts and withdrawn listings too.
    Owner,
    /// Anyone else, on a live published listing: read it without its contact block.
    Public,
    /// Anyone else, on a draft, withdrawn or lapsed listing: it must look as if it did not exist.
    Hidden,
}

/// The access `viewer` (an organisation id, `None` when anonymous) has to `listing` at `now`.
pub fn access(listing: &Listing, viewer: Option<&str>, now: Timestamp) -> Access {
    if viewer.is_some_and(|organisation| organisation == listing.owner) {
        Access::Owner
    } else if listing.is_live(now) {
        Access::Public
    } else {
        Access::Hidden
    }
}

/// The listing as the web pages show it: like `visible`, except that a signed-in partner
/// organisation also sees the contact of a live listing (partners are vetted members who sign in to
/// get in touch; anonymous readers never see a contact).
pub fn visible_to_partner(listing: Listing, access: Access, signed_in: bool) -> Option<Listing> {
    match access {
        Access::Public if signed_in => Some(listing),
        _ => visible(listing, access),
    }
}

/// The listing as `access` allows it to be shown: contact removed for the public, `None` when hidden.
pub fn visible(mut listing: Listing, access: Access) -> Option<Listing> {
    match access {
        Access::Owner => Some(listing),
        Access::Public => {
            listing.body.contact = None;
            Some(listing)
        }
        Access::Hidden => None,
    }
}
