//! Matching against the index: candidate generation (the listing's own discriminative terms as a
//! tantivy query, hard constraints as filters applied before top-k), then rescoring of the candidates
//! by the core model, in parallel, and explanations with snippets for the best.

use std::collections::{BTreeMap, HashMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;
use silkmatch_core::matching::{
    CorpusStats, Explanation, MatchSide, QueryTerm, Ranker, TermVector, TextField, Weights,
    explain, rank,
};
use silkmatch_core::{Kind, Listing, Timestamp, Trl};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};

use crate::analyzers::Analysis;
use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::query::{AnalysedText, Filters, filter_clauses};
use crate::schema::{Fields, field_texts};
use crate::search::snippets_for;
use crate::search_index::SearchIndex;
use crate::snippet::Snippet;
use crate::store;

/// Most candidates a match request may rescore.
pub const MAX_CANDIDATES: usize = 1_000;

/// What to match and how.
#[derive(Debug, Clone)]
pub struct MatchRequest {
    /// Matches to return.
    pub k: usize,
    /// Candidates taken from the index for rescoring (recall is bounded by this).
    pub candidates: usize,
    /// The score that orders matches.
    pub ranker: Ranker,
    /// Signal weights.
    pub weights: Weights,
    /// Whether to build explanations and snippets.
    pub explain: bool,
}

impl Default for MatchRequest {
    fn default() -> Self {
        MatchRequest {
            k: 10,
            candidates: 100,
            ranker: Ranker::Reciprocal,
            weights: Weights::defaults(),
            explain: true,
        }
    }
}

/// One match, as shown to users: the candidate's public view and why it is there.
#[derive(Debug, Clone, Serialize)]
pub struct FoundMatch {
    /// The candidate, contact removed.
    pub listing: Listing,
    /// The score the ranking used.
    pub score: f32,
    /// The reasons (when asked for).
    pub explanation: Option<Explanation>,
    /// Highlighted matched terms in the candidate's text (when asked for).
    pub snippets: Vec<Snippet>,
}

/// The answer to a match request.
#[derive(Debug, Clone, Serialize)]
pub struct MatchResults {
    /// The query listing's discriminative terms, as used for candidate generation.
    pub query_terms: Vec<QueryTerm>,
    /// Candidates the index returned before rescoring.
    pub candidates_considered: usize,
    /// The best matches, best first.
    pub matches: Vec<FoundMatch>,
}

/// A listing's analysed text and its normalised keywords, from the same analyzers the index uses.
pub fn analyse_listing(listing: &Listing) -> (TermVector, BTreeMap<String, String>) {
    let mut vector = TermVector::default();
    for (field, analysis, text) in field_texts(&listing.body) {
        let terms = analysis.terms(text);
        vector.lengths[field.idx()] += terms.len() as u32;
        let counts = &mut vector.counts[field.idx()];
        for term in terms {
            *counts.entry(term).or_insert(0) += 1;
        }
    }
    let own = Analysis::for_language(listing.body.language.as_str());
    let keywords = listing
        .body
        .keywords
        .iter()
        .map(|keyword| (own.terms(keyword).join(" "), keyword.clone()))
        .filter(|(key, _)| !key.is_empty())
        .collect();
    (vector, keywords)
}

/// Corpus statistics for a set of terms, read from one searcher.
fn corpus_stats<'a>(
    searcher: &Searcher,
    fields: &Fields,
    terms: impl Iterator<Item = &'a String>,
) -> Result<CorpusStats> {
    let n_docs = searcher.num_docs();
    let mut average_lengths = [0.0f32; 4];
    for (text_field, field) in fields.text_fields() {
        let mut tokens = 0u64;
        for segment in searcher.segment_readers() {
            tokens += segment.inverted_index(field)?.total_num_tokens();
        }
        average_lengths[text_field.idx()] = if n_docs == 0 {
            0.0
        } else {
            tokens as f32 / n_docs as f32
        };
    }
    let unique: HashSet<&String> = terms.collect();
    let doc_freq = unique
        .into_par_iter()
        .map(|term| {
            Ok((
                term.clone(),
                searcher.doc_freq(&Term::from_field_text(fields.body, term))?,
            ))
        })
        .collect::<tantivy::Result<HashMap<String, u64>>>()?;
    Ok(CorpusStats {
        n_docs,
        average_lengths,
        doc_freq,
    })
}

