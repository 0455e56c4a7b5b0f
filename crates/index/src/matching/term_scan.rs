//! The candidate scan: a listing's selected terms and technology fields scored term at a time over
//! the postings, under the hard constraints, and the best `n` kept.
//!
//! Why not a tantivy query: with the constraints as filter clauses every request walks the filters'
//! postings and range-scans their columns, in proportion to the corpus (13 ms of each match at 1M
//! offers); with them as a check on top of block-max WAND the pruning fails exactly when constraints
//! are tight (the top fills late) and on corpora where many listings share one subject's vocabulary
//! (docs/matching.md, "Latency"). Reading each query term's postings once, testing one bit of the
//! constraints' cached `FilterCheck` per posting and adding the BM25 contribution into a dense
//! per-document array costs in proportion to the postings of 32 terms only, with no merge or pivot
//! work per document.
//!
//! What is scored is what the candidate-generation query has always meant: a listing is a candidate
//! when it has at least `min_text_matches` of the text terms, or shares a technology field; its
//! score is the text terms' BM25 (weighted by each term's selection weight, with the index's
//! statistics, as tantivy's `TermQuery` scores them) when it has enough of them, plus 1 for each
//! shared field. Terms add up in one fixed order, so equal listings get bit-equal scores, and equal
//! scores are ordered by `seq`, ascending (the older listing version first), never by segment
//! layout: the same store gives the same candidates however its index was built or merged.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::query::{Bm25StatisticsProvider, Bm25Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, Term};

use super::sides::DocFreqs;
use crate::filter_check::{FilterCheck, SegmentCheck, ValueBits};
use crate::schema::Fields;

/// What the scan scores.
pub(crate) struct ScanTerms {
    /// Terms of the whole-text field and their weights (only positive weights count).
    pub(crate) text: Vec<(String, Score)>,
    /// A listing with fewer of the text terms than this is a candidate only through a field.
    pub(crate) min_text_matches: u8,
    /// Technology-field terms: each one a listing has adds 1.
    pub(crate) fields: Vec<Term>,
}

/// One candidate of the scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub(crate) score: Score,
    pub(crate) seq: u64,
    pub(crate) address: DocAddress,
}

impl Scored {
    /// Better first: higher score, then lower `seq`.
    fn rank(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.seq.cmp(&other.seq))
    }
}

/// Heap order: the worst kept candidate on top (`BinaryHeap` is a max-heap).
struct Worst(Scored);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank(&other.0)
    }
}

/// Per-document sums of one segment, kept per thread between scans (a scan touches only the
/// documents in its terms' postings, and resets only those).
#[derive(Default)]
struct Sums {
    text: Vec<Score>,
    text_matches: Vec<u8>,
    fields: Vec<u8>,
    /// Documents with any sum, in the order first reached.
    touched: Vec<DocId>,
}

impl Sums {
    fn prepare(&mut self, max_doc: usize) {
        if self.text.len() < max_doc {
            self.text.resize(max_doc, 0.0);
            self.text_matches.resize(max_doc, 0);
            self.fields.resize(max_doc, 0);
        }
    }

    fn touch(&mut self, doc: DocId) {
        let at = doc as usize;
        if self.text_matches[at] == 0 && self.fields[at] == 0 {
            self.touched.push(doc);
        }
    }

    fn reset(&mut self) {
        for &doc in &self.touched {
            let at = doc as usize;
            self.text[at] = 0.0;
            self.text_matches[at] = 0;
            self.fields[at] = 0;
        }
        self.touched.clear();
    }
}

thread_local! {
    static SUMS: RefCell<Sums> = RefCell::new(Sums::default());
}

