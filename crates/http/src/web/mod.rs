//! The web interface: server-rendered pages for partners who are people, not API clients. Served by
//! the same process and router as the API, and calling the same functions below the handlers (the
//! engine, the group-commit writer, `core::validate`, `core::access`).
//!
//! No script at all: every page works with plain links and forms, so keyboard use, phone widths and
//! old browsers need nothing special. Sessions and CSRF in `session.rs`, languages in `i18n.rs`,
//! errors as pages in `errors.rs`. See `docs/web.md`.

mod errors;
mod form;
mod form_view;
mod i18n;
mod layout;
mod listing;
mod my;
mod search;
mod session;
mod signin;
mod submit;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::time::Duration;

use crate::app::App;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::routes::search::pairs;

pub use errors::{html_errors, wants_page};
pub use i18n::Lang;
pub use session::Sessions;

/// Where the stylesheet is served; cached for a day, so bump the number whenever `style.css` changes.
pub const STYLE_PATH: &str = "/static/style-2.css";
const STYLE: &str = include_str!("static/style.css");

/// Every page route, to be merged into the API's router.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(search::home))
        .route("/search", get(search::results))
        .route(STYLE_PATH, get(style))
        .route("/lang/{code}", get(switch_language))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signout", post(signin::sign_out))
        .route("/my", get(my::page_handler))
        .route("/submit/{kind}", get(submit::new_form).post(submit::create))
        .route("/listings/{id}", get(listing::show))
        .route(
            "/listings/{id}/edit",
            get(submit::edit_form).post(submit::update),
        )
        .route("/listings/{id}/matches", get(listing::matches))
        .route(
            "/listings/{id}/recommendations",
            get(listing::recommendations),
        )
        .route("/listings/{id}/{action}", post(my::lifecycle_action))
}

async fn style() -> Response {
    let mut response = STYLE.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

/// `GET /lang/{code}?back=/path`: remembers the interface language in a cookie and goes back.
/// Only same-site paths are followed (no open redirect).
async fn switch_language(
    State(_app): State<App>,
    visitor: session::Visitor,
    PathId(code): PathId,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let lang = Lang::parse(&code).ok_or_else(|| {
        ApiError::NotFound(format!(
            "the interface has no language `{code}`; it has en, zh, ru and ar"
        ))
    })?;
    let back = pairs(raw.as_deref())?
        .into_iter()
        .find_map(|(name, value)| (name == "back").then_some(value))
        .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let cookie = visitor.cookie(
        session::LANG_COOKIE,
        lang.code(),
        Duration::from_secs(365 * 86_400),
    );
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A 303 to `location` (after a successful POST).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
