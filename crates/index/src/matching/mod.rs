//! Matching against the index: candidate generation (the listing's own discriminative terms as a
//! tantivy query, hard constraints as filters applied before top-k), then rescoring of the candidates
//! by the core model, in parallel, and explanations with snippets for the best.

mod baselines;
mod candidates;
mod sides;
pub(crate) mod stored_analysis;
mod term_scan;

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use silkmatch_core::matching::{
    CorpusStats, Explanation, Match, MatchSide, QueryTerm, Ranker, TermVector, TextField, Weights,
    candidate_terms, explain, rank,
};
use silkmatch_core::{Listing, Timestamp};

pub use baselines::Baseline;
pub use candidates::constraint_filters;
pub(crate) use sides::analyse_body;
pub(crate) use sides::{DEFAULT_DOC_FREQ_ENTRIES, DocFreqs, SideCache};
pub use sides::{DEFAULT_SIDE_CACHE_ENTRIES, analyse_listing};

use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::query::AnalysedText;
use crate::search::cached_snippets_for;
use crate::snippet::Snippet;
use crate::store::{self, Columns};
use sides::{corpus_stats, structure_stats};

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
    /// Whether to build explanations.
    pub explain: bool,
    /// Whether to highlight, with the explanations, where the query's terms matched in each
    /// candidate's text (the batch keeps only a summary of the explanation and skips them).
    pub snippets: bool,
}

