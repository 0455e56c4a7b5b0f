//! Errors as pages. Web handlers return the same `ApiError` as the API (so `error.rs` stays the one
//! place that maps errors to statuses); this middleware turns the problem+json of any response to a
//! browser (including the router's own refusals: unknown route, query too long, body too large)
//! into an HTML page with the same status, in the visitor's language.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::layout::error_page;
use super::session::Visitor;
use crate::app::App;

/// Problem documents are small; anything larger is passed through untouched.
const MAX_PROBLEM_BYTES: usize = 256 * 1024;

/// Whether an error should be a page rather than problem+json: the client asked for HTML (every
/// browser does for navigations and form posts), and it is not an API or operations path. API
/// clients, which do not ask for HTML, keep getting problem+json everywhere, page paths included.
pub fn wants_page(path: &str, headers: &HeaderMap) -> bool {
    let api = path.starts_with("/v1/")
        || path == "/v1"
        || matches!(path, "/healthz" | "/readyz" | "/metrics");
    !api && headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Renders problem+json answers to page requests as HTML pages.
pub async fn html_errors(State(app): State<App>, request: Request, next: Next) -> Response {
    if !wants_page(request.uri().path(), request.headers()) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let visitor = Visitor::from_request_parts(&mut parts, &app).await;
    let response = next.run(Request::from_parts(parts, body)).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    let Ok(visitor) = visitor else {
        return response;
    };
    if !is_problem {
        return response;
    }
    let (mut head, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PROBLEM_BYTES).await else {
        return (head.status, "error").into_response();
    };
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let detail = problem["detail"]
        .as_str()
        .unwrap_or("The request was refused.");
    let problems: Vec<(String, String)> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    (
                        error["field"].as_str().unwrap_or("").to_owned(),
                        error["message"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let html = error_page(&visitor, head.status, detail, &problems).into_string();
    head.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    head.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(head, Body::from(html))
}
