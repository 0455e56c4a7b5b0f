//! `/v1/needs/{id}/recommendations` and `/v1/offers/{id}/recommendations`: the lists the nightly
//! batch run stored, with the run's time. Visible to whoever may see the listing; candidates are
//! public views (no contact) and anything withdrawn or expired since the run is left out.

use axum::Json;
use axum::extract::State;
use silkmatch_core::Kind;
use silkmatch_index::batch::Recommendations;

use crate::app::{App, now};
use crate::error::ApiError;
use crate::extract::{Caller, PathId};

/// `GET /v1/{needs|offers}/{id}/recommendations`.
pub async fn for_listing(
    kind: Kind,
    State(app): State<App>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Recommendations>, ApiError> {
    let listing = super::listings::load(&app, Some(kind), id, caller.organisation(), false).await?;
    let now = now();
    let lookup = listing.id.clone();
    let stored = app
        .blocking(move |engine| silkmatch_index::batch::stored(engine, &lookup, now))
        .await??
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "listing `{}` has no recommendations yet: they are computed by the nightly `silkmatch batch rank`",
                listing.id
            ))
        })?;
    // Serialised as stored (f32 scores printed as in the batch output files, not widened).
    Ok(Json(stored))
}
