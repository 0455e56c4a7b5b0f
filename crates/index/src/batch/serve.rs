//! Reading stored recommendations back for the API, with what changed since the run taken out.

use serde::Serialize;
use silkmatch_core::Timestamp;

use super::{Candidate, Ranked};
use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::store::{self, Columns};

/// A listing's recommendations as the last batch run stored them.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendations {
    /// The listing.
    pub id: String,
    /// `need` or `offer`.
    pub kind: String,
    /// The run that ranked it.
    pub run_id: String,
    /// The run's reference time: the list is as of this instant.
    pub ranked_at: Timestamp,
    /// Best first, as ranked; candidates withdrawn or expired since are left out (their rank numbers
    /// are not reused, so a gap shows that something was taken out).
    pub recommendations: Vec<Candidate>,
}

/// The stored recommendations of `id` at `now`, or `None` when no run has ranked it. Candidates no
/// longer published and live at `now` are removed, so nothing withdrawn is ever served.
pub fn stored(engine: &Engine, id: &str, now: Timestamp) -> Result<Option<Recommendations>> {
    let Some(stored) = engine
        .store
        .read(|connection| store::recommendations::get_list(connection, id))?
    else {
        return Ok(None);
    };
    let ranked: Ranked = serde_json::from_str(&stored.body).map_err(|err| IndexError::Corrupt {
        id: id.to_owned(),
        reason: format!("stored recommendations: {err}"),
    })?;
    let ids: Vec<String> = ranked
        .candidates
        .iter()
        .map(|candidate| candidate.id.clone())
        .collect();
    let live: std::collections::HashSet<String> = engine
        .store
        .read(|connection| store::listings::get_many(connection, &ids, Columns::Listing))?
        .into_iter()
        .filter(|row| row.listing.is_live(now))
        .map(|row| row.listing.id)
        .collect();
    Ok(Some(Recommendations {
        id: ranked.id,
        kind: ranked.kind,
        run_id: stored.run_id,
        ranked_at: Timestamp::from_unix(stored.ranked_at),
        recommendations: ranked
            .candidates
            .into_iter()
            .filter(|candidate| live.contains(&candidate.id))
            .collect(),
    }))
}
