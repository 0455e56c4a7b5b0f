//! The matching model (`../shared/spec/matching.md`): hard constraints, soft signals, a weighted
//! directed score for each side of a pair, the reciprocal score, and an explanation of every match.
//! Pure functions: the index crate supplies analysed text and corpus statistics, and `now`.

mod constraints;
mod evidence;
mod explain;
mod meaning;
mod signals;
mod text;
mod weights;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

pub use constraints::{Violation, as_need_and_offer, check_hard_constraints};
pub use evidence::StructureStats;
pub use explain::{Explanation, SignalContribution, explain};
pub use meaning::{MeaningFusion, MeaningNote, meaning_note, shares_a_language};
pub use text::{
    CANDIDATE_TERMS, CorpusStats, FIELD_BOOSTS, MAX_QUERY_TERMS, QueryTerm, TermSignature,
    TermVector, TextField, bm25, bm25_screened, candidate_terms, matched_terms, select_query_terms,
};
pub use weights::{DEFAULT_WEIGHTS_TOML, WEIGHTS_VERSION, Weights};

use crate::{Listing, Timestamp};

/// One side of a pair, prepared once and reused against every candidate.
#[derive(Debug, Clone)]
pub struct MatchSide {
    /// The listing.
    pub listing: Listing,
    /// Its analysed text.
    pub terms: TermVector,
    /// Its discriminative terms: what it asks of the other side's text.
    pub query: Vec<QueryTerm>,
    /// BM25 of its query against its own text: the per-query normaliser of the text signal.
    pub self_score: f32,
    /// Its keywords: normalised form (case, accents, stemming, by the caller's analyzers) → as written.
    pub keyword_keys: BTreeMap<String, String>,
    /// Which terms `terms` may hold, to skip looking up the others.
    signature: TermSignature,
    /// `TermSignature::bit` of each term of `query` (aligned).
    query_bits: Vec<u16>,
}

impl MatchSide {
    /// Prepares a side: selects its query terms and computes its self score. `own_docs` is 1 when the
    /// listing is itself in the index (its own document frequency does not count), else 0.
    pub fn new(
        listing: Listing,
        terms: TermVector,
        keyword_keys: BTreeMap<String, String>,
        stats: &CorpusStats,
        own_docs: u64,
    ) -> MatchSide {
        let query = select_query_terms(&terms, stats, own_docs, MAX_QUERY_TERMS);
        let self_score = bm25(&query, &terms, &stats.average_lengths);
        MatchSide {
            signature: TermSignature::of(&terms),
            query_bits: query
                .iter()
                .map(|term| TermSignature::bit(&term.term))
                .collect(),
            listing,
            terms,
            query,
            self_score,
            keyword_keys,
        }
    }
}

/// Signal values of one directed score, in `Weights::named` order; `None` for a signal one side
/// gives nothing to judge by (no keywords, no sector), which counts neither way.
pub type SignalValues = [Option<f32>; 7];

/// The score of `to` as a partner for `from` (s(from→to) in the spec).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectedScore {
    /// Weighted mean of the signals, in [0, 1].
    pub score: f32,
    /// The signal values.
    pub signals: SignalValues,
    /// `from`'s query terms found in `to`'s text.
    pub matched_terms: Vec<String>,
    /// The text signal from shared terms alone, before meaning was folded in.
    pub lexical: f32,
}

/// Computes s(from→to), or the hard constraint the pair breaks. `similarity` is the cosine of the two
/// listings' embeddings when both have one (it is symmetric, so both directions take the same).
/// Query terms carry their own idf; `stats` gives the corpus's average field lengths.
pub fn score_directed(
    from: &MatchSide,
    to: &MatchSide,
    similarity: Option<f32>,
    stats: &CorpusStats,
    weights: &Weights,
    now: Timestamp,
) -> Result<DirectedScore, Violation> {
    let pair = PairSignals::of(from, to, stats, now)?;
    let mut directed = pair.directed(from, to, similarity, stats, weights, now);
    directed.matched_terms = matched_terms(&from.query, &to.terms);
    Ok(directed)
}

/// What a pair's two directed scores share: the hard constraints passed, and the structural signals,
/// which look at the pair as (need, offer) whichever side asks, so both directions have the same.
/// Ranking computes them once per pair.
struct PairSignals {
    technology: Option<f32>,
    keywords: Option<f32>,
    sector: Option<f32>,
    readiness: f32,
    partner: f32,
    /// Whether the two can be read in one language (how meaning and shared terms are fused).
    same_language: bool,
}

impl PairSignals {
    /// The shared signals of a pair, or the hard constraint it breaks.
    fn of(
        a: &MatchSide,
        b: &MatchSide,
        stats: &CorpusStats,
        now: Timestamp,
    ) -> Result<PairSignals, Violation> {
        check_hard_constraints(&a.listing, &b.listing, now)?;
        let (need, offer) = as_need_and_offer(&a.listing, &b.listing).ok_or(Violation::SameKind)?;
        let structure = &stats.structure;
        Ok(PairSignals {
            technology: signals::technology(need, offer, structure),
            keywords: signals::keywords(&a.keyword_keys, &b.keyword_keys, structure),
            sector: signals::sector(need, offer, structure),
            readiness: signals::readiness(need, offer),
            partner: signals::partner(need, offer),
            same_language: shares_a_language(&a.listing, &b.listing),
        })
    }

