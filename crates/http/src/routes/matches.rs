//! `/v1/needs/{id}/matches`, `/v1/offers/{id}/matches` and `POST /v1/match`: ranking off the async
//! runtime, bounded, with explanations.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};
use silkmatch_core::matching::Ranker;
use silkmatch_core::{Kind, Listing, Problem, ProblemCode};
use silkmatch_index::{MAX_CANDIDATES, MatchRequest, MatchResults};

use super::listings::validated_body;
use super::search::pairs;
use crate::app::{App, now};
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, PathId};
use crate::render;

fn bad(field: &str, message: String) -> ApiError {
    ApiError::InvalidParameter(Problem::new(field, ProblemCode::InvalidFormat, message))
}

/// Parses `k`, `candidates`, `direction` and `explain`.
fn match_request(raw: Option<&str>) -> Result<MatchRequest, ApiError> {
    let mut request = MatchRequest::default();
    for (name, value) in pairs(raw)? {
        match name.as_str() {
            "k" => {
                request.k = value
                    .parse()
                    .ok()
                    .filter(|k| (1..=100).contains(k))
                    .ok_or_else(|| {
                        bad(
                            "k",
                            format!("`k` must be between 1 and 100; got `{value}`."),
                        )
                    })?;
            }
            "candidates" => {
                request.candidates = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_CANDIDATES).contains(n))
                    .ok_or_else(|| bad("candidates", format!("`candidates` must be between 1 and {MAX_CANDIDATES}; got `{value}`.")))?;
            }
            "direction" => {
                request.ranker = match value.as_str() {
                    "reciprocal" => Ranker::Reciprocal,
                    "forward" => Ranker::Forward,
                    "backward" => Ranker::Backward,
                    "text" => Ranker::TextOnly,
                    other => {
                        return Err(bad(
                            "direction",
                            format!(
                                "`direction` must be reciprocal, forward, backward or text; got `{other}`."
                            ),
                        ));
                    }
                };
            }
            "explain" => {
                request.explain = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(bad(
                            "explain",
                            format!("`explain` must be true or false; got `{other}`."),
                        ));
                    }
                };
            }
            other => {
                return Err(bad(
                    other,
                    format!(
                        "`{other}` is not a match parameter; the parameters are: k, candidates, direction, explain."
                    ),
                ));
            }
        }
    }
    request.candidates = request.candidates.max(request.k);
    Ok(request)
}

/// Ranks partners for `listing` on the CPU pool (the API and the matches page both call this).
pub async fn ranked(
    app: &App,
    listing: Listing,
    request: MatchRequest,
) -> Result<MatchResults, ApiError> {
    let now = now();
    Ok(app
        .on_cpu(move |engine| engine.matches_for(&listing, &request, now))
        .await??)
}

async fn rank(app: &App, listing: Listing, request: MatchRequest) -> Result<Json<Value>, ApiError> {
    let results = ranked(app, listing, request).await?;
    let matches: Vec<Value> = results.matches.iter().map(render::found_match).collect();
    Ok(Json(
        json!({ "matches": matches, "candidates_considered": results.candidates_considered }),
    ))
}

/// `GET /v1/{needs|offers}/{id}/matches`: partners for a stored listing the caller may see.
pub async fn for_listing(
    kind: Kind,
    State(app): State<App>,
    caller: Caller,
    PathId(id): PathId,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let request = match_request(raw.as_deref())?;
    let listing = super::listings::load(&app, Some(kind), id, caller.organisation(), false).await?;
    rank(&app, listing, request).await
}

/// `POST /v1/match`: partners for a listing given in the body, not stored. An authenticated caller's
/// own listings are left out, as for stored listings.
pub async fn for_body(
    State(app): State<App>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let request = match_request(raw.as_deref())?;
    let kind_text = serde_json::from_slice::<Value>(&body.0)
        .ok()
        .and_then(|value| value.get("kind").and_then(Value::as_str).map(str::to_owned));
    let kind = match kind_text.as_deref() {
        Some("offer") => Kind::Offer,
        Some("need") => Kind::Need,
        _ => {
            return Err(ApiError::Index(silkmatch_index::IndexError::invalid(vec![
                Problem::new(
                    "kind",
                    ProblemCode::Required,
                    "`kind` is required: offer or need.",
                ),
            ])));
        }
    };
    let validated = validated_body(kind, &body)?;
    let now = now();
    let listing = Listing::unsaved(
        validated.body,
        caller.organisation().unwrap_or_default(),
        now,
    );
    rank(&app, listing, request).await
}
