//! How listings and matches look in JSON: the data model's field names, flat, with the server's
//! fields beside the owner's. Contact blocks are removed before anything reaches here for the public.

use serde_json::{Value, json};
use silkmatch_core::{Listing, Status, Timestamp};
use silkmatch_index::{FoundMatch, Hit};

/// A listing as the API shows it. `status` reads `expired` once a publication has lapsed.
pub fn listing(listing: &Listing, now: Timestamp) -> Value {
    let mut value = serde_json::to_value(&listing.body).unwrap_or_else(|_| json!({}));
    let status = if listing.status == Status::Published && !listing.is_live(now) {
        Status::Expired
    } else {
        listing.status
    };
    if let Value::Object(map) = &mut value {
        map.insert("id".into(), json!(listing.id));
        map.insert("owner".into(), json!(listing.owner));
        map.insert("status".into(), json!(status));
        map.insert("version".into(), json!(listing.version));
        map.insert("created_at".into(), json!(listing.created_at));
        map.insert("updated_at".into(), json!(listing.updated_at));
        if let Some(published_at) = listing.published_at {
            map.insert("published_at".into(), json!(published_at));
        }
        if let Some(expires_at) = listing.expires_at {
            map.insert("expires_at".into(), json!(expires_at));
        }
    }
    value
}

/// A search hit.
pub fn hit(hit: &Hit, now: Timestamp) -> Value {
    json!({
        "id": hit.listing.id,
        "external_id": hit.listing.body.external_id,
        "kind": hit.listing.body.kind,
        "title": hit.listing.body.title,
        "summary": hit.listing.body.summary,
        "language": hit.listing.body.language,
        "country": hit.listing.body.organisation.country,
        "score": hit.score,
        "snippets": hit.snippets,
        "listing": listing(&hit.listing, now),
    })
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
