//! Candidate generation: the listing's own discriminative terms as a tantivy query, with the hard
//! constraints of the matching spec as filters applied before top-k, so they never cost recall.

use silkmatch_core::matching::QueryTerm;
use silkmatch_core::{Kind, Listing, Timestamp, Trl};
use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

use crate::query::{Filters, filter_clauses};
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

/// The candidate-generation query: `candidate_text_query` with the hard constraints as filters.
pub(crate) fn candidate_query(
    fields: &Fields,
    listing: &Listing,
    query_terms: &[QueryTerm],
    now: Timestamp,
) -> Box<dyn Query> {
    let mut clauses = filter_clauses(fields, &constraint_filters(listing), now);
    clauses.push((
        Occur::Must,
        Box::new(candidate_text_query(fields, listing, query_terms)),
    ));
    Box::new(BooleanQuery::new(clauses))
}

/// What makes a listing a candidate, before the hard constraints: the selected terms in the whole
/// text (at least two matching when there are four or more), or a shared technology field. Public
/// so benchmarks can time it apart from the filters.
pub fn candidate_text_query(
    fields: &Fields,
    listing: &Listing,
    query_terms: &[QueryTerm],
) -> BooleanQuery {
    // `body` holds every word of a listing, so one clause per term finds the same listings as one
    // per field and costs a quarter of the postings walked; the field emphasis that orders them is
    // the core model's business when it rescores.
    let per_term: Vec<(Occur, Box<dyn Query>)> = query_terms
        .iter()
        .map(|query_term| {
            let term_query: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(fields.body, &query_term.term),
                IndexRecordOption::WithFreqs,
            ));
            (
                Occur::Should,
                Box::new(BoostQuery::new(term_query, query_term.weight)) as Box<dyn Query>,
            )
        })
        .collect();
    // Listings of the same technology fields are candidates even when they share no word (another
    // language, other terms for the same thing); the text clauses then order them, and the constant
    // structural score (1 per shared field, below one good term match) only lifts the rest. It is
    // the dearer half of the query and it is needed: without it Recall@100 on the labelled match
    // set falls from 1.00 to 0.23 (docs/matching.md).
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
    BooleanQuery::new(either)
}