/// The hard constraints of the matching spec, as index filters for candidates of `listing`.
pub fn constraint_filters(listing: &Listing) -> Filters {
    let body = &listing.body;
    let (kind, trl_min, trl_max) = match body.kind {
        // A need's candidates are offers at or above its minimum readiness.
        Kind::Need => (Kind::Offer, Some(body.readiness()), None),
        // An offer's candidates are needs whose minimum it reaches.
        Kind::Offer => (Kind::Need, None, Some(body.readiness())),
    };
    Filters {
        kind: Some(kind),
        cooperation: body.cooperation.iter().copied().collect(),
        trl_min: trl_min.filter(|trl| *trl > Trl::new(1).expect("valid")),
        trl_max,
        countries: body.target_countries.clone(),
        open_to_countries: vec![body.organisation.country.clone()],
        exclude_ids: vec![listing.id.clone()],
        exclude_owners: if listing.owner.is_empty() {
            Vec::new()
        } else {
            vec![listing.owner.clone()]
        },
        ..Filters::default()
    }
}

/// The candidate-generation query, hard constraints as filters: each selected term over every text
/// field (at least two terms matching when there are four or more), or a shared technology field.
fn candidate_query(
    fields: &Fields,
    listing: &Listing,
    query_terms: &[QueryTerm],
    now: Timestamp,
) -> Box<dyn Query> {
    let mut per_term: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for query_term in query_terms {
        let clauses: Vec<(Occur, Box<dyn Query>)> = fields
            .text_fields()
            .into_iter()
            .map(|(text_field, field)| {
                let term_query: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, &query_term.term),
                    IndexRecordOption::WithFreqs,
                ));
                let boost =
                    silkmatch_core::matching::FIELD_BOOSTS[text_field.idx()] * query_term.weight;
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(term_query, boost)) as Box<dyn Query>,
                )
            })
            .collect();
        per_term.push((Occur::Should, Box::new(BooleanQuery::new(clauses))));
    }
    // Listings of the same technology fields are candidates even when they share no word (another
    // language, other terms for the same thing); the text clauses then order them, and the constant
    // structural score (1 per shared field, below one good term match) only lifts the rest.
    let structural: Vec<(Occur, Box<dyn Query>)> = listing
        .body
        .technology_fields
        .iter()
        .map(|field| {
            let term = TermQuery::new(
                Term::from_field_u64(fields.technology_field, u64::from(field.get())),
                IndexRecordOption::Basic,
            );
            (
                Occur::Should,
                Box::new(ConstScoreQuery::new(Box::new(term), 1.0)) as Box<dyn Query>,
            )
        })
        .collect();
    let mut either: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Should, Box::new(BooleanQuery::new(structural)))];
    if !per_term.is_empty() {
        let minimum = if per_term.len() >= 4 { 2 } else { 1 };
        either.push((
            Occur::Should,
            Box::new(BooleanQuery::with_minimum_required_clauses(
                per_term, minimum,
            )),
        ));
    }
    let mut clauses = filter_clauses(fields, &constraint_filters(listing), now);
    clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
    Box::new(BooleanQuery::new(clauses))
}

/// A query listing and its candidates, analysed and ready for `silkmatch_core::matching::rank`.
/// Candidate generation does not depend on the weights, so tuning re-ranks one `Prepared` many times.
pub struct Prepared {
    /// The query side.
    pub query: MatchSide,
    /// Candidates that passed the index's constraint filters, best BM25 first.
    pub candidates: Vec<MatchSide>,
    /// Corpus statistics covering every term of the query and the candidates.
    pub stats: CorpusStats,
}

