//! Public search: free text in any language, filters, facet counts, snippets. Only published,
//! unexpired listings are found, and hits never carry contact details.

use std::sync::Arc;

use serde::Serialize;
use silkmatch_core::{Listing, Timestamp};
use tantivy::DocAddress;
use tantivy::Order;
use tantivy::collector::{Count, TopDocs};

use crate::analyzers::Analysis;
use crate::dense::{FUSION_DEPTH, FusedPage, TextMode, add_facets};
use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::facets::{FacetCollector, Facets};
use crate::query::{AnalysedText, Filters, analyse_query, search_query};
use crate::snippet::{Snippet, TokenCache, Tokens, snippet_of_tokens};
use crate::store::Columns;

/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Deepest result reachable by offset (api.md: a window of at most 10 000).
pub const MAX_WINDOW: usize = 10_000;

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best text match first (newest first when there is no text).
    #[default]
    Relevance,
    /// Most recently published first.
    Newest,
}

/// A search as the CLI and the API ask for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// Free text, any language; may be empty to browse by filters.
    pub text: String,
    /// Structured filters.
    pub filters: Filters,
    /// Order of hits.
    pub sort: Sort,
    /// Page size, 1..=`MAX_LIMIT`.
    pub limit: usize,
    /// Hits to skip; `offset + limit` ≤ `MAX_WINDOW`.
    pub offset: usize,
    /// Whether to count facets (costs a pass over every match).
    pub facets: bool,
    /// Whether to build snippets for hits.
    pub snippets: bool,
    /// Words, meaning, or both (the default: both when there is a model and listing vectors).
    pub mode: TextMode,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            text: String::new(),
            filters: Filters::default(),
            sort: Sort::Relevance,
            limit: 20,
            offset: 0,
            facets: true,
            snippets: true,
            mode: TextMode::default(),
        }
    }
}

/// One hit: the public view of a listing, its score and why it matched.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// BM25 score (0 when browsing without text).
    pub score: f32,
    /// The listing, contact removed.
    pub listing: Listing,
    /// Highlighted excerpts, best field first.
    pub snippets: Vec<Snippet>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// All matches, not just this page.
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// Counts over all matches (empty when not asked for).
    pub facets: Facets,
    /// The analysed query terms, for explanations and debugging.
    pub query_terms: Vec<String>,
}

impl Engine {
    /// Runs a public search at `now`.
    pub fn search(&self, request: &SearchRequest, now: Timestamp) -> Result<SearchResults> {
        if request.limit == 0
            || request.limit > MAX_LIMIT
            || request.offset.saturating_add(request.limit) > MAX_WINDOW
        {
            return Err(IndexError::OutOfWindow {
                limit: request.limit,
                offset: request.offset,
            });
        }
        let analysed = analyse_query(&request.text, &request.filters.languages);
        if !request.text.trim().is_empty() && analysed.is_empty() {
            // Only stop words or punctuation: nothing can match by text, and browsing everything would mislead.
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
                facets: Facets::new(),
                query_terms: Vec::new(),
            });
        }
        let fields = self.index.fields();
        let query = search_query(fields, &analysed, &request.filters, now);
        let searcher = self.index.searcher();
        let by_newest = request.sort == Sort::Newest || analysed.is_empty();
        // By meaning too: the lexical ranking is then taken deep enough to fuse, from the top.
        let meaning = if by_newest {
            None
        } else {
            self.query_meaning(&request.text, request.mode)
        };
        let top = match &meaning {
            None => TopDocs::with_limit(request.limit).and_offset(request.offset),
            Some(_) => TopDocs::with_limit(FUSION_DEPTH.max(request.offset + request.limit)),
        };
        let facet_collector = FacetCollector {
            tables: &self.facet_tables,
        };
        let (scored, mut total, mut facets): (Vec<(f32, DocAddress)>, usize, Facets) = if by_newest
        {
            let collector = top.order_by_fast_field::<i64>("published_at", Order::Desc);
            if request.facets {
                let (docs, total, facets) =
                    searcher.search(&query, &(collector, Count, facet_collector))?;
                (
                    docs.into_iter()
                        .map(|(_, address)| (0.0, address))
                        .collect(),
                    total,
                    facets,
                )
            } else {
                let (docs, total) = searcher.search(&query, &(collector, Count))?;
                (
                    docs.into_iter()
                        .map(|(_, address)| (0.0, address))
                        .collect(),
                    total,
                    Facets::new(),
                )
            }
        } else if request.facets {
            searcher.search(&query, &(top.order_by_score(), Count, facet_collector))?
        } else {
            let (docs, total) = searcher.search(&query, &(top.order_by_score(), Count))?;
            (docs, total, Facets::new())
        };
        let (rows, scores) = match &meaning {
            None => {
                let addresses: Vec<DocAddress> =
                    scored.iter().map(|(_, address)| *address).collect();
                // The index may briefly hold a listing the store has moved on from; the store wins.
                let rows = self.hit_rows(&searcher, &addresses, Columns::Listing)?;
                (rows, scored.iter().map(|(score, _)| *score).collect())
            }
            Some(meaning) => {
                let FusedPage { hits, meaning_only } = self.fuse_page(
                    &searcher,
                    &scored,
                    &request.filters,
                    now,
                    meaning,
                    request.mode,
                    request.offset,
                    request.limit,
                )?;
                total += meaning_only.len();
                if request.facets && !meaning_only.is_empty() {
                    let extra = self.meaning_only_facets(
                        &searcher,
                        &request.filters,
                        now,
                        &meaning_only,
                        FacetCollector {
                            tables: &self.facet_tables,
                        },
                    )?;
                    add_facets(&mut facets, extra);
                }
                let found: Vec<(u64, Option<DocAddress>)> =
                    hits.iter().map(|hit| (hit.seq, hit.address)).collect();
                let rows = self.rows_of_hits(&searcher, &found, Columns::Listing)?;
                (rows, hits.iter().map(|hit| hit.score).collect::<Vec<f32>>())
            }
        };
        let mut hits = Vec::with_capacity(rows.len());
        for (row, score) in rows.into_iter().zip(&scores) {
            let Some(row) = row else { continue };
            let mut listing = row.listing;
            listing.body.contact = None;
            let snippets = if request.snippets {
                cached_snippets_for(&listing, row.seq, &analysed, &self.token_cache)
            } else {
                Vec::new()
            };
            hits.push(Hit {
                score: *score,
                listing,
                snippets,
            });
        }
        Ok(SearchResults {
            total,
            hits,
            facets,
            query_terms: analysed.terms.keys().cloned().collect(),
        })
    }
}

