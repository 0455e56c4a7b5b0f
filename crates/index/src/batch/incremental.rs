//! `--since-last-run`: which listings can have a different top-k since the last finished run.
//!
//! A listing L's list can change only if (a) L itself changed, (b) one of its listed candidates
//! changed, was withdrawn or expired, or (c) some changed listing C, live now, can now be among L's
//! candidates. For (c) the bound is candidate generation itself: C is a candidate of L only if it
//! passes L's filters (so it is of L's partner kind and live) *and* shares a technology field with L
//! or contains one of L's query terms. L's query terms are terms of L's `body` field, so every L
//! whose `body` holds any term of C's text, or that shares a technology field with C, is re-ranked:
//! a superset, found with one index query per changed listing. The same query is made for changed
//! listings that are no longer live: one that leaves L's candidate pool (the top 100 by BM25) below
//! L's top-k lets another listing into the pool, which may rank into the top-k.
//!
//! Meaning widens both (a) and (c). A listing whose vector arrived or changed since the base run
//! (embedding runs behind the writes) counts as changed. And C, once it has a vector, can be a
//! candidate of L by meaning alone, which `rank` allows only above the meaning floor: so every live
//! L of C's partner kind whose similarity with C is above the floor is re-ranked too (one scan of
//! the vectors per changed listing). Vectors of another model than the base run's: everything.
//!
//! Not covered: an edit that changes C's text so that it no longer reaches L, where the old C was in
//! L's candidate pool but not in its top-k (the old text is not kept, so the old reach is unknown).
//! See docs/batch.md.

use std::collections::{BTreeSet, HashSet};

use silkmatch_core::{Listing, Timestamp};
use tantivy::Term;
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

use super::partner_kind;
use super::plan::Direction;
use crate::dense::VectorsAt;
use crate::engine::Engine;
use crate::error::Result;
use crate::matching::{MatchRequest, analyse_listing};
use crate::query::{Filters, filter_clauses};
use crate::search_index::SearchIndex;
use crate::store::{self, Columns, recommendations::RunRecord};

/// Changed listings read per store query.
const PAGE: usize = 10_000;

/// Ids (any kind) whose recommendation list may differ from the one `base` stored, ranking with
/// `vectors`; `None` when that may be any list (the vectors come from another model than the base
/// run's, or one of the two runs had none).
pub(crate) fn affected(
    engine: &Engine,
    base: &RunRecord,
    vectors: Option<&VectorsAt>,
    direction: Direction,
    now: Timestamp,
) -> Result<Option<HashSet<String>>> {
    let vectors_since = match (&base.vectors, vectors) {
        (None, None) => None,
        (Some(then), Some(now))
            if then.model == now.model && then.reached_seq <= now.reached_seq =>
        {
            Some((then.reached_seq, now.reached_seq))
        }
        _ => return Ok(None),
    };
    let mut changed: Vec<Listing> = Vec::new();
    let mut after = base.store_seq;
    loop {
        let rows = engine.changed_since(after, PAGE)?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        changed.extend(rows.into_iter().map(|row| row.listing));
    }
    // Publications that lapsed between the two reference times changed without a write, and
    // listings whose vector arrived or moved on changed in meaning.
    let mut unwritten = engine.store.read(|connection| {
        store::recommendations::expired_between(connection, base.ranked_at, now.unix())
    })?;
    if let Some((then, now)) = vectors_since {
        unwritten.extend(
            engine
                .store
                .read(|connection| store::embeddings::ids_between(connection, then, now))?,
        );
    }
    let mut seen: HashSet<String> = changed.iter().map(|listing| listing.id.clone()).collect();
    let unwritten: Vec<String> = unwritten
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    changed.extend(
        engine
            .store
            .read(|connection| store::listings::get_many(connection, &unwritten, Columns::Listing))?
            .into_iter()
            .map(|row| row.listing),
    );
    let floor = MatchRequest::default().weights.meaning.cosine_floor;

    let ranked_kinds = direction.kinds();
    let mut affected = HashSet::new();
    for listing in &changed {
        let live = listing.is_live(now);
        if live && ranked_kinds.contains(&listing.body.kind) {
            affected.insert(listing.id.clone());
        }
        affected.extend(
            engine
                .store
                .read(|connection| store::recommendations::recommending(connection, &listing.id))?,
        );
        // Live or not: a listing that left L's candidate pool (withdrawn, lapsed) without being in
        // L's top-k frees a place in the pool that another candidate may take and rank high with.
        if ranked_kinds.contains(&partner_kind(listing.body.kind)) {
            affected.extend(possible_hosts(engine, listing, now)?);
            affected.extend(related_hosts(engine, listing, floor, now)?);
        }
    }
    Ok(Some(affected))
}

/// Live listings of `candidate`'s partner kind that `candidate` could be a partner of by meaning
/// alone (those whose similarity with it is above the meaning floor), or could have been until it
/// left.
fn related_hosts(
    engine: &Engine,
    candidate: &Listing,
    floor: f32,
    now: Timestamp,
) -> Result<Vec<String>> {
    // The newest vector it has: a withdrawn listing keeps the one it was published with, and
    // leaving L's nearest listings lets another in, just as leaving its lexical pool does.
    let Some(code) = engine.listing_code_of(&candidate.id) else {
        return Ok(Vec::new());
    };
    let filters = Filters {
        kind: Some(partner_kind(candidate.body.kind)),
        ..Filters::default()
    };
    let seqs = engine.related_allowed(&engine.index.searcher(), &filters, now, &code, floor)?;
    engine
        .store
        .read(|connection| store::listings::ids_by_seq(connection, &seqs))
}

/// Live listings of `candidate`'s partner kind whose candidate query `candidate` could match.
fn possible_hosts(engine: &Engine, candidate: &Listing, now: Timestamp) -> Result<Vec<String>> {
    let searcher = engine.index.searcher();
    let fields = engine.index.fields();
    let filters = Filters {
        kind: Some(partner_kind(candidate.body.kind)),
        ..Filters::default()
    };
    let mut either: Vec<(Occur, Box<dyn Query>)> = candidate
        .body
        .technology_fields
        .iter()
        .map(|field| {
            let term = Term::from_field_u64(fields.technology_field, u64::from(field.get()));
            (
                Occur::Should,
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
            )
        })
        .collect();
    let (vector, _) = analyse_listing(candidate);
    let terms: BTreeSet<&String> = vector.counts.keys().collect();
    for term in terms {
        either.push((
            Occur::Should,
            Box::new(TermQuery::new(
                Term::from_field_text(fields.body, term),
                IndexRecordOption::Basic,
            )),
        ));
    }
    if either.is_empty() {
        return Ok(Vec::new());
    }
    let mut clauses = filter_clauses(fields, &filters, now);
    clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
    let docs = searcher.search(&BooleanQuery::new(clauses), &DocSetCollector)?;
    let mut addresses: Vec<tantivy::DocAddress> = docs.into_iter().collect();
    addresses.sort();
    SearchIndex::listing_ids(&searcher, &addresses)
}