impl Engine {
    /// Generates up to `n_candidates` candidates for `listing` at `now` and analyses both sides.
    pub fn prepare_match(
        &self,
        listing: &Listing,
        n_candidates: usize,
        now: Timestamp,
    ) -> Result<Prepared> {
        let searcher = self.index.searcher();
        let fields = self.index.fields();
        let (query_vector, query_keywords) = analyse_listing(listing);
        let query_stats = corpus_stats(
            &searcher,
            fields,
            query_vector.counts[TextField::Body.idx()].keys(),
        )?;
        let own_docs = u64::from(listing.is_live(now) && self.get(&listing.id)?.is_some());
        let query_side = MatchSide::new(
            listing.clone(),
            query_vector,
            query_keywords,
            &query_stats,
            own_docs,
        );

        let query = candidate_query(fields, listing, &query_side.query, now);
        let top = searcher.search(&query, &TopDocs::with_limit(n_candidates).order_by_score())?;
        let addresses: Vec<tantivy::DocAddress> = top.iter().map(|(_, address)| *address).collect();
        let ids = SearchIndex::listing_ids(&searcher, &addresses)?;
        let candidates: Vec<Listing> = self
            .store
            .read(|connection| store::listings::get_many(connection, &ids))?
            .into_iter()
            .map(|row| row.listing)
            .collect();
        let analysed: Vec<(Listing, TermVector, BTreeMap<String, String>)> = candidates
            .into_par_iter()
            .map(|candidate| {
                let (vector, keywords) = analyse_listing(&candidate);
                (candidate, vector, keywords)
            })
            .collect();
        let all_terms = analysed
            .iter()
            .flat_map(|(_, vector, _)| vector.counts[TextField::Body.idx()].keys());
        let mut stats = corpus_stats(&searcher, fields, all_terms)?;
        stats.doc_freq.extend(query_stats.doc_freq);
        let candidate_sides = analysed
            .into_par_iter()
            .map(|(candidate, vector, keywords)| {
                MatchSide::new(candidate, vector, keywords, &stats, 1)
            })
            .collect();
        Ok(Prepared {
            query: query_side,
            candidates: candidate_sides,
            stats,
        })
    }

    /// Ranks partners for `listing` (stored or not) at `now`.
    pub fn matches_for(
        &self,
        listing: &Listing,
        request: &MatchRequest,
        now: Timestamp,
    ) -> Result<MatchResults> {
        if request.k == 0 || request.candidates == 0 || request.candidates > MAX_CANDIDATES {
            return Err(IndexError::OutOfWindow {
                limit: request.k,
                offset: request.candidates,
            });
        }
        let Prepared {
            query: query_side,
            candidates: candidate_sides,
            stats,
        } = self.prepare_match(listing, request.candidates.max(request.k), now)?;
        let candidates_considered = candidate_sides.len();
        let ranked = rank(
            &query_side,
            &candidate_sides,
            &stats,
            &request.weights,
            now,
            request.ranker,
            request.k,
        );
        let matches = ranked
            .iter()
            .map(|found| {
                let candidate = &candidate_sides[found.candidate_idx];
                let mut public = candidate.listing.clone();
                public.body.contact = None;
                let (explanation, snippets) = if request.explain {
                    let explanation = explain(&query_side, candidate, found, &request.weights, now);
                    let matched = AnalysedText {
                        terms: found
                            .forward
                            .matched_terms
                            .iter()
                            .map(|term| (term.clone(), 1))
                            .collect(),
                    };
                    (Some(explanation), snippets_for(&public, &matched))
                } else {
                    (None, Vec::new())
                };
                FoundMatch {
                    listing: public,
                    score: found.score,
                    explanation,
                    snippets,
                }
            })
            .collect();
        Ok(MatchResults {
            query_terms: query_side.query,
            candidates_considered,
            matches,
        })
    }
}
