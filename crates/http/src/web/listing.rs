//! A listing's page, its matches page (each match's reasons readable at a glance) and its overnight
//! recommendations. Who sees what is `core::access`: the owner everything, signed-in partners the
//! contact of live listings, anonymous readers no contact, and nobody else's drafts.

use axum::extract::State;
use maud::{Markup, html};
use silkmatch_core::access::{Access, access, visible_to_partner};
use silkmatch_core::{Kind, Listing};
use silkmatch_index::batch::{Candidate, Recommendations};
use silkmatch_index::{FoundMatch, MatchRequest};

use super::i18n::{Lang, t};
use super::layout::{day, kind_badge, page, snippet, status_badge, text_attrs};
use super::session::Visitor;
use crate::app::{App, now};
use crate::error::ApiError;
use crate::extract::PathId;
use crate::routes::listings::load;
use crate::routes::matches::ranked;

/// The listing `id` as `visitor` may see it.
async fn visible(app: &App, visitor: &Visitor, id: String) -> Result<(Listing, Access), ApiError> {
    let viewer = visitor
        .signed_in
        .as_ref()
        .map(|signed_in| signed_in.principal.organisation_id.clone());
    let listing = load(app, None, id.clone(), viewer.as_deref(), false).await?;
    let level = access(&listing, viewer.as_deref(), now());
    let shown = visible_to_partner(listing, level, visitor.signed_in.is_some())
        .ok_or_else(|| ApiError::NotFound(format!("listing `{id}` not found")))?;
    Ok((shown, level))
}

/// `GET /listings/{id}`.
pub async fn show(
    State(app): State<App>,
    visitor: Visitor,
    PathId(id): PathId,
) -> Result<Markup, ApiError> {
    let (listing, level) = visible(&app, &visitor, id).await?;
    let lang = visitor.lang;
    let body = &listing.body;
    let (language, dir) = text_attrs(&listing);
    let texts = [
        ("field.description", body.description.as_deref()),
        ("field.advantages", body.advantages.as_deref()),
        ("field.requirements", body.requirements.as_deref()),
        ("field.partner_sought", body.partner_sought.as_deref()),
    ];
    Ok(page(
        &visitor,
        &body.title,
        html! {
            article {
                h1 lang=(language) dir=(dir) { (body.title) }
                p.meta {
                    (kind_badge(lang, body.kind))
                    @if level == Access::Owner { (status_badge(lang, &listing, now())) }
                    span lang=(language) dir=(dir) { (body.organisation.name) }
                    span { (body.organisation.country.as_str()) }
                }
                p.longtext lang=(language) dir=(dir) { (body.summary) }
                @for (key, text) in texts {
                    @if let Some(text) = text {
                        h2 { (t(lang, key)) }
                        p.longtext lang=(language) dir=(dir) { (text) }
                    }
                }
                @for (tag, translation) in &body.translations {
                    @let tdir = super::i18n::text_dir(tag.as_str());
                    section lang=(tag.as_str()) dir=(tdir) {
                        h2 { (translation.title) }
                        p.longtext { (translation.summary) }
                    }
                }
                h2 { (t(lang, "listing.facts")) }
                (facts(lang, &listing))
                h2 { (t(lang, "listing.contact")) }
                @match &body.contact {
                    Some(contact) => {
                        p {
                            (contact.name) br;
                            a href={ "mailto:" (contact.email) } { (contact.email) }
                            @if let Some(phone) = &contact.phone { br; (phone) }
                        }
                    }
                    None if visitor.signed_in.is_none() => {
                        p { a href="/signin" { (t(lang, "listing.signin_for_contact")) } }
                    }
                    None => { p { (t(lang, "listing.no_contact")) } }
                }
                p.actions {
                    a.button href={ "/listings/" (listing.id) "/matches" } { (t(lang, "listing.see_matches")) }
                    @if body.kind == Kind::Need {
                        a.button.secondary href={ "/listings/" (listing.id) "/recommendations" } { (t(lang, "listing.recommendations")) }
                    }
                    @if level == Access::Owner {
                        a.button.secondary href={ "/listings/" (listing.id) "/edit" } { (t(lang, "my.edit")) }
                    }
                }
            }
        },
    ))
}

