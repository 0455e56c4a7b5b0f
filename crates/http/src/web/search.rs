//! The home page and the results page: the API's search (same parser, same engine call) with facet
//! filters as links, highlighted snippets and numbered pages. A crafted query string gets the
//! parser's own message naming the parameter, as a 400 page.

use axum::extract::{RawQuery, State};
use maud::{Markup, html};
use silkmatch_core::{Problem, ProblemCode, TechnologyField};
use silkmatch_index::{FacetCount, Hit, MAX_WINDOW, SearchResults};

use super::i18n::{Lang, t};
use super::layout::{kind_badge, page, snippet, text_attrs};
use super::session::Visitor;
use crate::app::{App, now};
use crate::error::ApiError;
use crate::routes::search::{pairs, parse_search, run};

/// Results per page.
const PAGE_SIZE: usize = 20;
/// Facet values shown per facet.
const FACET_VALUES: usize = 12;
/// The parameters this page takes (the API's filters, `page` instead of cursors, and `lang`).
const PARAMETERS: [&str; 12] = [
    "q",
    "kind",
    "country",
    "technology_field",
    "sector",
    "cooperation",
    "trl_min",
    "trl_max",
    "language",
    "sort",
    "page",
    "lang",
];

/// `GET /`: the search box and a few ways in.
pub async fn home(visitor: Visitor) -> Markup {
    let lang = visitor.lang;
    page(
        &visitor,
        t(lang, "home.title"),
        html! {
            h1 { (t(lang, "home.title")) }
            p { (t(lang, "home.intro")) }
            (search_form(lang, &[]))
            h2 { (t(lang, "home.browse")) }
            ul {
                li { a href="/search?kind=offer" { (t(lang, "home.all_offers")) } }
                li { a href="/search?kind=need" { (t(lang, "home.all_needs")) } }
            }
        },
    )
}

/// `GET /search?...`.
pub async fn results(
    State(app): State<App>,
    visitor: Visitor,
    RawQuery(raw): RawQuery,
) -> Result<Markup, ApiError> {
    // Empty values are fields left blank in the search form ("any kind"), not filters.
    let given: Vec<(String, String)> = pairs(raw.as_deref())?
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .collect();
    for (name, _) in &given {
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(bad(
                name,
                format!(
                    "`{name}` is not a parameter of this page; it takes: {}.",
                    PARAMETERS.join(", ")
                ),
            ));
        }
    }
    let page_number = match given.iter().rev().find(|(name, _)| name == "page") {
        None => 1,
        Some((_, value)) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|page| (1..=MAX_WINDOW / PAGE_SIZE).contains(page))
            .ok_or_else(|| {
                bad(
                    "page",
                    format!(
                        "`page` must be a whole number from 1 to {}; got `{value}`.",
                        MAX_WINDOW / PAGE_SIZE
                    ),
                )
            })?,
    };
    // The filters kept in links: everything but the page and the language.
    let kept: Vec<(String, String)> = given
        .into_iter()
        .filter(|(name, _)| name != "page" && name != "lang")
        .collect();
    let mut request = parse_search(&kept)?.request;
    request.limit = PAGE_SIZE;
    request.offset = (page_number - 1) * PAGE_SIZE;
    let results = run(&app, request, now()).await?;
    Ok(render(&visitor, &kept, page_number, &results))
}

fn bad(field: &str, message: String) -> ApiError {
    ApiError::InvalidParameter(Problem::new(field, ProblemCode::InvalidFormat, message))
}

fn value<'a>(kept: &'a [(String, String)], name: &str) -> &'a str {
    kept.iter()
        .rev()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The search box: text, kind and order; filters live in the facet links.
fn search_form(lang: Lang, kept: &[(String, String)]) -> Markup {
    let kind = value(kept, "kind");
    let sort = value(kept, "sort");
    html! {
        form.searchbar method="get" action="/search" role="search" {
            div.grow {
                label for="q" { (t(lang, "search.label")) }
                input type="search" id="q" name="q" value=(value(kept, "q")) maxlength="1000" placeholder=(t(lang, "search.placeholder"));
            }
            div {
                label for="kind" { (t(lang, "search.kind")) }
                select id="kind" name="kind" {
                    option value="" selected[kind.is_empty()] { (t(lang, "search.kind_any")) }
                    option value="offer" selected[kind == "offer"] { (t(lang, "kind.offer")) }
                    option value="need" selected[kind == "need"] { (t(lang, "kind.need")) }
                }
            }
            div {
                label for="sort" { (t(lang, "search.sort")) }
                select id="sort" name="sort" {
                    option value="relevance" selected[sort != "newest"] { (t(lang, "search.sort_relevance")) }
                    option value="newest" selected[sort == "newest"] { (t(lang, "search.sort_newest")) }
                }
            }
            // Filters chosen from facets survive a new text search.
            @for (name, value) in kept.iter().filter(|(name, _)| !matches!(name.as_str(), "q" | "kind" | "sort")) {
                input type="hidden" name=(name) value=(value);
            }
            div { button type="submit" { (t(lang, "search.button")) } }
        }
    }
}

/// A `/search` link with these parameters.
fn link(params: &[(String, String)], page_number: Option<usize>) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{}={}", super::encode(name), super::encode(value)))
        .collect();
    if let Some(page_number) = page_number.filter(|page| *page > 1) {
        parts.push(format!("page={page_number}"));
    }
    format!("/search?{}", parts.join("&"))
}

