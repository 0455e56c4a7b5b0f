//! "My listings": the signed-in organisation's listings of every status, with publish, withdraw
//! and extend (the same `lifecycle` function as the API's routes).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};
use silkmatch_core::{Listing, Status};

use super::form::FormBody;
use super::i18n::{Lang, t};
use super::layout::{csrf_field, day, kind_badge, page, status_badge, text_attrs};
use super::see_other;
use super::session::Visitor;
use crate::app::{App, now};
use crate::error::ApiError;
use crate::routes::listings::{Lifecycle, lifecycle};
use crate::routes::search::pairs;

/// Listings shown (an organisation with more uses the API or the CLI).
const SHOWN: usize = 500;

/// `GET /my`.
pub async fn page_handler(
    State(app): State<App>,
    visitor: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Markup, ApiError> {
    let signed_in = visitor.require()?;
    let owner = signed_in.principal.organisation_id.clone();
    let listings = app
        .blocking(move |engine| engine.listings_of(&owner, SHOWN))
        .await??;
    let notice = pairs(raw.as_deref())?
        .into_iter()
        .rev()
        .find_map(|(name, value)| match name.as_str() {
            "saved" => Some("my.saved"),
            "done" => match value.as_str() {
                "publish" => Some("my.published"),
                "withdraw" => Some("my.withdrawn"),
                "extend" => Some("my.extended"),
                _ => None,
            },
            _ => None,
        });
    let lang = visitor.lang;
    Ok(page(
        &visitor,
        t(lang, "my.title"),
        html! {
            h1 { (t(lang, "my.title")) }
            @if let Some(key) = notice { div.notice role="status" { p { (t(lang, key)) } } }
            p.actions {
                a.button href="/submit/offer" { (t(lang, "nav.submit_offer")) }
                a.button.secondary href="/submit/need" { (t(lang, "nav.submit_need")) }
            }
            @if listings.is_empty() {
                p { (t(lang, "my.none")) }
            } @else {
                table.mine {
                    caption.visually-hidden { (t(lang, "my.title")) }
                    thead { tr {
                        th scope="col" { (t(lang, "field.title")) }
                        th scope="col" { (t(lang, "my.status")) }
                        th scope="col" { (t(lang, "listing.expires")) }
                        th scope="col" { (t(lang, "my.actions")) }
                    } }
                    tbody { @for listing in &listings { (row(&visitor, lang, listing)) } }
                }
            }
        },
    ))
}

fn action_button(visitor: &Visitor, listing: &Listing, action: &str, label: &str) -> Markup {
    html! {
        form method="post" action={ "/listings/" (listing.id) "/" (action) } {
            (csrf_field(visitor))
            input type="hidden" name="version" value=(listing.version);
            button.secondary type="submit" { (label) }
        }
    }
}

fn row(visitor: &Visitor, lang: Lang, listing: &Listing) -> Markup {
    let (language, dir) = text_attrs(listing);
    let live = listing.is_live(now());
    html! {
        tr {
            td {
                (kind_badge(lang, listing.body.kind)) " "
                a href={ "/listings/" (listing.id) } lang=(language) dir=(dir) { (listing.body.title) }
            }
            td { (status_badge(lang, listing, now())) }
            td { @if let Some(expires) = listing.expires_at.filter(|_| listing.status == Status::Published) { (day(expires)) } }
            td.actions {
                a href={ "/listings/" (listing.id) "/edit" } { (t(lang, "my.edit")) }
                a href={ "/listings/" (listing.id) "/matches" } { (t(lang, "my.matches")) }
                @if !live { (action_button(visitor, listing, "publish", t(lang, "my.publish"))) }
                @if live { (action_button(visitor, listing, "extend", t(lang, "my.extend"))) }
                @if listing.status != Status::Withdrawn { (action_button(visitor, listing, "withdraw", t(lang, "my.withdraw"))) }
            }
        }
    }
}

/// `POST /listings/{id}/{publish|withdraw|extend}`.
pub async fn lifecycle_action(
    State(app): State<App>,
    visitor: Visitor,
    axum::extract::Path((id, action)): axum::extract::Path<(String, String)>,
    form: FormBody,
) -> Result<Response, ApiError> {
    let action_kind = Lifecycle::parse(&action).ok_or_else(|| {
        ApiError::NotFound(format!(
            "there is no action `{action}`; use publish, withdraw or extend"
        ))
    })?;
    let signed_in = visitor.require()?;
    visitor.check_csrf(form.get("csrf"))?;
    let version = form
        .get("version")
        .and_then(|text| text.trim().parse::<u64>().ok());
    lifecycle(&app, &signed_in.principal, None, id, version, action_kind).await?;
    Ok(see_other(&format!("/my?done={action}")))
}