fn facts(lang: Lang, listing: &Listing) -> Markup {
    let body = &listing.body;
    html! {
        dl.facts {
            dt { (t(lang, "field.technology_fields")) }
            dd { @for (idx, field) in body.technology_fields.iter().enumerate() { @if idx > 0 { ", " } (field.get()) " · " (field.name()) } }
            @if !body.sectors.is_empty() {
                dt { (t(lang, "field.sectors")) }
                dd { @for (idx, sector) in body.sectors.iter().enumerate() { @if idx > 0 { ", " } (sector.letter()) } }
            }
            @if let Some(trl) = body.trl { dt { (t(lang, "field.trl")) } dd { (trl.get()) } }
            @if let Some(trl) = body.trl_min { dt { (t(lang, "field.trl_min")) } dd { (trl.get()) } }
            dt { (t(lang, "field.cooperation")) }
            dd { @for (idx, way) in body.cooperation.iter().enumerate() { @if idx > 0 { ", " } (t(lang, &format!("cooperation.{}", way.as_str()))) } }
            @if !body.keywords.is_empty() {
                dt { (t(lang, "field.keywords")) }
                dd { (body.keywords.join(", ")) }
            }
            @if !body.target_countries.is_empty() {
                dt { (t(lang, "field.target_countries")) }
                dd { @for (idx, country) in body.target_countries.iter().enumerate() { @if idx > 0 { ", " } (country.as_str()) } }
            }
            dt { (t(lang, "field.language")) }
            dd { (body.language.as_str()) }
            @if let Some(published) = listing.published_at { dt { (t(lang, "listing.published")) } dd { (day(published)) } }
            @if let Some(expires) = listing.expires_at { dt { (t(lang, "listing.expires")) } dd { (day(expires)) } }
        }
    }
}

/// `GET /listings/{id}/matches`: the engine's ranking with reasons.
pub async fn matches(
    State(app): State<App>,
    visitor: Visitor,
    PathId(id): PathId,
) -> Result<Markup, ApiError> {
    let (listing, _) = visible(&app, &visitor, id).await?;
    let lang = visitor.lang;
    let results = ranked(&app, listing.clone(), MatchRequest::default()).await?;
    let (language, dir) = text_attrs(&listing);
    let title = t(
        lang,
        if listing.body.kind == Kind::Need {
            "matches.title_need"
        } else {
            "matches.title_offer"
        },
    );
    Ok(page(
        &visitor,
        title,
        html! {
            h1 { (title) }
            p { a href={ "/listings/" (listing.id) } lang=(language) dir=(dir) { (listing.body.title) } }
            p role="status" { (results.matches.len()) " " (t(lang, "matches.found")) " · " (results.candidates_considered) " " (t(lang, "matches.considered")) }
            @if results.matches.is_empty() { p { (t(lang, "matches.none")) } }
            ol.hits { @for found in &results.matches { (match_card(lang, found)) } }
        },
    ))
}

/// One match: title, score, and the reasons in words (signals, shared fields, shared words).
pub fn match_card(lang: Lang, found: &FoundMatch) -> Markup {
    let listing = &found.listing;
    let (language, dir) = text_attrs(listing);
    let percent = (found.score.clamp(0.0, 1.0) * 100.0).round() as u32;
    html! {
        li {
            h3 lang=(language) dir=(dir) { a href={ "/listings/" (listing.id) } { (listing.body.title) } }
            p.meta {
                (kind_badge(lang, listing.body.kind))
                span { (listing.body.organisation.country.as_str()) }
                span.score { (t(lang, "matches.score")) " " (format!("{:.2}", found.score)) }
                span.track aria-hidden="true" { span.bar style={ "width:" (percent.max(1)) "%" } {} }
            }
            @if let Some(why) = &found.explanation {
                @let signals = strongest(why);
                ul.why aria-label=(t(lang, "matches.why")) {
                    @if !signals.is_empty() {
                        li { strong { (t(lang, "matches.signals")) } " "
                            @for (idx, signal) in signals.iter().enumerate() { @if idx > 0 { ", " } (t(lang, &format!("signal.{}", signal.signal))) " " (format!("{:.2}", signal.contribution)) } }
                    }
                    @if !why.shared_technology_fields.is_empty() {
                        li { strong { (t(lang, "matches.shared_fields")) } " "
                            @for (idx, field) in why.shared_technology_fields.iter().enumerate() { @if idx > 0 { ", " } (field.name()) } }
                    }
                    @if !why.shared_sectors.is_empty() {
                        li { strong { (t(lang, "matches.shared_sectors")) } " "
                            @for (idx, sector) in why.shared_sectors.iter().enumerate() { @if idx > 0 { ", " } (sector.letter()) } }
                    }
                    @let words = shared_words(found, why);
                    @if !words.is_empty() {
                        li { strong { (t(lang, "matches.shared_words")) } " "
                            @for (idx, word) in words.iter().enumerate() { @if idx > 0 { ", " } mark lang=(language) dir=(dir) { (word) } } }
                    }
                    @if !why.cooperation.is_empty() {
                        li { strong { (t(lang, "matches.cooperation")) } " "
                            @for (idx, way) in why.cooperation.iter().enumerate() { @if idx > 0 { ", " } (t(lang, &format!("cooperation.{}", way.as_str()))) } }
                    }
                    @if let Some(meaning) = why.meaning.as_ref().filter(|meaning| meaning.decisive) {
                        li { strong { (t(lang, "matches.meaning")) } " " (meaning.summary) }
                    }
                    @for miss in &why.near_misses { li { strong { (t(lang, "matches.near_miss")) } " " (miss) } }
                }
            }
            @for one in &found.snippets { (snippet(listing, &one.html)) }
        }
    }
}