/// The facet parameter a facet value filters with (`trl` sets both bounds).
fn toggled(kept: &[(String, String)], facet: &str, value: &str) -> (Vec<(String, String)>, bool) {
    let params: Vec<(&str, String)> = if facet == "trl" {
        vec![("trl_min", value.to_owned()), ("trl_max", value.to_owned())]
    } else {
        vec![(facet, value.to_owned())]
    };
    let active = params.iter().all(|(name, value)| {
        kept.iter()
            .any(|(key, given)| key == name && given.split(',').any(|one| one.trim() == value))
    });
    let mut next: Vec<(String, String)> = kept.to_vec();
    if active {
        for (name, value) in &params {
            for (key, given) in &mut next {
                if key == name {
                    *given = given
                        .split(',')
                        .map(str::trim)
                        .filter(|one| one != value)
                        .collect::<Vec<_>>()
                        .join(",");
                }
            }
        }
    } else {
        if facet == "trl" {
            next.retain(|(key, _)| key != "trl_min" && key != "trl_max");
        }
        next.extend(
            params
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value)),
        );
    }
    next.retain(|(_, value)| !value.is_empty());
    (next, active)
}

/// A facet value as people read it.
fn facet_label(lang: Lang, facet: &str, value: &str) -> String {
    match facet {
        "technology_field" => value
            .parse()
            .ok()
            .and_then(TechnologyField::new)
            .map_or_else(
                || value.to_owned(),
                |field| format!("{value} · {}", field.name()),
            ),
        "cooperation" => {
            let text = t(lang, &format!("cooperation.{value}"));
            if text.is_empty() {
                value.to_owned()
            } else {
                text.to_owned()
            }
        }
        "trl" => format!("TRL {value}"),
        _ => value.to_owned(),
    }
}

fn facet(lang: Lang, kept: &[(String, String)], name: &str, counts: &[FacetCount]) -> Markup {
    let heading = t(lang, &format!("facet.{name}"));
    html! {
        section aria-labelledby={ "facet-" (name) } {
            h2 id={ "facet-" (name) } { (heading) }
            ul {
                @for count in counts.iter().take(FACET_VALUES) {
                    @let (next, active) = toggled(kept, name, &count.value);
                    li {
                        a href=(link(&next, None)) aria-pressed=(active) { bdi { (facet_label(lang, name, &count.value)) } }
                        span.count { (count.count) }
                    }
                }
            }
        }
    }
}

fn hit(lang: Lang, hit: &Hit) -> Markup {
    let listing = &hit.listing;
    let (language, dir) = text_attrs(listing);
    html! {
        li {
            h3 lang=(language) dir=(dir) { a href={ "/listings/" (listing.id) } { (listing.body.title) } }
            p.meta {
                (kind_badge(lang, listing.body.kind))
                span { (listing.body.organisation.country.as_str()) }
                span lang=(language) dir=(dir) { (listing.body.organisation.name) }
                @if let Some(trl) = listing.body.trl.or(listing.body.trl_min) { span { "TRL " (trl.get()) } }
            }
            @if hit.snippets.is_empty() {
                p.snippet lang=(language) dir=(dir) { (listing.body.summary) }
            } @else {
                @for one in &hit.snippets { (snippet(listing, &one.html)) }
            }
        }
    }
}

fn render(
    visitor: &Visitor,
    kept: &[(String, String)],
    page_number: usize,
    results: &SearchResults,
) -> Markup {
    let lang = visitor.lang;
    let reachable = results.total.min(MAX_WINDOW);
    let pages = reachable.div_ceil(PAGE_SIZE).max(1);
    let filters: Vec<&(String, String)> = kept
        .iter()
        .filter(|(name, value)| !matches!(name.as_str(), "q" | "sort") && !value.is_empty())
        .collect();
    let title = if value(kept, "q").is_empty() {
        t(lang, "results.title").to_owned()
    } else {
        format!("{} “{}”", t(lang, "results.title_for"), value(kept, "q"))
    };
    page(
        visitor,
        &title,
        html! {
            h1 { (title) }
            (search_form(lang, kept))
            @if !filters.is_empty() {
                h2.visually-hidden { (t(lang, "results.active_filters")) }
                ul.chips aria-label=(t(lang, "results.active_filters")) {
                    @for (name, value) in &filters {
                        @let next: Vec<(String, String)> = kept.iter().filter(|(key, given)| !(key == name && given == value)).cloned().collect();
                        li { a href=(link(&next, None)) { (t(lang, &format!("facet.{name}"))) ": " (value) " ✕" span.visually-hidden { (t(lang, "results.remove_filter")) } } }
                    }
                }
            }
            div.layout {
                aside.facets aria-label=(t(lang, "results.filters")) {
                    @for name in ["country", "technology_field", "sector", "cooperation", "trl", "language"] {
                        @if let Some(counts) = results.facets.get(name).filter(|counts| !counts.is_empty()) {
                            (facet(lang, kept, name, counts))
                        }
                    }
                }
                section aria-labelledby="results-count" {
                    p id="results-count" role="status" { (results.total) " " (t(lang, "results.found")) }
                    @if results.hits.is_empty() {
                        p { (t(lang, "results.none")) }
                    }
                    ol.hits { @for one in &results.hits { (hit(lang, one)) } }
                    @if pages > 1 {
                        nav.pager aria-label=(t(lang, "results.pages")) {
                            @if page_number > 1 { a rel="prev" href=(link(kept, Some(page_number - 1))) { (t(lang, "results.previous")) } }
                            span aria-current="page" { (t(lang, "results.page")) " " (page_number) " / " (pages) }
                            @if page_number < pages { a rel="next" href=(link(kept, Some(page_number + 1))) { (t(lang, "results.next")) } }
                        }
                    }
                }
            }
        },
    )
}