    /// s(from→to) for a pair with these signals, its matched terms left empty (ranking finds them
    /// for the pairs it keeps).
    fn directed(
        &self,
        from: &MatchSide,
        to: &MatchSide,
        similarity: Option<f32>,
        stats: &CorpusStats,
        weights: &Weights,
        now: Timestamp,
    ) -> DirectedScore {
        let raw_text = bm25_screened(
            &from.query,
            &from.query_bits,
            &to.terms,
            &to.signature,
            &stats.average_lengths,
        );
        let lexical = if from.self_score > 0.0 {
            (raw_text / from.self_score).min(1.0)
        } else {
            0.0
        };
        // Two listings with no language in common and no embeddings to compare: their text can
        // say nothing about each other, so the text signal is not known rather than zero.
        let text = (self.same_language || similarity.is_some()).then(|| {
            weights
                .meaning
                .text_signal(lexical, similarity, self.same_language)
        });
        let signals: SignalValues = [
            text,
            self.technology,
            self.keywords,
            self.sector,
            Some(self.readiness),
            Some(self.partner),
            Some(signals::freshness(&to.listing, now)),
        ];
        let weighted: f32 = weights
            .named()
            .iter()
            .zip(signals)
            .filter_map(|((_, weight), value)| value.map(|value| weight * value))
            .sum();
        let known = weights.known_total(&signals);
        DirectedScore {
            score: if known > 0.0 { weighted / known } else { 0.0 },
            signals,
            matched_terms: Vec::new(),
            lexical,
        }
    }
}

/// Returns the reciprocal score of a need–offer pair.
/// Harmonic mean, not arithmetic: a pair only one side wants must not rank high (matching spec, "Reciprocity").
pub fn reciprocal(forward: f32, backward: f32) -> f32 {
    if forward + backward <= 0.0 {
        0.0
    } else {
        2.0 * forward * backward / (forward + backward)
    }
}

/// Which score orders the matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ranker {
    /// The lexical text signal of s(query→candidate) alone (BM25 of shared terms, no meaning): the baseline.
    TextOnly,
    /// s(query→candidate): how well the candidate serves the query listing.
    Forward,
    /// s(candidate→query): how much the candidate would want the query listing.
    Backward,
    /// Harmonic mean of both directions (the default for "matches for X").
    Reciprocal,
}

/// A ranked candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    /// Position of the candidate in the slice given to `rank`.
    pub candidate_idx: usize,
    /// The score the ranking used.
    pub score: f32,
    /// s(query→candidate).
    pub forward: DirectedScore,
    /// s(candidate→query).
    pub backward: DirectedScore,
    /// Harmonic mean of the two.
    pub reciprocal: f32,
    /// Cosine similarity of the two listings' embeddings, when both have one.
    pub similarity: Option<f32>,
}

/// Scores every candidate against the query in parallel, drops those breaking a hard constraint, and
/// returns the best `k` by `ranker`, ties broken by listing id so the order is deterministic.
/// Candidates may be owned sides or shared ones (`Arc<MatchSide>`, as the index's cache hands out).
/// `similarities` holds each candidate's embedding similarity with the query, aligned with
/// `candidates`, or is empty when there are no embeddings (lexical text signal only).
/// `meaning_only` marks (aligned, or empty for none) the candidates that only their meaning brought
/// in: such a candidate ranks only when its similarity is above the meaning floor, so a partner
/// found by meaning is one meaning says is related (and which listings a change can reach stays
/// bounded for the incremental batch).
#[allow(clippy::too_many_arguments)] // The model's inputs, each needed; a struct would only rename them.
pub fn rank<C: std::borrow::Borrow<MatchSide> + Sync>(
    query: &MatchSide,
    candidates: &[C],
    similarities: &[Option<f32>],
    meaning_only: &[bool],
    stats: &CorpusStats,
    weights: &Weights,
    now: Timestamp,
    ranker: Ranker,
    k: usize,
) -> Vec<Match> {
    let mut matches: Vec<Match> = candidates
        .par_iter()
        .enumerate()
        .filter_map(|(candidate_idx, candidate)| {
            let candidate = candidate.borrow();
            let similarity = similarities.get(candidate_idx).copied().flatten();
            if meaning_only.get(candidate_idx) == Some(&true)
                && !similarity.is_some_and(|similarity| similarity > weights.meaning.cosine_floor)
            {
                return None;
            }
            let pair = PairSignals::of(query, candidate, stats, now).ok()?;
            let forward = pair.directed(query, candidate, similarity, stats, weights, now);
            let backward = pair.directed(candidate, query, similarity, stats, weights, now);
            let reciprocal = reciprocal(forward.score, backward.score);
            let score = match ranker {
                Ranker::TextOnly => forward.lexical,
                Ranker::Forward => forward.score,
                Ranker::Backward => backward.score,
                Ranker::Reciprocal => reciprocal,
            };
            Some(Match {
                candidate_idx,
                score,
                forward,
                backward,
                reciprocal,
                similarity,
            })
        })
        .collect();
    matches.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| {
            let id = |idx: usize| &candidates[idx].borrow().listing.id;
            id(a.candidate_idx).cmp(id(b.candidate_idx))
        })
    });
    matches.truncate(k);
    // The evidence, for the matches kept only.
    for found in &mut matches {
        let candidate = candidates[found.candidate_idx].borrow();
        found.forward.matched_terms = matched_terms(&query.query, &candidate.terms);
        found.backward.matched_terms = matched_terms(&candidate.query, &query.terms);
    }
    matches
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
