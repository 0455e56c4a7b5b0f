//! The text signal: BM25 of one listing's discriminative terms against another listing's analysed
//! text, with the index's corpus statistics passed in. Computing it here, rather than reading tantivy
//! scores, gives both directions of a pair from one formula and keeps the matched terms as evidence.

use rustc_hash::FxHashMap;

use serde::Serialize;

/// The fields a listing's text is indexed under; the order of `TermVector` arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    /// Titles (own and translated).
    Title,
    /// Summaries.
    Summary,
    /// All text, title and summary included.
    Body,
    /// Keywords.
    Keywords,
}

impl TextField {
    /// Every field, in array order.
    pub const ALL: [TextField; 4] = [
        TextField::Title,
        TextField::Summary,
        TextField::Body,
        TextField::Keywords,
    ];

    /// Position in `TermVector` arrays.
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// BM25 term-frequency saturation; tantivy's value, so candidate generation and rescoring agree.
const K1: f32 = 1.2;
/// BM25 length normalisation; tantivy's value.
const B: f32 = 0.75;

/// Per-field weight of a match, for search and matching alike, in `TextField` order. `body` holds all
/// the text, so a title word already counts there; title and summary add a little on top, because a
/// word in the title says more about what a listing is than the same word deep in its description.
/// Chosen by measurement on Cranfield and CACM (docs/relevance.md): stronger title weights lose on both.
pub const FIELD_BOOSTS: [f32; 4] = [0.3, 0.3, 1.0, 1.0];

/// A listing's analysed text: term frequencies and token counts per field. One map holds every
/// field's count of a term, so scoring a term against a listing is one lookup, not one per field;
/// ranking does it for every query term of every pair. The hash is fast and non-cryptographic:
/// the keys are a listing's own terms, bounded by its validated size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermVector {
    /// Term → occurrences in each field, in `TextField` order (a term is present in at least one).
    pub counts: FxHashMap<String, [u32; 4]>,
    /// Tokens per field (BM25's document length).
    pub lengths: [u32; 4],
}

impl TermVector {
    /// Occurrences of `term` in `field`.
    pub fn tf(&self, field: TextField, term: &str) -> u32 {
        self.counts
            .get(term)
            .map_or(0, |counts| counts[field.idx()])
    }

    /// Counts `n` more occurrences of `term` in `field` (the token count is the caller's).
    pub fn add(&mut self, field: TextField, term: String, n: u32) {
        self.counts.entry(term).or_insert([0; 4])[field.idx()] += n;
    }

    /// The terms of `field` and their counts, in no particular order.
    pub fn field_terms(&self, field: TextField) -> impl Iterator<Item = (&String, u32)> {
        self.counts
            .iter()
            .map(move |(term, counts)| (term, counts[field.idx()]))
            .filter(|(_, count)| *count > 0)
    }
}

/// What BM25 needs to know about the corpus.
#[derive(Debug, Clone, Default)]
pub struct CorpusStats {
    /// Documents in the index.
    pub n_docs: u64,
    /// Average tokens per field.
    pub average_lengths: [f32; 4],
    /// Documents containing each term (in `body`, which holds every term of a listing).
    pub doc_freq: FxHashMap<String, u64>,
    /// How many listings carry each technology field, sector and (the query's) keywords: what a
    /// shared one says (`evidence.rs`).
    pub structure: super::evidence::StructureStats,
}

impl CorpusStats {
    /// BM25 inverse document frequency, as tantivy (and Lucene) compute it.
    pub fn idf(&self, term: &str) -> f32 {
        let df = self.doc_freq.get(term).copied().unwrap_or(0) as f32;
        let n = self.n_docs as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }
}

/// A term of a listing's query with its weight (how much the listing is about it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryTerm {
    /// The analysed term.
    pub term: String,
    /// Relative weight, 1 for a term seen once in the body.
    pub weight: f32,
    /// The term's inverse document frequency under the statistics that chose it
    /// (`CorpusStats::idf`): kept with the term so scoring a pair looks nothing up in the corpus.
    #[serde(skip)]
    pub idf: f32,
}

/// Most query terms a listing contributes; bounds query cost for listings of any size.
pub const MAX_QUERY_TERMS: usize = 32;

