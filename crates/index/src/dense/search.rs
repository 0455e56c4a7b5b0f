//! Search by meaning: the query's vector against every allowed listing's, fused with the lexical
//! ranking (`silkmatch_core::fusion`), so a Chinese query finds English listings and an English one
//! keeps its lexical precision.

use std::collections::HashMap;

use silkmatch_core::fusion::{FusionWeights, fuse};
use silkmatch_core::{LanguageTag, TextLanguage, Timestamp};
use tantivy::DocAddress;
use tantivy::query::{BooleanQuery, Occur, Query, TermSetQuery};
use tantivy::{Searcher, Term};

use super::{Code, quantise};
use crate::engine::Engine;
use crate::error::Result;
use crate::facets::{FacetCount, Facets};
use crate::query::{Filters, filter_clauses};
use crate::schema::unpack;
use crate::search_index::SearchIndex;
use crate::store::Columns;

/// Listings taken from each side before fusing: the fused ranking covers the first this many of
/// each (or the page asked for, if deeper).
pub const FUSION_DEPTH: usize = 100;

/// Query vectors kept, by query text (a popular query is embedded once).
pub(crate) const QUERY_CACHE_ENTRIES: usize = 4_096;

/// How the text of a search is matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextMode {
    /// Lexical and dense fused when listings have vectors and the engine has a model; lexical
    /// alone otherwise. What users get.
    #[default]
    Hybrid,
    /// Words only (BM25).
    Lexical,
    /// Meaning only (for evaluation); lexical when there is no model.
    Dense,
}

/// The query side of a search by meaning.
pub(crate) struct QueryMeaning {
    pub(crate) code: std::sync::Arc<Code>,
    pub(crate) language: TextLanguage,
}

/// One fused result: its score, its version, and its index address when the lexical side found it.
pub(crate) struct FusedHit {
    pub(crate) score: f32,
    pub(crate) seq: u64,
    pub(crate) address: Option<DocAddress>,
}

/// The fused ranking's page and what it adds to the lexical count and facets.
pub(crate) struct FusedPage {
    pub(crate) hits: Vec<FusedHit>,
    /// Results found by meaning alone, within the fusion depth.
    pub(crate) meaning_only: Vec<u64>,
}

impl Engine {
    /// The query's vector when this search should use meaning: text given, a model, and vectors.
    /// A model failure is logged and the search goes on lexically.
    pub(crate) fn query_meaning(&self, text: &str, mode: TextMode) -> Option<QueryMeaning> {
        if mode == TextMode::Lexical || text.trim().is_empty() || !self.has_vectors() {
            return None;
        }
        let embedder = self.embedder()?;
        let code = match self.dense.query_codes.get(text) {
            Some(code) => code,
            None => match embedder.embed_query(text) {
                Ok(vector) => {
                    let code = std::sync::Arc::new(quantise(&vector));
                    self.dense
                        .query_codes
                        .insert(text.to_owned(), std::sync::Arc::clone(&code));
                    code
                }
                Err(reason) => {
                    tracing::warn!(%reason, "cannot embed the query; searching by words only");
                    return None;
                }
            },
        };
        Some(QueryMeaning {
            code,
            language: TextLanguage::of(text),
        })
    }

