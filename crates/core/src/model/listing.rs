//! The validated listing, as stored and served. Produced only by `validate`, so holding one means
//! every rule of the data model holds.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::enums::{Cooperation, Ipr, Kind, OrganisationKind, OrganisationSize, Status};
use super::values::{Country, Currency, LanguageTag, Sdg, Sector, TechnologyField, Trl};
use crate::timestamp::Timestamp;

/// A version of the listing's text in another language; searched like the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    /// 3..=256 characters.
    pub title: String,
    /// 10..=500 characters.
    pub summary: String,
    /// At most 4000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The organisation a listing speaks for; its country drives the country constraints of matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// At most 256 characters.
    pub name: String,
    /// What kind of organisation it is.
    pub kind: OrganisationKind,
    /// Head-count band, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<OrganisationSize>,
    /// Where it is based.
    pub country: Country,
}

/// Whom to call; never shown to anonymous readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// At most 256 characters.
    pub name: String,
    /// A plausible e-mail address (one `@`, a dotted domain), at most 254 characters.
    pub email: String,
    /// Digits and `+ - ( ) .` and spaces, at most 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// What a need's owner can spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Lower bound, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Upper bound, at least `min`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// ISO 4217.
    pub currency: Currency,
}

/// Everything a listing's owner writes: the part of a listing that validation vouches for.
/// Offer-only fields (`trl`, `ipr`, `advantages`, ...) are `None` on needs and the other way round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingBody {
    /// Offer or need.
    pub kind: Kind,
    /// The importer's own id, unique per owner: the upsert key of imports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Language of the text fields.
    pub language: LanguageTag,
    /// True when `language` was detected from the text rather than declared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub language_detected: bool,
    /// 3..=256 characters.
    pub title: String,
    /// 10..=500 characters.
    pub summary: String,
    /// At most 4000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Offers: what is new and better; at most 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advantages: Option<String>,
    /// Needs: the specification or expertise sought; at most 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<String>,
    /// The role expected of the partner; at most 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_sought: Option<String>,
    /// Versions in other languages, keyed by language.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<LanguageTag, Translation>,
    /// At most 20 free keywords of at most 64 characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// 1..=5 distinct WIPO fields.
    pub technology_fields: Vec<TechnologyField>,
    /// At most 3 distinct NACE sections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sectors: Vec<Sector>,
    /// Distinct SDGs addressed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdgs: Vec<Sdg>,
    /// Offers: readiness reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trl: Option<Trl>,
    /// Needs: the lowest readiness the need can use (1 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trl_min: Option<Trl>,
    /// Offers: protection of the technology.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipr: Option<Ipr>,
    /// Offers: patent publication numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patents: Vec<String>,
    /// Non-empty: what the owner will do (offers) or accepts (needs).
    pub cooperation: BTreeSet<Cooperation>,
    /// The organisation behind the listing.
    pub organisation: Organisation,
    /// Offers: markets sought; needs: where partners may come from; empty means anywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_countries: Vec<Country>,
    /// Needs: what can be spent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Offers: whether the price is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_negotiable: Option<bool>,
    /// Required to publish; never shown to anonymous readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

impl ListingBody {
    /// Every text of the listing in its own language, with the role each plays; what the index analyses.
    pub fn texts(&self) -> impl Iterator<Item = (TextRole, &str)> {
        let own = [
            (TextRole::Title, Some(self.title.as_str())),
            (TextRole::Summary, Some(self.summary.as_str())),
            (TextRole::Body, self.description.as_deref()),
            (TextRole::Body, self.advantages.as_deref()),
            (TextRole::Body, self.requirements.as_deref()),
            (TextRole::Body, self.partner_sought.as_deref()),
        ];
        own.into_iter()
            .filter_map(|(role, text)| text.map(|text| (role, text)))
    }

    /// The readiness the matching constraints compare: an offer's `trl`, a need's `trl_min` (default 1).
    pub fn readiness(&self) -> Trl {
        match self.kind {
            Kind::Offer => self.trl,
            Kind::Need => self.trl_min,
        }
        .unwrap_or(Trl::new(1).expect("1 is a valid TRL"))
    }
}

/// Which part of a listing a text comes from; the index weighs the parts differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextRole {
    /// The title.
    Title,
    /// The summary.
    Summary,
    /// Description, advantages, requirements and partner sought.
    Body,
    /// Keywords.
    Keywords,
}

/// A stored listing: the owner's body plus what the server keeps about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Server-assigned ULID.
    pub id: String,
    /// The owning organisation's id.
    pub owner: String,
    /// Lifecycle state.
    pub status: Status,
    /// Increments on every change; the ETag.
    pub version: u64,
    /// When first stored.
    pub created_at: Timestamp,
    /// When last changed.
    pub updated_at: Timestamp,
    /// When last published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<Timestamp>,
    /// When publication lapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// What the owner wrote.
    pub body: ListingBody,
}

impl Listing {
    /// A listing that is not stored, for "rank partners for this" requests: treated as published
    /// now, with no id, owned by `owner` (empty for nobody) so that owner's own listings are left out.
    pub fn unsaved(body: ListingBody, owner: &str, now: Timestamp) -> Listing {
        Listing {
            id: String::new(),
            owner: owner.to_owned(),
            status: Status::Published,
            version: 0,
            created_at: now,
            updated_at: now,
            published_at: Some(now),
            expires_at: None,
            body,
        }
    }

    /// Whether the public may see it and matching may propose it at `now` (data model, "Lifecycle").
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status == Status::Published && self.expires_at.is_none_or(|expiry| expiry > now)
    }
}
