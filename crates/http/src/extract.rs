//! Request parts every route shares: the caller, JSON bodies, `If-Match`, `Idempotency-Key`.
//! Each turns bad input into an `ApiError` naming what was wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use silkmatch_core::{Problem, ProblemCode};
use silkmatch_index::store::tokens::Principal;

use crate::app::App;
use crate::error::ApiError;

/// Who is calling: `None` for anonymous readers. A present but invalid token is an error, never
/// silently anonymous.
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// The caller's organisation, or 401.
    pub fn require(&self) -> Result<&Principal, ApiError> {
        self.0.as_ref().ok_or(ApiError::Unauthenticated)
    }

    /// The caller's organisation id, if any.
    pub fn organisation(&self) -> Option<&str> {
        self.0
            .as_ref()
            .map(|principal| principal.organisation_id.as_str())
    }

    /// An administrator, or 401/403.
    pub fn require_admin(&self) -> Result<&Principal, ApiError> {
        let principal = self.require()?;
        if principal.is_admin {
            Ok(principal)
        } else {
            Err(ApiError::Forbidden(
                "this needs an administrator token".into(),
            ))
        }
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller(None));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|text| text.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated)?;
        if token.is_empty() || token.len() > 200 {
            return Err(ApiError::Unauthenticated);
        }
        let token = token.to_owned();
        let principal = app
            .blocking(move |engine| engine.authenticate(&token))
            .await??;
        principal
            .map(|principal| Caller(Some(principal)))
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Reads a request body under the router's size limit: over it, `BodyTooLarge` (413); unreadable
/// otherwise, the problem `unreadable` makes of the reason. JSON bodies and web forms both read so.
pub(crate) async fn read_body(
    request: Request,
    app: &App,
    unreadable: impl FnOnce(String) -> Problem,
) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, app)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge {
                    limit: crate::MAX_BODY_BYTES,
                }
            } else {
                ApiError::MalformedBody(unreadable(rejection.body_text()))
            }
        })
}

/// A JSON request body, as bytes (so it can be hashed for idempotency and parsed with field paths).
/// Requires a JSON content type; the size limit is the router's.
pub struct JsonBody(pub Bytes);

impl FromRequest<App> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &App) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && essence != "application/merge-patch+json" {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(request, app, |reason| {
            Problem::new(
                "",
                ProblemCode::MalformedJson,
                format!("The body cannot be read: {reason}."),
            )
        })
        .await?;
        if std::str::from_utf8(&bytes).is_err() {
            return Err(ApiError::MalformedBody(Problem::new(
                "",
                ProblemCode::MalformedJson,
                "The body is not valid UTF-8.",
            )));
        }
        Ok(JsonBody(bytes))
    }
}

impl JsonBody {
    /// The body as text (checked UTF-8 on extraction).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// `If-Match: "<version>"`, the version a write expects.
pub struct IfMatch(pub Option<u64>);

impl FromRequestParts<App> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let invalid = || {
            ApiError::InvalidParameter(Problem::new(
                "If-Match",
                ProblemCode::InvalidFormat,
                "`If-Match` must be the ETag of the listing, e.g. \"3\".",
            ))
        };
        let text = value.to_str().map_err(|_| invalid())?.trim();
        let version = text
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .and_then(|inner| inner.parse::<u64>().ok())
            .ok_or_else(invalid)?;
        Ok(IfMatch(Some(version)))
    }
}

/// `Idempotency-Key`, 1 to 255 visible ASCII characters.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequestParts<App> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value.to_str().ok().filter(|key| {
            (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
        });
        key.map(|key| IdempotencyKey(Some(key.to_owned())))
            .ok_or_else(|| {
                ApiError::InvalidParameter(Problem::new(
                    "Idempotency-Key",
                    ProblemCode::InvalidFormat,
                    "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
                ))
            })
    }
}

/// The `{id}` path segment. Axum's own `Path` rejection is plain text; this one is a problem naming `id`.
pub struct PathId(pub String);

impl FromRequestParts<App> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, app).await {
            Ok(axum::extract::Path(id)) => Ok(PathId(id)),
            Err(rejection) => Err(ApiError::InvalidParameter(Problem::new(
                "id",
                ProblemCode::InvalidFormat,
                format!(
                    "The `id` in the path cannot be read: {}.",
                    rejection.body_text()
                ),
            ))),
        }
    }
}