    /// Fuses the lexical ranking (`lexical`, best first, at least `offset + limit` deep when there
    /// are that many) with the nearest listings in meaning under the same filters, and returns the
    /// page `offset..offset + limit`.
    #[allow(clippy::too_many_arguments)] // The search's own inputs, passed through.
    pub(crate) fn fuse_page(
        &self,
        searcher: &Searcher,
        lexical: &[(f32, DocAddress)],
        filters: &Filters,
        now: Timestamp,
        meaning: &QueryMeaning,
        mode: TextMode,
        offset: usize,
        limit: usize,
    ) -> Result<FusedPage> {
        let depth = FUSION_DEPTH.max(offset + limit);
        let addresses: Vec<DocAddress> = lexical.iter().map(|(_, address)| *address).collect();
        let seqs = SearchIndex::listing_seqs(searcher, &addresses)?;
        let languages = SearchIndex::fast_values(searcher, &addresses, "language")?;
        let languages: Vec<Option<LanguageTag>> = languages
            .into_iter()
            .map(|packed| packed.and_then(|packed| LanguageTag::new(&unpack(packed))))
            .collect();
        let nearest = self.nearest_allowed(searcher, filters, now, &meaning.code, depth)?;
        let weights = FusionWeights::default();
        // Only what is closer than the floor says anything; the rest would be noise in the count.
        let floor = weights.cosine_floor as f32;
        let mut dense: Vec<(u64, f64, Option<&LanguageTag>)> = nearest
            .iter()
            .filter(|(_, similarity)| *similarity > floor)
            .map(|(seq, similarity)| (*seq, f64::from(*similarity), None))
            .collect();
        let lexical_hits: Vec<(u64, f64, Option<&LanguageTag>)> = if mode == TextMode::Dense {
            Vec::new()
        } else {
            // Lexical hits outside the dense top k still have a similarity (fusion.rs: without it a
            // lexical-only hit scores 0 on the dense side and falls behind weaker dense ones).
            let in_dense: std::collections::HashSet<u64> = dense.iter().map(|hit| hit.0).collect();
            let outside: Vec<u64> = seqs
                .iter()
                .copied()
                .filter(|seq| !in_dense.contains(seq))
                .collect();
            for (seq, similarity) in outside
                .iter()
                .zip(self.similarities(&meaning.code, &outside))
            {
                if let Some(similarity) = similarity {
                    dense.push((*seq, f64::from(similarity), None));
                }
            }
            seqs.iter()
                .zip(lexical)
                .zip(&languages)
                .map(|((seq, (score, _)), language)| (*seq, f64::from(*score), language.as_ref()))
                .collect()
        };
        let fused = fuse(&lexical_hits, &dense, &meaning.language, &weights);
        let by_seq: HashMap<u64, DocAddress> = seqs.iter().copied().zip(addresses).collect();
        let meaning_only: Vec<u64> = fused
            .iter()
            .filter(|(seq, _)| !by_seq.contains_key(seq))
            .map(|(seq, _)| *seq)
            .collect();
        let hits = fused
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(seq, score)| FusedHit {
                score: score as f32,
                seq,
                address: by_seq.get(&seq).copied(),
            })
            .collect();
        Ok(FusedPage { hits, meaning_only })
    }

    /// Facet counts of the listings found by meaning alone (they are not among the lexical
    /// matches the main pass counted).
    pub(crate) fn meaning_only_facets(
        &self,
        searcher: &Searcher,
        filters: &Filters,
        now: Timestamp,
        seqs: &[u64],
        collector: impl tantivy::collector::Collector<Fruit = Facets>,
    ) -> Result<Facets> {
        let ids: Vec<Term> = self
            .rows_by_seq(seqs, Columns::Listing)?
            .into_iter()
            .flatten()
            .map(|row| Term::from_field_text(self.index.fields().id, &row.listing.id))
            .collect();
        if ids.is_empty() {
            return Ok(Facets::new());
        }
        let mut clauses = filter_clauses(self.index.fields(), filters, now);
        clauses.push((
            Occur::Must,
            Box::new(TermSetQuery::new(ids)) as Box<dyn Query>,
        ));
        Ok(searcher.search(&BooleanQuery::new(clauses), &collector)?)
    }
}

/// Adds facet counts (`extra`) to `facets`, most frequent first as everywhere.
pub(crate) fn add_facets(facets: &mut Facets, extra: Facets) {
    for (name, values) in extra {
        let counts = facets.entry(name).or_default();
        for FacetCount { value, count } in values {
            match counts.iter_mut().find(|existing| existing.value == value) {
                Some(existing) => existing.count += count,
                None => counts.push(FacetCount { value, count }),
            }
        }
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    }
}