/// The signals that added to the score, strongest first.
fn strongest(
    why: &silkmatch_core::matching::Explanation,
) -> Vec<&silkmatch_core::matching::SignalContribution> {
    let mut signals: Vec<_> = why
        .signals
        .iter()
        .filter(|signal| signal.contribution > 0.005)
        .collect();
    signals.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    signals
}

/// The words a match shares, as people wrote them: the shared keywords, then the words the
/// snippets highlight (the explanation's own terms are analysed stems such as `irrig`, which are
/// shown only when no snippet highlights anything).
fn shared_words(found: &FoundMatch, why: &silkmatch_core::matching::Explanation) -> Vec<String> {
    let mut words: Vec<String> = why.shared_keywords.clone();
    for one in &found.snippets {
        let mut rest = one.html.as_str();
        while let Some(start) = rest.find("<mark>") {
            let after = &rest[start + "<mark>".len()..];
            let Some(end) = after.find("</mark>") else {
                break;
            };
            let word = &after[..end];
            // Snippet text is escaped HTML; a word with an entity in it is skipped rather than shown escaped twice.
            if !word.contains('&')
                && !words
                    .iter()
                    .any(|known| known.to_lowercase() == word.to_lowercase())
            {
                words.push(word.to_owned());
            }
            rest = &after[end..];
        }
    }
    if words.is_empty() {
        words = why.matched_terms.clone();
    }
    words.truncate(12);
    words
}

/// The latest overnight recommendations for a listing (`silkmatch batch rank`, the same lists as
/// `/v1/{needs,offers}/{id}/recommendations`), or `None` when no run has ranked it yet.
pub async fn overnight_recommendations(
    app: &App,
    listing: &Listing,
) -> Result<Option<Recommendations>, ApiError> {
    let (id, now) = (listing.id.clone(), now());
    Ok(app
        .blocking(move |engine| silkmatch_index::batch::stored(engine, &id, now))
        .await??)
}

/// One overnight candidate: its title, score and the one-line explanation the batch stored.
fn recommendation_card(lang: Lang, candidate: &Candidate) -> Markup {
    let percent = (candidate.score.clamp(0.0, 1.0) * 100.0).round() as u32;
    html! {
        li {
            h3 { a href={ "/listings/" (candidate.id) } { (candidate.title) } }
            p.meta {
                span.score { (t(lang, "matches.score")) " " (format!("{:.2}", candidate.score)) }
                span.track aria-hidden="true" { span.bar style={ "width:" (percent.max(1)) "%" } {} }
            }
            p { (candidate.summary) }
        }
    }
}

/// `GET /listings/{id}/recommendations`.
pub async fn recommendations(
    State(app): State<App>,
    visitor: Visitor,
    PathId(id): PathId,
) -> Result<Markup, ApiError> {
    let (listing, _) = visible(&app, &visitor, id).await?;
    let lang = visitor.lang;
    let found = overnight_recommendations(&app, &listing).await?;
    let (language, dir) = text_attrs(&listing);
    Ok(page(
        &visitor,
        t(lang, "recommendations.title"),
        html! {
            h1 { (t(lang, "recommendations.title")) }
            p { a href={ "/listings/" (listing.id) } lang=(language) dir=(dir) { (listing.body.title) } }
            @match found {
                None => {
                    div.notice role="status" {
                        p { (t(lang, "recommendations.none_yet")) }
                        p { a href={ "/listings/" (listing.id) "/matches" } { (t(lang, "listing.see_matches")) } }
                    }
                }
                Some(stored) => {
                    p.meta { (t(lang, "recommendations.as_of")) " " (stored.ranked_at.to_string()) }
                    ol.hits { @for one in &stored.recommendations { (recommendation_card(lang, one)) } }
                }
            }
        },
    ))
}
