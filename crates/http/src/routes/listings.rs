//! `/v1/offers` and `/v1/needs`: create, read, replace, merge-patch, publish, withdraw.
//! Handlers parse, call one engine write (or read), and render.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::Digest as _;
use silkmatch_core::access::{Access, access};
use silkmatch_core::{
    Kind, Listing, Problem, ProblemCode, Validated, draft_from_value, parse_draft, validate,
};
use silkmatch_index::store::tokens::Principal;
use silkmatch_index::{IndexError, Target, Write};

use crate::app::{App, now};
use crate::error::ApiError;
use crate::extract::{Caller, IdempotencyKey, IfMatch, JsonBody, PathId};
use crate::render;

/// The collection path of a kind.
pub fn collection(kind: Kind) -> &'static str {
    match kind {
        Kind::Offer => "offers",
        Kind::Need => "needs",
    }
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::Index(IndexError::invalid(problems))
}

/// Parses and validates a listing body for a collection: `kind` may be left out, but must not
/// contradict the path.
pub fn validated_body(kind: Kind, body: &JsonBody) -> Result<Validated, ApiError> {
    let draft = parse_draft(body.text()).map_err(|problem| match problem.code {
        ProblemCode::MalformedJson => ApiError::MalformedBody(problem),
        _ => invalid(vec![problem]),
    })?;
    validated_draft(kind, draft)
}

/// Validates a draft for a collection (the API's JSON bodies and the web form both end here).
pub fn validated_draft(
    kind: Kind,
    mut draft: silkmatch_core::Draft,
) -> Result<Validated, ApiError> {
    check_kind(kind, &mut draft)?;
    validate(&draft).map_err(invalid)
}

fn check_kind(kind: Kind, draft: &mut silkmatch_core::Draft) -> Result<(), ApiError> {
    match draft.kind.as_deref() {
        None => draft.kind = Some(kind.as_str().to_owned()),
        Some(given) if given == kind.as_str() => {}
        Some(given) => {
            return Err(invalid(vec![Problem::new(
                "kind",
                ProblemCode::UnknownValue,
                format!(
                    "`kind` is `{given}` but this is the {} collection; leave `kind` out or send it to /v1/{}.",
                    collection(kind),
                    given.trim_end_matches('s')
                ),
            )]));
        }
    }
    Ok(())
}

/// A listing response: the body, `ETag: "<version>"` and, on creation, `Location`.
fn listing_response(status: StatusCode, listing: &Listing) -> Response {
    let mut response = (status, Json(render::listing(listing, now()))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", listing.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!(
            "/v1/{}/{}",
            collection(listing.body.kind),
            listing.id
        ))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Loads a listing for `viewer` (an organisation id), answering 404 for anything it may not know of
/// (another kind, when `kind` is given; a private listing of someone else) and, for writes, 403 for
/// someone else's public listing.
pub async fn load(
    app: &App,
    kind: Option<Kind>,
    id: String,
    viewer: Option<&str>,
    for_write: bool,
) -> Result<Listing, ApiError> {
    let not_found = || ApiError::NotFound(format!("listing `{id}` not found"));
    if id.len() > 64 {
        return Err(not_found());
    }
    let lookup = id.clone();
    let listing = app
        .blocking(move |engine| engine.get(&lookup))
        .await??
        .filter(|listing| kind.is_none_or(|kind| listing.body.kind == kind))
        .ok_or_else(not_found)?;
    match access(&listing, viewer, now()) {
        Access::Owner => Ok(listing),
        Access::Public if !for_write => Ok(listing),
        Access::Public => Err(ApiError::Forbidden(format!(
            "listing `{id}` belongs to another organisation"
        ))),
        Access::Hidden => Err(not_found()),
    }
}

/// `If-Match` is evaluated before the body (RFC 9110, 13.2.2): a stale version is 412 even when the
/// body is also invalid. The writer checks it again, atomically.
fn check_precondition(current: &Listing, if_match: &IfMatch) -> Result<(), ApiError> {
    match if_match.0 {
        Some(expected) if expected != current.version => {
            Err(ApiError::Index(IndexError::VersionMismatch {
                id: current.id.clone(),
                expected,
                current: current.version,
            }))
        }
        _ => Ok(()),
    }
}

/// `POST /v1/{offers|needs}`.
pub async fn create(
    kind: Kind,
    State(app): State<App>,
    caller: Caller,
    key: IdempotencyKey,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let principal = caller.require()?;
    // Scoped by collection: the same key on /v1/offers and /v1/needs names two requests.
    let idempotency = key.0.map(|key| silkmatch_index::IdempotencyKey {
        key: format!("{}:{key}", collection(kind)),
        request_hash: sha2::Sha256::digest(&body.0).into(),
    });
    let validated = validated_body(kind, &body)?;
    let written = app
        .write(Write::Create {
            owner: principal.organisation_id.clone(),
            validated,
            idempotency,
        })
        .await?;
    // A retry (`Written::Unchanged`) gets the listing its key first created, as first created.
    Ok(listing_response(StatusCode::CREATED, written.listing()))
}