impl Default for MatchRequest {
    fn default() -> Self {
        MatchRequest {
            k: 10,
            candidates: 100,
            ranker: Ranker::Reciprocal,
            weights: Weights::defaults(),
            explain: true,
            snippets: true,
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

/// A query listing and its candidates, analysed and ready for `silkmatch_core::matching::rank`.
/// Candidate generation does not depend on the weights, so tuning re-ranks one `Prepared` many times.
pub struct Prepared {
    /// The query side.
    pub query: MatchSide,
    /// Candidates that passed the index's constraint filters, best BM25 first (shared with the
    /// engine's cache of prepared candidates).
    pub candidates: Vec<Arc<MatchSide>>,
    /// The change sequence number of the version each candidate was prepared from (aligned with
    /// `candidates`): it keys the cached analyses snippets are cut from.
    pub seqs: Vec<u64>,
    /// Each candidate's similarity in meaning with the query (aligned with `candidates`), or empty
    /// when there are no listing vectors.
    pub similarities: Vec<Option<f32>>,
    /// Which candidates only meaning brought in (aligned with `candidates`); `rank` keeps those
    /// only when their similarity is above the meaning floor of the weights it ranks with.
    pub meaning_only: Vec<bool>,
    /// Corpus statistics: the average field lengths ranking needs, and the document frequencies of
    /// the query listing's terms (every side's query terms carry their own idf, from the
    /// statistics of the searcher that chose them, so nothing else is needed).
    pub stats: CorpusStats,
}

impl Prepared {
    /// The best `k` candidates by `ranker` under `weights` at `now`: `core::matching::rank` of this
    /// query and its candidates (tuning and benches rank one `Prepared` many times).
    pub fn rank(&self, weights: &Weights, now: Timestamp, ranker: Ranker, k: usize) -> Vec<Match> {
        rank(
            &self.query,
            &self.candidates,
            &self.similarities,
            &self.meaning_only,
            &self.stats,
            weights,
            now,
            ranker,
            k,
        )
    }
}

/// Candidates taken by meaning, beside the `n` taken by terms: as many (the union of the lexical
/// top `n` and the nearest `n` in meaning), so a ranking of the candidates can hold everything
/// either ranker alone would have found (docs/matching.md, "Candidates").
fn dense_candidates(n: usize) -> usize {
    n
}

/// A candidate whose side must be prepared: analysed text in hand, terms not yet chosen.
struct Unprepared {
    /// Its place among the hits.
    position: usize,
    /// The change sequence number of the version analysed.
    seq: u64,
    listing: Listing,
    vector: TermVector,
    keywords: BTreeMap<String, String>,
}

/// The analysed text of `listing`: `stored`, its analysis as the store keeps it (read with
/// `Columns::WithAnalysis`), else (a listing not stored, a row from an older store, or of another
/// analysis version) the same analysis done now.
pub fn analysis_of(
    listing: &Listing,
    stored: Option<&[u8]>,
) -> (TermVector, BTreeMap<String, String>) {
    stored
        .and_then(stored_analysis::decode)
        .unwrap_or_else(|| analyse_listing(listing))
}

impl Engine {
    /// Generates up to `n_candidates` candidates for `listing` at `now` and prepares both sides.
    /// Candidates come from the cache of prepared sides when the searcher generation they were
    /// prepared under is the current one, which gives the same sides a fresh preparation would.
    pub fn prepare_match(
        &self,
        listing: &Listing,
        n_candidates: usize,
        now: Timestamp,
    ) -> Result<Prepared> {
        let searcher = self.index.searcher();
        let generation = searcher.generation().generation_id();
        let fields = self.index.fields();
        let stored = self
            .store
            .read(|connection| store::listings::stored_version(connection, &listing.id))?;
        // A stored, live query listing is in the index itself: its own document frequency does not count.
        let own_docs = u64::from(listing.is_live(now) && stored.is_some());
        // The stored version (its change sequence number and analysis), when `listing` is that version.
        let (query_seq, stored_analysis) = match stored {
            Some(stored) if stored.version == listing.version => {
                (Some(stored.seq), stored.analysis)
            }
            _ => (None, None),
        };
        let (query_vector, query_keywords) = analysis_of(listing, stored_analysis.as_deref());
        let mut query_stats = corpus_stats(
            &searcher,
            &self.doc_freqs,
            fields,
            query_vector
                .field_terms(TextField::Body)
                .map(|(term, _)| term),
        )?;
        query_stats.structure =
            structure_stats(&searcher, &self.doc_freqs, fields, query_keywords.keys())?;
        let query_side = MatchSide::new(
            listing.clone(),
            query_vector,
            query_keywords,
            &query_stats,
            own_docs,
        );

        // Candidates are found by more of the listing's text than it is ranked by: its
        // `CANDIDATE_TERMS` most discriminative terms, each as often as its text has it (the lexical
        // top N of a BM25 over the whole text, which a plain BM25's recall needs).
        let scan_terms = candidate_terms(&query_side.terms, &query_stats, own_docs);
        let top = self.candidates(&searcher, listing, &scan_terms, now, n_candidates)?;
        let mut addresses: Vec<Option<tantivy::DocAddress>> =
            top.iter().map(|scored| Some(scored.address)).collect();
        let mut seqs: Vec<u64> = top.iter().map(|scored| scored.seq).collect();

        // Meaning: the listings nearest in meaning under the same hard constraints join the
        // candidates (a partner in another language shares no term), and every candidate's
        // similarity goes to the text signal.
        let code = if self.has_vectors() {
            self.listing_code(listing, query_seq)?
        } else {
            None
        };
        // Whether each candidate came by meaning alone (none did without vectors).
        let mut by_meaning = vec![false; seqs.len()];
        if let Some(code) = &code {
            let lexical_seqs: std::collections::HashSet<u64> = seqs.iter().copied().collect();
            let nearest = self.nearest_allowed(
                &searcher,
                &constraint_filters(listing),
                now,
                code,
                dense_candidates(n_candidates),
            )?;
            for (seq, _) in nearest {
                if !lexical_seqs.contains(&seq) {
                    seqs.push(seq);
                    addresses.push(None);
                    by_meaning.push(true);
                }
            }
        }

        let mut sides: Vec<Option<Arc<MatchSide>>> = vec![None; seqs.len()];
        // Candidates to prepare: cached under older statistics (text already analysed), or absent.
        let mut stale: Vec<(usize, u64, Arc<MatchSide>)> = Vec::new();
        let mut absent: Vec<usize> = Vec::new();
        for (position, seq) in seqs.iter().enumerate() {
            match self.side_cache.get(*seq) {
                Some(cached) if cached.generation == generation => {
                    sides[position] = Some(Arc::clone(&cached.side));
                }
                Some(cached) => stale.push((position, *seq, Arc::clone(&cached.side))),
                None => absent.push(position),
            }
        }
        // Lexical hits are read back through their index address (the store may have moved on since
        // the searcher opened); candidates found by meaning by their version alone.
        let absent_hits: Vec<(u64, Option<tantivy::DocAddress>)> = absent
            .iter()
            .map(|position| (seqs[*position], addresses[*position]))
            .collect();
        let rows = self.rows_of_hits(&searcher, &absent_hits, Columns::WithAnalysis)?;
        let mut to_prepare: Vec<Unprepared> = stale
            .into_iter()
            .map(|(position, seq, side)| {
                let side = Arc::unwrap_or_clone(side);
                Unprepared {
                    position,
                    seq,
                    listing: side.listing,
                    vector: side.terms,
                    keywords: side.keyword_keys,
                }
            })
            .collect();
        // (Only when there is something to decode: a warm request stays on its own thread.)
        if !absent.is_empty() {
            to_prepare.par_extend(absent.into_par_iter().zip(rows).filter_map(
                |(position, row)| {
                    let row = row?;
                    let (vector, keywords) = analysis_of(&row.listing, row.analysis.as_deref());
                    Some(Unprepared {
                        position,
                        seq: row.seq,
                        listing: row.listing,
                        vector,
                        keywords,
                    })
                },
            ));
        }
        if !to_prepare.is_empty() {
            let fresh = corpus_stats(
                &searcher,
                &self.doc_freqs,
                fields,
                to_prepare.iter().flat_map(|unprepared| {
                    unprepared
                        .vector
                        .field_terms(TextField::Body)
                        .map(|(term, _)| term)
                }),
            )?;
            let prepared: Vec<(usize, Arc<MatchSide>)> = to_prepare
                .into_par_iter()
                .map(|unprepared| {
                    let side = Arc::new(MatchSide::new(
                        unprepared.listing,
                        unprepared.vector,
                        unprepared.keywords,
                        &fresh,
                        1,
                    ));
                    self.side_cache
                        .insert(unprepared.seq, generation, Arc::clone(&side));
                    (unprepared.position, side)
                })
                .collect();
            for (position, side) in prepared {
                sides[position] = Some(side);
            }
        }
        let mut candidates = Vec::with_capacity(sides.len());
        let mut candidate_seqs = Vec::with_capacity(sides.len());
        let mut meaning_only = Vec::with_capacity(sides.len());
        for ((side, seq), by_meaning) in sides.into_iter().zip(seqs).zip(by_meaning) {
            if let Some(side) = side {
                candidates.push(side);
                candidate_seqs.push(seq);
                meaning_only.push(by_meaning);
            }
        }
        let similarities = match &code {
            Some(code) => self.similarities(code, &candidate_seqs),
            None => Vec::new(),
        };
        Ok(Prepared {
            query: query_side,
            candidates,
            seqs: candidate_seqs,
            similarities,
            meaning_only,
            stats: query_stats,
        })
    }

    /// The candidate step of `prepare_match` alone (`listing`'s terms and fields scanned under its
    /// hard constraints at `now`), as `(seq, score)`, best first: for benchmarks that time it.
    pub fn candidate_scan(
        &self,
        listing: &Listing,
        query_terms: &[QueryTerm],
        n: usize,
        now: Timestamp,
    ) -> Result<Vec<(u64, f32)>> {
        let searcher = self.index.searcher();
        let top = self.candidates(&searcher, listing, query_terms, now, n)?;
        Ok(top
            .iter()
            .map(|scored| (scored.seq, scored.score))
            .collect())
    }

    /// Forgets every prepared candidate, decoded listing and snippet analysis, and the facet
    /// tables, constraint bit sets and document frequencies, so the next requests read and prepare
    /// theirs from the store and the index (for measuring cold requests).
    pub fn clear_caches(&self) {
        self.side_cache.clear();
        self.clear_listing_cache();
        self.facet_tables.clear();
        self.value_bits.clear();
        self.doc_freqs.clear();
        self.token_cache.clear();
    }

    /// Ranks partners for `listing` (stored or not) at `now`.
    pub fn matches_for(
        &self,
        listing: &Listing,
        request: &MatchRequest,
        now: Timestamp,
    ) -> Result<MatchResults> {
        // The request runs on a rayon worker: called from any other thread (an HTTP handler's
        // blocking task, the CLI), each parallel step below would otherwise hand its work to the
        // pool and sleep until it is done, a round trip of two thread wake-ups per step.
        if rayon::current_thread_index().is_some() {
            self.matches_on_worker(listing, request, now)
        } else {
            rayon::scope(|_| self.matches_on_worker(listing, request, now))
        }
    }

    /// `matches_for`, on a thread of the rayon pool.
    fn matches_on_worker(
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
        let prepared = self.prepare_match(listing, request.candidates.max(request.k), now)?;
        let ranked = prepared.rank(&request.weights, now, request.ranker, request.k);
        let Prepared {
            query: query_side,
            candidates: candidate_sides,
            seqs,
            ..
        } = prepared;
        let candidates_considered = candidate_sides.len();
        // Snippets take some microseconds each; the two cores share them.
        let matches = ranked
            .par_iter()
            .map(|found| {
                let idx = found.candidate_idx;
                self.found_match(
                    &query_side,
                    &candidate_sides[idx],
                    seqs[idx],
                    found,
                    request,
                    now,
                )
            })
            .collect();
        Ok(MatchResults {
            query_terms: query_side.query,
            candidates_considered,
            matches,
        })
    }
}

impl Engine {
    /// A ranked candidate (prepared from its version `seq`) as users see it: contact removed and,
    /// when asked for, the explanation and the candidate's text highlighted where the query's
    /// terms matched (from the cached analyses of that version's texts).
    pub fn found_match(
        &self,
        query_side: &MatchSide,
        candidate: &MatchSide,
        seq: u64,
        found: &Match,
        request: &MatchRequest,
        now: Timestamp,
    ) -> FoundMatch {
        let mut public = candidate.listing.clone();
        public.body.contact = None;
        let explanation = request
            .explain
            .then(|| explain(query_side, candidate, found, &request.weights, now));
        let snippets = if request.explain && request.snippets {
            let matched = AnalysedText {
                terms: found
                    .forward
                    .matched_terms
                    .iter()
                    .map(|term| (term.clone(), 1))
                    .collect(),
            };
            cached_snippets_for(&public, seq, &matched, &self.token_cache)
        } else {
            Vec::new()
        };
        FoundMatch {
            listing: public,
            score: found.score,
            explanation,
            snippets,
        }
    }
}
