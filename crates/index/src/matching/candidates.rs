//! Candidate generation: the listing's own discriminative terms and technology fields, scanned in the
//! index (`term_scan`) with the hard constraints of the matching spec applied before the top is cut,
//! so they never cost recall.

use silkmatch_core::matching::QueryTerm;
use silkmatch_core::{Kind, Listing, Timestamp, Trl};
use tantivy::{Searcher, Term};

use super::term_scan::{ScanTerms, Scored, scan_top};
use crate::engine::Engine;
use crate::error::Result;
use crate::filter_check::FilterCheck;
use crate::query::Filters;
use crate::schema::Fields;

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

impl Engine {
    /// The candidates of `listing` at `now` in `searcher`: the best `n` by `scan_terms` among the
    /// listings that pass its hard constraints, best first, equal scores by `seq` ascending.
    pub(crate) fn candidates(
        &self,
        searcher: &Searcher,
        listing: &Listing,
        query_terms: &[QueryTerm],
        now: Timestamp,
        n: usize,
    ) -> Result<Vec<Scored>> {
        let fields = self.index.fields();
        let check = FilterCheck::new(fields, &constraint_filters(listing), now);
        Ok(scan_top(
            searcher,
            fields,
            &self.doc_freqs,
            &scan_terms(fields, listing, query_terms),
            &check,
            &self.value_bits,
            n,
        )?)
    }
}

/// What makes a listing a candidate, before the hard constraints: the selected terms in the whole
/// text (at least two of them when there are four or more), each weighted by its selection weight,
/// or a shared technology field, each worth 1.
fn scan_terms(fields: &Fields, listing: &Listing, query_terms: &[QueryTerm]) -> ScanTerms {
    // `body` holds every word of a listing, so one term per query term finds the same listings as
    // one per field and reads a quarter of the postings; the field emphasis that orders them is the
    // core model's business when it rescores.
    let text = query_terms
        .iter()
        .map(|query_term| (query_term.term.clone(), query_term.weight))
        .collect();
    // Listings of the same technology fields are candidates even when they share no word (another
    // language, other terms for the same thing); the text terms then order them, and the field's
    // score of 1 (below one good term match) only lifts the rest. It is needed: without it
    // Recall@100 on the labelled match set falls from 1.00 to 0.23 (docs/matching.md).
    let technology = listing
        .body
        .technology_fields
        .iter()
        .map(|field| Term::from_field_u64(fields.technology_field, u64::from(field.get())))
        .collect();
    ScanTerms {
        text,
        min_text_matches: if query_terms.len() >= 4 { 2 } else { 1 },
        fields: technology,
    }
}
