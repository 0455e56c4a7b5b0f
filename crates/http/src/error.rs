//! The HTTP crate's one error type and the one place that maps errors to statuses and RFC 9457
//! problem documents. A 5xx shows only a request id; details go to the log.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use silkmatch_core::{CoreError, Problem};
use silkmatch_index::IndexError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON the route takes (syntax, type, unknown field).
    #[error("{}", .0.message)]
    MalformedBody(Problem),
    /// The body is over the size limit.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not `application/json`.
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    /// A query parameter, path segment or header is invalid.
    #[error("{}", .0.message)]
    InvalidParameter(Problem),
    /// The query string is over its limit.
    #[error("the query string is longer than {limit} bytes")]
    QueryTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Missing, malformed, unknown, revoked or wrong credentials.
    #[error("a valid `Authorization: Bearer <token>` header is required")]
    Unauthenticated,
    /// A valid credential without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there (or nothing this caller may know of).
    #[error("{0}")]
    NotFound(String),
    /// No such route.
    #[error("no route for {method} {path}")]
    NoRoute {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// The method is not allowed on this route.
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    /// Too much expensive work in flight.
    #[error("the server is busy; retry after {retry_after_seconds} s")]
    Overloaded {
        /// Seconds to wait.
        retry_after_seconds: u64,
    },
    /// The request took longer than allowed.
    #[error("the request took longer than {seconds} s")]
    Timeout {
        /// The limit.
        seconds: u64,
    },
    /// The engine refused or failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A web form without this visitor's CSRF token (forged, from another site, or from before a
    /// sign-in or restart).
    #[error(
        "this form did not carry a valid security token (it may be old, or sent from another site); nothing was saved: reload the page and try again"
    )]
    Csrf,
    /// A web page needs a signed-in partner and the visitor has no session.
    #[error("this page is for signed-in partners: sign in with your organisation's token")]
    SignInRequired,
    /// The visitor's session expired, was closed, or predates a restart.
    #[error(
        "your session has ended (it expired, or the server restarted); nothing was saved: sign in again"
    )]
    SessionEnded,
    /// The server is stopping and takes no more writes.
    #[error("the server is shutting down; retry shortly")]
    ShuttingDown,
    /// Ranking panicked or the worker went away.
    #[error("background work failed")]
    WorkerFailed,
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match &rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::BodyTooLarge {
                    limit: crate::MAX_BODY_BYTES,
                }
            }
            _ => ApiError::MalformedBody(Problem::new(
                "",
                silkmatch_core::ProblemCode::MalformedJson,
                format!("The body is not valid JSON: {}.", rejection.body_text()),
            )),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::InvalidParameter(Problem::new(
            "",
            silkmatch_core::ProblemCode::InvalidType,
            format!(
                "The query string cannot be read: {}.",
                rejection.body_text()
            ),
        ))
    }
}

/// Status and problem `type` of an error. No `_` arm: a new variant forces a decision here.
fn status_and_type(error: &ApiError) -> (StatusCode, &'static str) {
    match error {
        ApiError::MalformedBody(_) => (StatusCode::BAD_REQUEST, "malformed-body"),
        ApiError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large"),
        ApiError::UnsupportedMediaType => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")
        }
        ApiError::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "invalid-parameter"),
        ApiError::QueryTooLong { .. } => (StatusCode::URI_TOO_LONG, "query-too-long"),
        ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        ApiError::NotFound(_) | ApiError::NoRoute { .. } => (StatusCode::NOT_FOUND, "not-found"),
        ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"),
        ApiError::Overloaded { .. } => (StatusCode::TOO_MANY_REQUESTS, "overloaded"),
        ApiError::Timeout { .. } => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
        ApiError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting-down"),
        ApiError::Csrf => (StatusCode::FORBIDDEN, "csrf"),
        ApiError::SignInRequired => (StatusCode::UNAUTHORIZED, "sign-in-required"),
        ApiError::SessionEnded => (StatusCode::UNAUTHORIZED, "session-ended"),
        ApiError::Index(index) => match index {
            IndexError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found"),
            IndexError::NotOwner(_) => (StatusCode::FORBIDDEN, "forbidden"),
            IndexError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            IndexError::IdempotencyKeyReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused")
            }
            IndexError::VersionMismatch { .. } => {
                (StatusCode::PRECONDITION_FAILED, "version-mismatch")
            }
            IndexError::OutOfWindow { .. } => (StatusCode::BAD_REQUEST, "invalid-parameter"),
            IndexError::Invalid(CoreError::Invalid(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid-listing")
            }
            IndexError::Invalid(CoreError::Config(_))
            | IndexError::DataDir { .. }
            | IndexError::SchemaChanged { .. }
            | IndexError::Store(_)
            | IndexError::Search(_)
            | IndexError::Corrupt { .. }
            | IndexError::Batch(_)
            | IndexError::Io { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            IndexError::Model { .. } => (StatusCode::SERVICE_UNAVAILABLE, "model-unavailable"),
        },
        ApiError::WorkerFailed => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// The problems listed under `errors`, for the variants that have them.
fn field_problems(error: &ApiError) -> Option<&[Problem]> {
    match error {
        ApiError::MalformedBody(problem) | ApiError::InvalidParameter(problem)
            if !problem.field.is_empty() =>
        {
            Some(std::slice::from_ref(problem))
        }
        ApiError::Index(IndexError::Invalid(CoreError::Invalid(problems))) => Some(problems),
        _ => None,
    }
}

/// A problem+json response.
pub fn problem_response(
    status: StatusCode,
    kind: &str,
    detail: String,
    errors: Option<&[Problem]>,
) -> Response {
    let mut body = json!({
        "type": format!("https://silkmatch.dev/problems/{kind}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(errors) = errors {
        body["errors"] = json!(errors);
    }
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Marks a response that carries a server error, so the logging middleware can report it fully.
#[derive(Debug, Clone)]
pub struct ServerErrorDetail(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The rest of an oversized body is never read, so the connection cannot carry another
        // request: say so, or a client reusing it fails its next request.
        let close = matches!(self, ApiError::BodyTooLarge { .. });
        let (status, kind) = status_and_type(&self);
        let detail = if status.is_server_error() {
            "internal error; see the server log for this request id".to_owned()
        } else {
            self.to_string()
        };
        let mut response = problem_response(status, kind, detail, field_problems(&self));
        if let ApiError::Overloaded {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        if status.is_server_error() {
            response
                .extensions_mut()
                .insert(ServerErrorDetail(self.to_string()));
        }
        if close {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
