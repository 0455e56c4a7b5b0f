//! silkmatch's HTTP front end (`../shared/spec/api.md`). Handlers authenticate, parse, call one
//! engine function and render; every rule lives in the core and index crates.
//!
//! **Architecture invariant:** the only crate that knows statuses, headers and problem+json
//! (`error.rs` maps every error in one `match`).

mod app;
mod error;
mod extract;
mod metrics;
pub mod render;
mod routes;
pub mod web;

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

pub use app::{App, Config, now};
pub use error::ApiError;
pub use routes::{Auth, Route, openapi_document, table};

/// Largest request body (api.md, "Limits").
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest query string.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;
/// Longest any request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The whole application: routes, limits, timeouts, request ids, metrics and logs.
pub fn router(app: App) -> Router {
    routes::routes()
        .merge(web::routes())
        .fallback(|method: Method, uri: Uri| async move {
            ApiError::NoRoute {
                method: method.to_string(),
                path: uri.path().to_owned(),
            }
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(limits))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            web::html_errors,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
}

/// Query-string bound and request timeout.
async fn limits(request: Request, next: Next) -> Response {
    if request
        .uri()
        .query()
        .is_some_and(|query| query.len() > MAX_QUERY_BYTES)
    {
        return ApiError::QueryTooLong {
            limit: MAX_QUERY_BYTES,
        }
        .into_response();
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout {
            seconds: REQUEST_TIMEOUT.as_secs(),
        }
        .into_response(),
    }
}

/// Request id, metrics per route template, and one log line per request (the whole error for 5xx).
async fn observe(
    axum::extract::State(app): axum::extract::State<App>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(new_request_id, str::to_owned);
    let mut response = next.run(request).await;
    let status = response.status();
    let elapsed = started.elapsed();
    app.metrics()
        .observe(&format!("{method} {route}"), status.as_u16(), elapsed);
    if let Some(detail) = response.extensions().get::<error::ServerErrorDetail>() {
        tracing::error!(request_id, %method, route, status = status.as_u16(), error = %detail.0, "request failed");
    } else {
        tracing::info!(request_id, %method, route, status = status.as_u16(), micros = elapsed.as_micros() as u64, "request");
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// A random request id, when the client sent none.
fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Serves until `shutdown` resolves, then stops accepting, lets requests in flight finish, and waits
/// for queued writes to be committed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let served = axum::serve(listener, router(app.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    let closing = app.clone();
    tokio::task::spawn_blocking(move || closing.close_writes())
        .await
        .map_err(std::io::Error::other)?;
    served
}