/// The best `n` candidates for `terms` among the documents `check` allows, best first.
pub(crate) fn scan_top(
    searcher: &Searcher,
    fields: &Fields,
    doc_freqs: &DocFreqs,
    terms: &ScanTerms,
    check: &FilterCheck,
    bits: &ValueBits,
    n: usize,
) -> tantivy::Result<Vec<Scored>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    // What `Bm25Weight::for_terms` computes for one term, with the document frequency from the
    // cache and the corpus figures read once.
    let total_docs = searcher.total_num_docs()?;
    let average_length = searcher.total_num_tokens(fields.body)? as Score / total_docs as Score;
    let weights: Vec<(Term, Bm25Weight)> = terms
        .text
        .iter()
        .filter(|(_, weight)| weight.is_finite() && *weight > 0.0)
        .map(|(term, weight)| {
            let doc_freq = doc_freqs.get(searcher, fields, term)?;
            let bm25 =
                Bm25Weight::for_one_term_without_explain(doc_freq, total_docs, average_length);
            Ok((
                Term::from_field_text(fields.body, term),
                bm25.boost_by(*weight),
            ))
        })
        .collect::<tantivy::Result<_>>()?;
    let mut kept: BinaryHeap<Worst> = BinaryHeap::with_capacity(n + 1);
    SUMS.with_borrow_mut(|sums| {
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let segment = check.for_segment(reader, bits)?;
            sums.prepare(reader.max_doc() as usize);
            let scanned = scan_segment(reader, &segment, &weights, terms, sums);
            let kept_best =
                scanned.and_then(|()| keep_best(reader, ord, &segment, terms, sums, n, &mut kept));
            // The sums are reset whatever happened, so the next scan on this thread starts clean.
            sums.reset();
            kept_best?;
        }
        Ok::<(), tantivy::TantivyError>(())
    })?;
    let mut top: Vec<Scored> = kept.into_iter().map(|Worst(scored)| scored).collect();
    top.sort_by(Scored::rank);
    Ok(top)
}

/// Adds every allowed posting of the terms into `sums`.
fn scan_segment(
    reader: &SegmentReader,
    segment: &SegmentCheck,
    weights: &[(Term, Bm25Weight)],
    terms: &ScanTerms,
    sums: &mut Sums,
) -> tantivy::Result<()> {
    for (term, weight) in weights {
        let inverted = reader.inverted_index(term.field())?;
        let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::WithFreqs)? else {
            continue;
        };
        let norms = reader
            .fieldnorms_readers()
            .get_field(term.field())?
            .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if segment.may_pass(doc) {
                sums.touch(doc);
                let at = doc as usize;
                sums.text[at] += weight.score(norms.fieldnorm_id(doc), postings.term_freq());
                sums.text_matches[at] = sums.text_matches[at].saturating_add(1);
            }
            doc = postings.advance();
        }
    }
    for term in &terms.fields {
        let inverted = reader.inverted_index(term.field())?;
        let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)? else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if segment.may_pass(doc) {
                sums.touch(doc);
                let at = doc as usize;
                sums.fields[at] = sums.fields[at].saturating_add(1);
            }
            doc = postings.advance();
        }
    }
    Ok(())
}