/// `GET /v1/{offers|needs}/{id}`: the owner sees everything; others see live listings without contact.
pub async fn read(
    kind: Kind,
    State(app): State<App>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let listing = load(&app, Some(kind), id.clone(), caller.organisation(), false).await?;
    let level = access(&listing, caller.organisation(), now());
    let shown = silkmatch_core::access::visible(listing, level)
        .ok_or_else(|| ApiError::NotFound(format!("listing `{id}` not found")))?;
    Ok(listing_response(StatusCode::OK, &shown))
}

/// `PUT /v1/{offers|needs}/{id}`: replaces the owner's text and facts (status is kept unless given).
pub async fn replace(
    kind: Kind,
    State(app): State<App>,
    caller: Caller,
    if_match: IfMatch,
    PathId(id): PathId,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let principal = caller.require()?;
    let current = load(&app, Some(kind), id.clone(), caller.organisation(), true).await?;
    check_precondition(&current, &if_match)?;
    let validated = validated_body(kind, &body)?;
    let target = Target {
        owner: principal.organisation_id.clone(),
        id,
        expected_version: if_match.0,
    };
    let written = app.write(Write::Replace { target, validated }).await?;
    Ok(listing_response(StatusCode::OK, written.listing()))
}

/// `PATCH /v1/{offers|needs}/{id}`: a JSON merge patch (RFC 7396) over the listing's fields.
pub async fn patch(
    kind: Kind,
    State(app): State<App>,
    caller: Caller,
    if_match: IfMatch,
    PathId(id): PathId,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let principal = caller.require()?;
    let patch: Value = serde_json::from_slice(&body.0).map_err(|err| {
        ApiError::MalformedBody(Problem::new(
            "",
            ProblemCode::MalformedJson,
            format!("The body is not valid JSON: {err}."),
        ))
    })?;
    if !patch.is_object() {
        return Err(ApiError::MalformedBody(Problem::new(
            "",
            ProblemCode::InvalidType,
            "A merge patch must be a JSON object.",
        )));
    }
    let current = load(&app, Some(kind), id.clone(), caller.organisation(), true).await?;
    check_precondition(&current, &if_match)?;
    let mut document = serde_json::to_value(&current.body).map_err(|_| ApiError::WorkerFailed)?;
    if let Value::Object(map) = &mut document {
        map.remove("language_detected");
    }
    merge_patch(&mut document, &patch);
    let mut draft = draft_from_value(document).map_err(|problem| invalid(vec![problem]))?;
    check_kind(kind, &mut draft)?;
    let validated = validate(&draft).map_err(invalid)?;
    // Without If-Match, the version read here guards against a concurrent change being overwritten.
    let target = Target {
        owner: principal.organisation_id.clone(),
        id,
        expected_version: Some(if_match.0.unwrap_or(current.version)),
    };
    let written = app.write(Write::Replace { target, validated }).await?;
    Ok(listing_response(StatusCode::OK, written.listing()))
}

/// RFC 7396: objects merge recursively, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// `POST /v1/{offers|needs}/{id}/publish`, `DELETE /v1/{offers|needs}/{id}` (withdrawing: nothing is
/// deleted) and `POST /v1/{offers|needs}/{id}/extend` (a live publication runs a year longer, at most
/// two years after publication): the body-less changes of a publication, one handler for all three.
pub async fn change(
    action: Lifecycle,
    kind: Kind,
    State(app): State<App>,
    caller: Caller,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let principal = caller.require()?;
    let listing = lifecycle(&app, principal, Some(kind), id, if_match.0, action).await?;
    Ok(listing_response(StatusCode::OK, &listing))
}

/// A change of a listing's publication that takes no body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Publish (again) for a year.
    Publish,
    /// Take down.
    Withdraw,
    /// Extend a live publication.
    Extend,
}

impl Lifecycle {
    /// The action's name in paths (`/publish`, `/withdraw`, `/extend`).
    pub fn parse(name: &str) -> Option<Lifecycle> {
        match name {
            "publish" => Some(Lifecycle::Publish),
            "withdraw" => Some(Lifecycle::Withdraw),
            "extend" => Some(Lifecycle::Extend),
            _ => None,
        }
    }
}

/// Publishes, withdraws or extends the caller's listing (the API's and the web's one path): the
/// listing must be the caller's (403/404 otherwise) and, when `expected_version` is given, unchanged.
pub async fn lifecycle(
    app: &App,
    principal: &Principal,
    kind: Option<Kind>,
    id: String,
    expected_version: Option<u64>,
    action: Lifecycle,
) -> Result<Listing, ApiError> {
    load(
        app,
        kind,
        id.clone(),
        Some(&principal.organisation_id),
        true,
    )
    .await?;
    let target = Target {
        owner: principal.organisation_id.clone(),
        id,
        expected_version,
    };
    let write = match action {
        Lifecycle::Publish => Write::Publish { target },
        Lifecycle::Withdraw => Write::Withdraw { target },
        Lifecycle::Extend => Write::Extend { target },
    };
    Ok(app.write(write).await?.listing().clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_patch;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut document =
            json!({"title": "A", "keywords": ["x"], "organisation": {"name": "O", "size": "1-10"}});
        merge_patch(
            &mut document,
            &json!({"title": "B", "keywords": null, "organisation": {"size": null, "country": "CN"}}),
        );
        assert_eq!(
            document,
            json!({"title": "B", "organisation": {"name": "O", "country": "CN"}})
        );
    }
}