/// Snippets for the first texts of a listing that contain a query term, title first.
pub fn snippets_for(listing: &Listing, analysed: &AnalysedText) -> Vec<Snippet> {
    snippets_with(listing, analysed, |_, text, analysis| {
        Arc::new(Tokens::analyse(text, analysis))
    })
}

/// `snippets_for` a stored version (`seq`), its texts' analyses taken from `cache` when there.
pub(crate) fn cached_snippets_for(
    listing: &Listing,
    seq: u64,
    analysed: &AnalysedText,
    cache: &TokenCache,
) -> Vec<Snippet> {
    snippets_with(listing, analysed, |position, text, analysis| {
        cache.tokens(seq, position, text, analysis)
    })
}

/// Where a text is in a listing: its field name for snippets, and a position that is fixed for
/// the field whichever other texts the listing has (cache keys use it).
#[derive(Clone, Copy)]
enum TextName<'a> {
    Own(&'static str, u32),
    Translation(&'a str, &'static str, u32),
}

impl TextName<'_> {
    fn position(self) -> u32 {
        match self {
            TextName::Own(_, position) | TextName::Translation(_, _, position) => position,
        }
    }

    fn field(self) -> String {
        match self {
            TextName::Own(name, _) => name.to_owned(),
            TextName::Translation(language, part, _) => format!("translations.{language}.{part}"),
        }
    }
}

fn snippets_with(
    listing: &Listing,
    analysed: &AnalysedText,
    tokens: impl Fn(u32, &str, Analysis) -> Arc<Tokens>,
) -> Vec<Snippet> {
    if analysed.is_empty() {
        return Vec::new();
    }
    let body = &listing.body;
    let own = Analysis::for_language(body.language.as_str());
    let mut texts: Vec<(TextName<'_>, &str, Analysis)> = vec![
        (TextName::Own("title", 0), body.title.as_str(), own),
        (TextName::Own("summary", 1), body.summary.as_str(), own),
    ];
    for (name, position, text) in [
        ("description", 2, &body.description),
        ("advantages", 3, &body.advantages),
        ("requirements", 4, &body.requirements),
        ("partner_sought", 5, &body.partner_sought),
    ] {
        if let Some(text) = text {
            texts.push((TextName::Own(name, position), text.as_str(), own));
        }
    }
    for (idx, (language, translation)) in body.translations.iter().enumerate() {
        let analysis = Analysis::for_language(language.as_str());
        let position = 7 + 2 * idx as u32;
        texts.push((
            TextName::Translation(language.as_str(), "title", position),
            translation.title.as_str(),
            analysis,
        ));
        texts.push((
            TextName::Translation(language.as_str(), "summary", position + 1),
            translation.summary.as_str(),
            analysis,
        ));
    }
    // Fields are tried in order of how much they say about the listing, and analysis stops once
    // `MAX_SNIPPETS` are found, so a long description is only read when the short fields do not match.
    let mut snippets: Vec<Snippet> = texts
        .into_iter()
        .filter_map(|(name, text, analysis)| {
            let tokens = tokens(name.position(), text, analysis);
            snippet_of_tokens(|| name.field(), text, &tokens, &analysed.terms)
        })
        .take(MAX_SNIPPETS)
        .collect();
    if snippets.len() < MAX_SNIPPETS && !body.keywords.is_empty() {
        let keywords = body.keywords.join(", ");
        let tokens = tokens(6, &keywords, own);
        snippets.extend(snippet_of_tokens(
            || "keywords".to_owned(),
            &keywords,
            &tokens,
            &analysed.terms,
        ));
    }
    snippets
}

/// Snippets per hit.
pub const MAX_SNIPPETS: usize = 2;
