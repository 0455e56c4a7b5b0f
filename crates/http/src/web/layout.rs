//! The frame every page shares (landmarks, skip link, navigation, language switcher, sign-out) and
//! small pieces of markup used by several pages. maud escapes every interpolated value; the only
//! `PreEscaped` text is the index's snippets, which `silkmatch_index::snippet` escapes before adding
//! `<mark>`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use silkmatch_core::{Listing, Status, Timestamp};

use super::i18n::{Lang, t, text_dir};
use super::session::Visitor;

/// A whole HTML page with the shared frame.
pub fn page(visitor: &Visitor, title: &str, body: Markup) -> Markup {
    let lang = visitor.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.code()) dir=(lang.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · silkmatch" }
                link rel="stylesheet" href=(super::STYLE_PATH);
            }
            body {
                a.skip href="#main" { (t(lang, "nav.skip")) }
                header.site {
                    nav aria-label=(t(lang, "nav.label")) {
                        a.brand href="/" { "silkmatch" }
                        ul {
                            li { a href="/search" { (t(lang, "nav.search")) } }
                            li { a href="/submit/offer" { (t(lang, "nav.submit_offer")) } }
                            li { a href="/submit/need" { (t(lang, "nav.submit_need")) } }
                            @if visitor.signed_in.is_some() {
                                li { a href="/my" { (t(lang, "nav.my")) } }
                                li {
                                    form method="post" action="/signout" {
                                        (csrf_field(visitor))
                                        button.link type="submit" { (t(lang, "nav.signout")) }
                                    }
                                }
                            } @else {
                                li { a href="/signin" { (t(lang, "nav.signin")) } }
                            }
                        }
                        (switcher(visitor))
                    }
                }
                main id="main" tabindex="-1" { (body) }
                footer.site { p { (t(lang, "footer.text")) } }
            }
        }
    }
}

/// Links to every interface language; each sets the cookie and comes back here.
fn switcher(visitor: &Visitor) -> Markup {
    let back = super::encode(&visitor.here);
    html! {
        ul.langs aria-label=(t(visitor.lang, "nav.language")) {
            @for lang in Lang::ALL {
                li {
                    a href={ "/lang/" (lang.code()) "?back=" (back) } lang=(lang.code()) hreflang=(lang.code())
                        aria-current=[(lang == visitor.lang).then_some("true")] { (lang.native_name()) }
                }
            }
        }
    }
}

/// The hidden CSRF field every POST form carries.
pub fn csrf_field(visitor: &Visitor) -> Markup {
    html! { input type="hidden" name="csrf" value=(visitor.csrf()); }
}

/// A page as a response with a status.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// The page for a refused request: what went wrong, the problems by field, and what to do next.
pub fn error_page(
    visitor: &Visitor,
    status: StatusCode,
    detail: &str,
    problems: &[(String, String)],
) -> Markup {
    let lang = visitor.lang;
    let title = match status.as_u16() {
        401 => t(lang, "error.signin_title"),
        403 => t(lang, "error.forbidden_title"),
        404 => t(lang, "error.not_found_title"),
        413 | 414 | 400 | 422 => t(lang, "error.bad_request_title"),
        429 | 503 => t(lang, "error.busy_title"),
        _ => t(lang, "error.title"),
    };
    page(
        visitor,
        title,
        html! {
            h1 { (title) }
            div.alert role="alert" {
                p { (detail) }
                @if problems.iter().any(|(_, message)| message != detail) {
                    ul { @for (field, message) in problems.iter().filter(|(_, message)| message != detail) { li { @if !field.is_empty() { code { (field) } ": " } (message) } } }
                }
            }
            p { (t(lang, "error.nothing_saved")) }
            p.actions {
                @if status == StatusCode::UNAUTHORIZED { a.button href="/signin" { (t(lang, "nav.signin")) } }
                a href="/" { (t(lang, "error.home")) }
            }
        },
    )
}

/// Attributes of a listing's own text: its language, and right to left for Arabic and the like.
pub fn text_attrs(listing: &Listing) -> (&str, &'static str) {
    let language = listing.body.language.as_str();
    (language, text_dir(language))
}

/// The listing's status as a badge; a lapsed publication reads "expired".
pub fn status_badge(lang: Lang, listing: &Listing, now: Timestamp) -> Markup {
    let status = if listing.status == Status::Published && !listing.is_live(now) {
        Status::Expired
    } else {
        listing.status
    };
    let key = format!("status.{}", status.as_str());
    html! { span class={ "badge " (status.as_str()) } { (t(lang, &key)) } }
}

/// The kind as a badge.
pub fn kind_badge(lang: Lang, kind: silkmatch_core::Kind) -> Markup {
    let key = format!("kind.{}", kind.as_str());
    html! { span.badge { (t(lang, &key)) } }
}

/// A snippet from the index: escaped text with `<mark>` around matched words.
pub fn snippet(listing: &Listing, html_text: &str) -> Markup {
    let (language, dir) = text_attrs(listing);
    html! { p.snippet lang=(language) dir=(dir) { (PreEscaped(html_text)) } }
}

/// A date for people (UTC day).
pub fn day(timestamp: Timestamp) -> String {
    timestamp.to_rfc3339().chars().take(10).collect()
}