/// Picks a listing's most discriminative terms by tf-idf. Terms no other listing has (`doc_freq` at
/// most `own_docs`, i.e. only the listing itself) cannot match anything and are skipped; there is no
/// minimum document frequency beyond that, so the same rule works on 50 listings and on 1,000,000.
pub fn select_query_terms(
    vector: &TermVector,
    stats: &CorpusStats,
    own_docs: u64,
    cap: usize,
) -> Vec<QueryTerm> {
    let mut scored: Vec<(f32, &String, f32, f32)> = vector
        .counts
        .iter()
        .filter(|(term, counts)| {
            counts[TextField::Body.idx()] > 0
                && stats.doc_freq.get(term.as_str()).copied().unwrap_or(0) > own_docs
        })
        .map(|(term, counts)| {
            // Title and keyword occurrences say more about what a listing is about.
            let emphasis = 2.0 * counts[TextField::Title.idx()] as f32
                + 2.0 * counts[TextField::Keywords.idx()] as f32;
            let weighted_tf = counts[TextField::Body.idx()] as f32 + emphasis;
            let weight = 1.0 + weighted_tf.ln();
            let idf = stats.idf(term);
            (weight * idf, term, weight, idf)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.truncate(cap);
    scored
        .into_iter()
        .map(|(_, term, weight, idf)| QueryTerm {
            term: term.clone(),
            weight,
            idf,
        })
        .collect()
}

/// Terms that find a listing's candidates: more than it is ranked by, since a candidate missed is
/// lost for good while a term of little weight costs the scan only its postings. Measured on the
/// real sets (docs/matching.md, "Candidates"): with the 32 ranking terms the lexical top 100 held
/// fewer of the relevant listings than a plain BM25's top 100 (sbir-match 0.959, sbir-zh 0.968
/// against 0.960 and 0.982); with 64 it holds as many or more.
pub const CANDIDATE_TERMS: usize = 64;

/// A listing's `CANDIDATE_TERMS` most discriminative terms (chosen as `select_query_terms` does),
/// each weighted by how often its whole text has it, as a BM25 query of the whole text counts a
/// repeated word.
pub fn candidate_terms(vector: &TermVector, stats: &CorpusStats, own_docs: u64) -> Vec<QueryTerm> {
    let mut terms = select_query_terms(vector, stats, own_docs, CANDIDATE_TERMS);
    for term in &mut terms {
        term.weight = vector
            .counts
            .get(&term.term)
            .map_or(1.0, |counts| counts[TextField::Body.idx()] as f32);
    }
    terms
}

/// BM25 of `query` against `doc`, summed over fields with `FIELD_BOOSTS`, with the fields' average
/// lengths of the corpus and each query term's own `idf`.
pub fn bm25(query: &[QueryTerm], doc: &TermVector, average_lengths: &[f32; 4]) -> f32 {
    bm25_of(query.iter(), doc, average_lengths)
}

/// A 1,024-bit summary of a listing's terms (one bit per term, by hash): a query term whose bit is
/// clear is certainly not in the listing, so ranking skips the lookup. Most of a query's terms are
/// absent from any one candidate, and each lookup in a candidate's map is a cache miss or two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermSignature([u64; 16]);

impl TermSignature {
    /// The signature of every term of `vector`, whatever its fields.
    pub fn of(vector: &TermVector) -> TermSignature {
        let mut words = [0u64; 16];
        for term in vector.counts.keys() {
            let bit = TermSignature::bit(term);
            words[bit as usize / 64] |= 1 << (bit % 64);
        }
        TermSignature(words)
    }

    /// The bit of `term`.
    pub fn bit(term: &str) -> u16 {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        term.hash(&mut hasher);
        // The top ten bits of a multiplicative mix: well spread whatever the hasher's low bits.
        (hasher.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as u16
    }

    /// Whether a term with bit `bit` may be in the listing.
    pub fn may_contain(&self, bit: u16) -> bool {
        self.0[usize::from(bit / 64)] & (1 << (bit % 64)) != 0
    }
}

/// `bm25` with the lookups of terms `signature` rules out skipped: `bits` are the bits of `query`'s
/// terms (aligned), `signature` is `doc`'s. Equal to `bm25` bit for bit, since a skipped term has no
/// counts in `doc`.
pub fn bm25_screened(
    query: &[QueryTerm],
    bits: &[u16],
    doc: &TermVector,
    signature: &TermSignature,
    average_lengths: &[f32; 4],
) -> f32 {
    debug_assert_eq!(query.len(), bits.len());
    let candidates = query
        .iter()
        .zip(bits)
        .filter(|(_, bit)| signature.may_contain(**bit))
        .map(|(query_term, _)| query_term);
    bm25_of(candidates, doc, average_lengths)
}

/// BM25 of the query terms `query` against `doc`, in order.
fn bm25_of<'a>(
    query: impl Iterator<Item = &'a QueryTerm>,
    doc: &TermVector,
    average_lengths: &[f32; 4],
) -> f32 {
    let mut length_norms = [0.0f32; 4];
    for field in TextField::ALL {
        let average = average_lengths[field.idx()].max(1.0);
        length_norms[field.idx()] = K1 * (1.0 - B + B * doc.lengths[field.idx()] as f32 / average);
    }
    let mut score = 0.0;
    for query_term in query {
        let Some(counts) = doc.counts.get(&query_term.term) else {
            continue;
        };
        let mut term_score = 0.0;
        for field in TextField::ALL {
            let tf = counts[field.idx()] as f32;
            if tf == 0.0 {
                continue;
            }
            term_score +=
                FIELD_BOOSTS[field.idx()] * tf * (K1 + 1.0) / (tf + length_norms[field.idx()]);
        }
        if term_score > 0.0 {
            score += query_term.weight * query_term.idf * term_score;
        }
    }
    score
}

/// The terms of `query` that occur in `doc` (the evidence of its BM25), in query order.
pub fn matched_terms(query: &[QueryTerm], doc: &TermVector) -> Vec<String> {
    query
        .iter()
        .filter(|query_term| {
            doc.counts
                .get(&query_term.term)
                .is_some_and(|counts| counts.iter().any(|count| *count > 0))
        })
        .map(|query_term| query_term.term.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn vector(body: &[(&str, u32)]) -> TermVector {
        let mut vector = TermVector::default();
        for (term, count) in body {
            vector.add(TextField::Body, term.to_string(), *count);
        }
        vector.lengths[TextField::Body.idx()] = body.iter().map(|(_, count)| count).sum();
        vector
    }

    fn stats(doc_freq: &[(&str, u64)], n_docs: u64) -> CorpusStats {
        CorpusStats {
            n_docs,
            structure: Default::default(),
            average_lengths: [5.0, 10.0, 50.0, 5.0],
            doc_freq: doc_freq
                .iter()
                .map(|(term, df)| (term.to_string(), *df))
                .collect(),
        }
    }

    fn query_term(term: &str, corpus: &CorpusStats) -> QueryTerm {
        QueryTerm {
            term: term.into(),
            weight: 1.0,
            idf: corpus.idf(term),
        }
    }

    #[test]
    fn rare_terms_are_chosen_over_common_ones_and_unique_ones_are_skipped() {
        let listing = vector(&[("batteri", 3), ("recycl", 2), ("process", 5), ("zzyzx", 1)]);
        let corpus = stats(
            &[("batteri", 3), ("recycl", 5), ("process", 40), ("zzyzx", 1)],
            50,
        );
        let terms = select_query_terms(&listing, &corpus, 1, 2);
        let names: Vec<&str> = terms.iter().map(|term| term.term.as_str()).collect();
        assert_eq!(names, vec!["batteri", "recycl"]);
        assert_eq!(terms[0].idf, corpus.idf("batteri"));
    }

    #[test]
    fn only_terms_of_the_whole_text_are_chosen() {
        let mut listing = vector(&[("pump", 1)]);
        listing.add(TextField::Keywords, "solar".into(), 1);
        let corpus = stats(&[("pump", 2), ("solar", 2)], 3);
        let terms = select_query_terms(&listing, &corpus, 1, 32);
        assert_eq!(terms.len(), 1);
        assert_eq!(terms[0].term, "pump");
    }

    #[test]
    fn works_on_a_tiny_corpus() {
        let listing = vector(&[("pump", 1), ("solar", 1)]);
        let corpus = stats(&[("pump", 2), ("solar", 2)], 3);
        assert_eq!(select_query_terms(&listing, &corpus, 1, 32).len(), 2);
    }

    #[test]
    fn bm25_rewards_matches_and_reports_them() {
        let corpus = stats(&[("pump", 2), ("solar", 2)], 10);
        let query = vec![query_term("pump", &corpus), query_term("solar", &corpus)];
        let both_doc = vector(&[("pump", 1), ("solar", 1)]);
        let both = bm25(&query, &both_doc, &corpus.average_lengths);
        let one = bm25(
            &query,
            &vector(&[("pump", 1), ("wind", 1)]),
            &corpus.average_lengths,
        );
        assert!(both > one && one > 0.0);
        assert_eq!(matched_terms(&query, &both_doc), vec!["pump", "solar"]);
    }

    /// BM25 as the formula reads, one field lookup at a time: what `bm25` must equal bit for bit.
    fn reference_bm25(query: &[QueryTerm], doc: &TermVector, stats: &CorpusStats) -> f32 {
        let mut score = 0.0;
        for query_term in query {
            let mut term_score = 0.0;
            for field in TextField::ALL {
                let tf = doc.tf(field, &query_term.term) as f32;
                if tf == 0.0 {
                    continue;
                }
                let average = stats.average_lengths[field.idx()].max(1.0);
                let length_norm = K1 * (1.0 - B + B * doc.lengths[field.idx()] as f32 / average);
                term_score += FIELD_BOOSTS[field.idx()] * tf * (K1 + 1.0) / (tf + length_norm);
            }
            if term_score > 0.0 {
                score += query_term.weight * stats.idf(&query_term.term) * term_score;
            }
        }
        score
    }

    const WORDS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

    #[test]
    fn a_signature_rules_out_most_absent_terms_and_never_a_present_one() {
        let present: Vec<String> = (0..150).map(|n| format!("term{n}")).collect();
        let mut doc = TermVector::default();
        for term in &present {
            doc.add(TextField::Body, term.clone(), 1);
        }
        let signature = TermSignature::of(&doc);
        assert!(
            present
                .iter()
                .all(|term| signature.may_contain(TermSignature::bit(term)))
        );
        let absent_passing = (0..10_000)
            .filter(|n| signature.may_contain(TermSignature::bit(&format!("other{n}"))))
            .count();
        // 150 terms set at most 150 of 1,024 bits: about 14% of absent terms get through.
        assert!(
            absent_passing < 2_000,
            "{absent_passing} of 10000 absent terms passed"
        );
    }

    proptest! {
        #[test]
        fn bm25_equals_the_formula_field_by_field(
            doc_counts in proptest::collection::vec((0usize..8, 0usize..4, 1u32..5), 0..24),
            query_words in proptest::collection::vec((0usize..8, 0.5f32..3.0), 0..8),
            doc_freqs in proptest::collection::vec(0u64..40, 8),
            average_lengths in proptest::array::uniform4(0.0f32..60.0),
        ) {
            let mut doc = TermVector::default();
            for (word, field, count) in doc_counts {
                doc.add(TextField::ALL[field], WORDS[word].to_owned(), count);
                doc.lengths[field] += count;
            }
            let corpus = CorpusStats {
                structure: Default::default(),
                n_docs: 40,
                average_lengths,
                doc_freq: WORDS.iter().zip(doc_freqs).map(|(word, df)| (word.to_string(), df)).collect(),
            };
            let query: Vec<QueryTerm> = query_words
                .into_iter()
                .map(|(word, weight)| QueryTerm { weight, ..query_term(WORDS[word], &corpus) })
                .collect();
            let fast = bm25(&query, &doc, &corpus.average_lengths);
            prop_assert_eq!(fast.to_bits(), reference_bm25(&query, &doc, &corpus).to_bits());
            let bits: Vec<u16> = query.iter().map(|term| TermSignature::bit(&term.term)).collect();
            let screened = bm25_screened(&query, &bits, &doc, &TermSignature::of(&doc), &corpus.average_lengths);
            prop_assert_eq!(screened.to_bits(), fast.to_bits());
            let matched = matched_terms(&query, &doc);
            let expected: Vec<String> = query
                .iter()
                .filter(|term| TextField::ALL.iter().any(|field| doc.tf(*field, &term.term) > 0))
                .map(|term| term.term.clone())
                .collect();
            prop_assert_eq!(matched, expected);
        }
    }
}