/// Offers the segment's scored documents to the `n` best kept so far.
fn keep_best(
    reader: &SegmentReader,
    ord: usize,
    segment: &SegmentCheck,
    terms: &ScanTerms,
    sums: &Sums,
    n: usize,
    kept: &mut BinaryHeap<Worst>,
) -> tantivy::Result<()> {
    let seqs = reader.fast_fields().u64("seq")?;
    let segment_ord = u32::try_from(ord).expect("fewer than 2^32 segments");
    for &doc in &sums.touched {
        let at = doc as usize;
        let text_counts = sums.text_matches[at] >= terms.min_text_matches;
        if !text_counts && sums.fields[at] == 0 {
            continue;
        }
        let text = if text_counts { sums.text[at] } else { 0.0 };
        let score = text + Score::from(sums.fields[at]);
        if kept.len() >= n && kept.peek().is_some_and(|worst| score < worst.0.score) {
            continue;
        }
        if !segment.allows(doc) {
            continue;
        }
        let scored = Scored {
            score,
            seq: seqs.first(doc).unwrap_or(0),
            address: DocAddress::new(segment_ord, doc),
        };
        if kept.len() < n {
            kept.push(Worst(scored));
        } else if let Some(mut worst) = kept.peek_mut()
            && scored.rank(&worst.0) == Ordering::Less
        {
            *worst = Worst(scored);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};
    use silkmatch_core::matching::QueryTerm;
    use silkmatch_core::{Listing, Timestamp, draft_from_value, validate};
    use silkmatch_fixtures::{GeneratorConfig, generate};
    use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
    use tantivy::collector::{DocSetCollector, TopDocs};
    use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
    use tantivy::{DocAddress, Order};

    use super::*;
    use crate::matching::candidates::constraint_filters;
    use crate::query::{Filters, filter_clauses};
    use crate::schema::Fields;
    use crate::{Engine, IndexCommit, Owner, Write};

    fn at(day: i64) -> Timestamp {
        Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .plus_days(day)
    }

    /// 400 generated listings with varied constraints: some withdrawn, some published a year and a
    /// half ago (so expired), some open only to a few countries, and some rewritten (so the index
    /// holds deleted documents).
    fn corpus(dir: &std::path::Path) -> Engine {
        let engine = Engine::open(dir).unwrap();
        let config = GeneratorConfig {
            offers: 200,
            needs: 200,
            seed: 7,
        };
        let countries = [json!(["CN"]), json!(["KZ", "RU"]), json!(["TR"])];
        let values: Vec<Value> = generate(&config)
            .enumerate()
            .map(|(i, mut value)| {
                if i % 5 == 1 {
                    value["target_countries"] = countries[i % 3].clone();
                }
                if i % 11 == 3 {
                    value["status"] = json!("withdrawn");
                }
                value
            })
            .collect();
        for (batch, day) in [(0, 0), (1, 500), (2, 560)] {
            let writes = values
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 3 == batch || (batch == 2 && i % 7 == 0))
                .map(|(_, value)| Write::Upsert {
                    owner: Owner::FromListing,
                    validated: validate(&draft_from_value(value.clone()).unwrap()).unwrap(),
                })
                .collect();
            for outcome in engine.write(writes, at(day), IndexCommit::Now).unwrap() {
                outcome.unwrap();
            }
        }
        engine
    }

    fn all_listings(engine: &Engine) -> Vec<silkmatch_core::Listing> {
        let rows = engine
            .store
            .read(|c| crate::store::listings::changed_since(c, 0, usize::MAX >> 1))
            .unwrap();
        rows.into_iter().map(|row| row.listing).collect()
    }

    fn every_filter(engine: &Engine) -> Vec<Filters> {
        let listings = all_listings(engine);
        let mut filters: Vec<Filters> =
            listings.iter().step_by(9).map(constraint_filters).collect();
        let some = &listings[0].body;
        filters.push(Filters {
            technology_fields: some.technology_fields.clone(),
            sectors: some.sectors.clone(),
            languages: vec![some.language.clone()],
            organisation_kinds: vec![some.organisation.kind],
            sdgs: some.sdgs.clone(),
            ..Filters::default()
        });
        // A readiness range with no level in it passes nothing.
        filters.push(Filters {
            trl_min: silkmatch_core::Trl::new(9),
            trl_max: silkmatch_core::Trl::new(5),
            ..Filters::default()
        });
        filters.push(Filters {
            ipr: listings.iter().filter_map(|l| l.body.ipr).take(1).collect(),
            countries: vec![some.organisation.country.clone()],
            ..Filters::default()
        });
        filters
    }

    #[test]
    fn the_check_passes_exactly_the_documents_the_filter_clauses_match() {
        let dir = tempfile::tempdir().unwrap();
        let engine = corpus(dir.path());
        let searcher = engine.index.searcher();
        let fields = engine.index.fields();
        let now = at(565);
        let (mut some_pass, mut some_fail) = (false, false);
        for filters in every_filter(&engine) {
            let clauses = BooleanQuery::new(filter_clauses(fields, &filters, now));
            let by_clauses: BTreeSet<DocAddress> = searcher
                .search(&clauses, &DocSetCollector)
                .unwrap()
                .into_iter()
                .collect();
            let check = FilterCheck::new(fields, &filters, now);
            let mut by_check = BTreeSet::new();
            for (ord, reader) in searcher.segment_readers().iter().enumerate() {
                let segment = check.for_segment(reader, &engine.value_bits).unwrap();
                for doc in 0..reader.max_doc() {
                    if segment.allows(doc) {
                        by_check.insert(DocAddress::new(ord as u32, doc));
                    }
                }
            }
            assert_eq!(by_check, by_clauses, "{filters:?}");
            some_pass |= !by_check.is_empty();
            some_fail |= by_check.len() < searcher.num_docs() as usize;
        }
        assert!(some_pass && some_fail);
        assert!(
            searcher
                .segment_readers()
                .iter()
                .any(|r| r.num_deleted_docs() > 0)
        );
    }

    /// The candidate-generation query as a tantivy query (what the scan replaced): the text terms,
    /// at least two of them from four on, or a shared field worth 1.
    fn reference_query(fields: &Fields, listing: &Listing, terms: &[QueryTerm]) -> BooleanQuery {
        let per_term: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let q = TermQuery::new(
                    Term::from_field_text(fields.body, &t.term),
                    IndexRecordOption::WithFreqs,
                );
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(q), t.weight)) as Box<dyn Query>,
                )
            })
            .collect();
        let structural: Vec<(Occur, Box<dyn Query>)> = listing
            .body
            .technology_fields
            .iter()
            .map(|f| {
                let q = TermQuery::new(
                    Term::from_field_u64(fields.technology_field, u64::from(f.get())),
                    IndexRecordOption::Basic,
                );
                (
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(Box::new(q), 1.0)) as Box<dyn Query>,
                )
            })
            .collect();
        let minimum = if per_term.len() >= 4 { 2 } else { 1 };
        BooleanQuery::new(vec![
            (Occur::Should, Box::new(BooleanQuery::new(structural))),
            (
                Occur::Should,
                Box::new(BooleanQuery::with_minimum_required_clauses(
                    per_term, minimum,
                )),
            ),
        ])
    }

    #[test]
    fn the_scan_finds_the_top_of_the_candidate_query_under_the_filters() {
        let dir = tempfile::tempdir().unwrap();
        let engine = corpus(dir.path());
        let searcher = engine.index.searcher();
        let fields = engine.index.fields();
        let now = at(565);
        let mut compared = 0;
        for listing in all_listings(&engine).iter().step_by(7) {
            let terms = engine.prepare_match(listing, 1, now).unwrap().query.query;
            let filters = constraint_filters(listing);
            for n in [1, 10, 100] {
                let scanned = engine
                    .candidates(&searcher, listing, &terms, now, n)
                    .unwrap();
                let mut clauses = filter_clauses(fields, &filters, now);
                clauses.push((
                    Occur::Must,
                    Box::new(reference_query(fields, listing, &terms)),
                ));
                let exhaustive = searcher
                    .search(
                        &BooleanQuery::new(clauses),
                        &TopDocs::with_limit(n).order_by((
                            SortBySimilarityScore,
                            (SortByStaticFastValue::<u64>::for_field("seq"), Order::Asc),
                        )),
                    )
                    .unwrap();
                let scanned_seqs: Vec<u64> = scanned.iter().map(|s| s.seq).collect();
                let exhaustive_seqs: Vec<u64> = exhaustive
                    .iter()
                    .map(|((_, seq), _)| seq.unwrap())
                    .collect();
                assert_eq!(scanned_seqs, exhaustive_seqs, "{} n={n}", listing.id);
                for (scored, ((score, _), _)) in scanned.iter().zip(&exhaustive) {
                    assert!((scored.score - score).abs() <= 1e-4 * score.abs().max(1.0));
                }
                compared += scanned.len();
            }
        }
        assert!(compared > 100);
    }
}
