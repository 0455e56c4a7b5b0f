//! Signing in with an organisation's API token (the API's one credential model) and signing out.
//! A valid token opens a server-side session (see `session.rs`); the token itself is never stored
//! in a cookie and never shown back.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::form::FormBody;
use super::i18n::t;
use super::layout::{csrf_field, page, respond};
use super::see_other;
use super::session::{PRE_COOKIE, SESSION_COOKIE, Visitor, random_token};
use crate::app::App;
use crate::error::ApiError;

/// Longest token text accepted (real ones are about 80 characters).
const MAX_TOKEN: usize = 200;

fn signin_page(visitor: &Visitor, status: StatusCode, problem: Option<&str>) -> Response {
    let lang = visitor.lang;
    let body = html! {
        h1 { (t(lang, "signin.title")) }
        p { (t(lang, "signin.intro")) }
        @if visitor.session_ended { div.alert role="alert" { p { (t(lang, "signin.ended")) } } }
        form method="post" action="/signin" {
            (csrf_field(visitor))
            div class={ "field" @if problem.is_some() { " invalid" } } {
                label for="token" { (t(lang, "signin.token")) }
                span.hint id="token-hint" { (t(lang, "signin.token_hint")) }
                @if let Some(problem) = problem { span.error id="token-msg" { (problem) } }
                input type="password" id="token" name="token" autocomplete="off" maxlength=(MAX_TOKEN) required
                    aria-describedby={ "token-hint" @if problem.is_some() { " token-msg" } }
                    aria-invalid=[problem.is_some().then_some("true")];
            }
            p { button type="submit" { (t(lang, "signin.button")) } }
        }
    };
    respond(status, page(visitor, t(lang, "signin.title"), body))
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /signin`: the form, with a fresh double-submit CSRF cookie when there is none yet.
pub async fn form(mut visitor: Visitor) -> Response {
    if visitor.signed_in.is_none() && visitor.pre_csrf.is_none() {
        let token = random_token();
        visitor.pre_csrf = Some(token.clone());
        let cookie = visitor.cookie(PRE_COOKIE, &token, Duration::from_secs(3600));
        return with_cookie(signin_page(&visitor, StatusCode::OK, None), &cookie);
    }
    signin_page(&visitor, StatusCode::OK, None)
}

/// `POST /signin`: exchanges a valid token for a session cookie.
pub async fn submit(
    State(app): State<App>,
    visitor: Visitor,
    form: FormBody,
) -> Result<Response, ApiError> {
    // An ended session's cookie must not block signing in again: only the form's own token counts.
    let fresh = Visitor {
        session_ended: false,
        ..visitor.clone()
    };
    fresh.check_csrf(form.get("csrf"))?;
    let token = form.get("token").unwrap_or("").trim().to_owned();
    let lang = visitor.lang;
    if token.is_empty() {
        return Ok(signin_page(
            &fresh,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(t(lang, "signin.missing")),
        ));
    }
    if token.len() > MAX_TOKEN {
        return Ok(signin_page(
            &fresh,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(t(lang, "signin.invalid")),
        ));
    }
    let principal = app
        .blocking(move |engine| engine.authenticate(&token))
        .await??;
    let Some(principal) = principal else {
        return Ok(signin_page(
            &fresh,
            StatusCode::UNAUTHORIZED,
            Some(t(lang, "signin.invalid")),
        ));
    };
    let id = app.sessions().open(principal, Instant::now());
    let session_cookie = visitor.cookie(SESSION_COOKIE, &id, app.sessions().ttl());
    let clear_pre = visitor.cookie(PRE_COOKIE, "", Duration::ZERO);
    Ok(with_cookie(
        with_cookie(see_other("/my"), &session_cookie),
        &clear_pre,
    ))
}

/// `POST /signout`: ends the session and clears its cookie.
pub async fn sign_out(
    State(app): State<App>,
    visitor: Visitor,
    form: FormBody,
) -> Result<Response, ApiError> {
    if let Some(id) = &visitor.session_id {
        if visitor.signed_in.is_some() {
            visitor.check_csrf(form.get("csrf"))?;
        }
        app.sessions().close(id);
    }
    let cleared = visitor.cookie(SESSION_COOKIE, "", Duration::ZERO);
    Ok(with_cookie(see_other("/").into_response(), &cleared))
}
