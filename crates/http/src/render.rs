//! How listings and matches look in JSON: the data model's field names, flat, with the server's
//! fields beside the owner's. Contact blocks are removed before anything reaches here for the public.

use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

use silkmatch_core::{
    Cooperation, Country, Kind, LanguageTag, Listing, ListingBody, Status, TechnologyField,
    Timestamp, Trl,
};
use silkmatch_index::{FoundMatch, Hit, Snippet};

/// A listing as the API shows it: the owner's fields and the server's side by side, flat.
/// Serialised straight to bytes (no intermediate `Value`): search pages carry up to 100 of these.
#[derive(Debug, Serialize)]
pub struct ListingView<'a> {
    #[serde(flatten)]
    body: &'a ListingBody,
    id: &'a str,
    owner: &'a str,
    status: Status,
    version: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
}

/// The view of `listing` at `now`. `status` reads `expired` once a publication has lapsed.
pub fn listing_view(listing: &Listing, now: Timestamp) -> ListingView<'_> {
    let status = if listing.status == Status::Published && !listing.is_live(now) {
        Status::Expired
    } else {
        listing.status
    };
    ListingView {
        body: &listing.body,
        id: &listing.id,
        owner: &listing.owner,
        status,
        version: listing.version,
        created_at: listing.created_at,
        updated_at: listing.updated_at,
        published_at: listing.published_at,
        expires_at: listing.expires_at,
    }
}

/// `listing_view` as a JSON value, for responses that add to it.
pub fn listing(listing: &Listing, now: Timestamp) -> Value {
    serde_json::to_value(listing_view(listing, now)).unwrap_or_else(|_| json!({}))
}

/// A search hit: what a results list shows (a card), and the whole listing only when asked for
/// (`full=true`): a page of whole listings is four to five times the bytes, and `GET /v1/{kind}s/{id}` is
/// one request away.
#[derive(Debug, Serialize)]
pub struct HitView<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: &'a Option<String>,
    kind: Kind,
    title: &'a str,
    summary: &'a str,
    language: &'a LanguageTag,
    country: &'a Country,
    organisation: &'a str,
    technology_fields: &'a [TechnologyField],
    trl: Trl,
    cooperation: &'a BTreeSet<Cooperation>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
    score: f32,
    snippets: &'a [Snippet],
    #[serde(skip_serializing_if = "Option::is_none")]
    listing: Option<ListingView<'a>>,
}

/// The view of a search hit at `now`; `full` adds the whole listing.
pub fn hit(hit: &Hit, now: Timestamp, full: bool) -> HitView<'_> {
    let body = &hit.listing.body;
    let view = listing_view(&hit.listing, now);
    HitView {
        id: &hit.listing.id,
        external_id: &body.external_id,
        kind: body.kind,
        title: &body.title,
        summary: &body.summary,
        language: &body.language,
        country: &body.organisation.country,
        organisation: &body.organisation.name,
        technology_fields: &body.technology_fields,
        trl: body.readiness(),
        cooperation: &body.cooperation,
        status: view.status,
        expires_at: hit.listing.expires_at,
        score: hit.score,
        snippets: &hit.snippets,
        listing: full.then_some(view),
    }
}

/// A match, in the shape `silkmatch match --json` prints.
pub fn found_match(found: &FoundMatch) -> Value {
    json!({
        "id": found.listing.id,
        "external_id": found.listing.body.external_id,
        "kind": found.listing.body.kind,
        "title": found.listing.body.title,
        "country": found.listing.body.organisation.country,
        "score": found.score,
        "explanation": found.explanation,
        "snippets": found.snippets,
    })
}
