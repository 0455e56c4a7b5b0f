//! Reference rankings a matching model must beat, computed in the same index under the same hard
//! constraints (`silkmatch eval match` reports them beside the model): a plain BM25 of the listing's
//! whole text, and meaning alone.

use silkmatch_core::matching::TextField;
use silkmatch_core::{Listing, Timestamp};

use super::candidates::constraint_filters;
use super::term_scan::{ScanTerms, scan_top};
use crate::engine::Engine;
use crate::error::Result;
use crate::filter_check::FilterCheck;
use crate::store::Columns;

/// A reference ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Every term of the listing's whole text, as many times as it occurs (as a BM25 query of the
    /// whole text counts a repeated word), over the other listings' whole text: no term selection,
    /// no field emphasis, no structure.
    Bm25,
    /// The listings nearest in meaning (cosine of the multilingual embeddings); empty without
    /// listing vectors.
    Dense,
}

impl Engine {
    /// The best `n` partners of `listing` at `now` by `baseline`, as (listing id, score), best first,
    /// among the listings that pass its hard constraints.
    pub fn baseline_ranking(
        &self,
        listing: &Listing,
        baseline: Baseline,
        n: usize,
        now: Timestamp,
    ) -> Result<Vec<(String, f32)>> {
        let searcher = self.index.searcher();
        let filters = constraint_filters(listing);
        let scored: Vec<(u64, f32)> = match baseline {
            Baseline::Bm25 => {
                let fields = self.index.fields();
                let (vector, _) = super::analyse_listing(listing);
                let terms = ScanTerms {
                    text: vector
                        .field_terms(TextField::Body)
                        .map(|(term, count)| (term.clone(), count as f32))
                        .collect(),
                    min_text_matches: 1,
                    fields: Vec::new(),
                };
                let check = FilterCheck::new(fields, &filters, now);
                scan_top(
                    &searcher,
                    fields,
                    &self.doc_freqs,
                    &terms,
                    &check,
                    &self.value_bits,
                    n,
                )?
                .into_iter()
                .map(|scored| (scored.seq, scored.score))
                .collect()
            }
            Baseline::Dense => {
                let code = match self.listing_code_of(&listing.id) {
                    Some(code) => Some(code),
                    None => self.listing_code(listing, None)?,
                };
                match code {
                    Some(code) => self.nearest_allowed(&searcher, &filters, now, &code, n)?,
                    None => Vec::new(),
                }
            }
        };
        let seqs: Vec<u64> = scored.iter().map(|(seq, _)| *seq).collect();
        let rows = self.rows_by_seq(&seqs, Columns::Listing)?;
        Ok(rows
            .into_iter()
            .zip(scored)
            .filter_map(|(row, (_, score))| Some((row?.listing.id, score)))
            .collect())
    }
}
