//! Shared by the engine tests of this crate.

use serde_json::Value;
use silkmatch_core::{Listing, Timestamp, draft_from_value, validate};
use silkmatch_index::{Engine, IndexCommit, Owner, Write};

/// Validates and writes listings (JSON in the import format) in one batch at `now`, committed to
/// the index at once; returns them as stored.
pub fn store(engine: &Engine, values: Vec<Value>, now: Timestamp) -> Vec<Listing> {
    let writes = values
        .into_iter()
        .map(|value| Write::Upsert {
            owner: Owner::FromListing,
            validated: validate(&draft_from_value(value).unwrap()).unwrap(),
        })
        .collect();
    engine
        .write(writes, now, IndexCommit::Now)
        .unwrap()
        .into_iter()
        .map(|outcome| outcome.unwrap().listing().clone())
        .collect()
}
