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

/// A listing's analysed text: term frequencies and token counts per field. Maps use a fast
/// non-cryptographic hash: ranking looks terms up on every pair, and the keys are not attacker-chosen
/// in a way that matters (a listing's own terms, bounded by its validated size).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermVector {
    /// Term → occurrences, per field.
    pub counts: [FxHashMap<String, u32>; 4],
    /// Tokens per field (BM25's document length).
    pub lengths: [u32; 4],
}

impl TermVector {
    /// Occurrences of `term` in `field`.
    pub fn tf(&self, field: TextField, term: &str) -> u32 {
        self.counts[field.idx()].get(term).copied().unwrap_or(0)
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
    let body = &vector.counts[TextField::Body.idx()];
    let mut scored: Vec<(f32, &String, f32)> = body
        .iter()
        .filter(|(term, _)| stats.doc_freq.get(term.as_str()).copied().unwrap_or(0) > own_docs)
        .map(|(term, body_tf)| {
            // Title and keyword occurrences say more about what a listing is about.
            let emphasis = 2.0 * vector.tf(TextField::Title, term) as f32
                + 2.0 * vector.tf(TextField::Keywords, term) as f32;
            let weighted_tf = *body_tf as f32 + emphasis;
            let weight = 1.0 + weighted_tf.ln();
            (weight * stats.idf(term), term, weight)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.truncate(cap);
    scored
        .into_iter()
        .map(|(_, term, weight)| QueryTerm {
            term: term.clone(),
            weight,
        })
        .collect()
}

/// BM25 of `query` against `doc`, summed over fields with `FIELD_BOOSTS`; also the matched terms.
pub fn bm25(query: &[QueryTerm], doc: &TermVector, stats: &CorpusStats) -> (f32, Vec<String>) {
    let mut score = 0.0;
    let mut matched = Vec::new();
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
            matched.push(query_term.term.clone());
        }
    }
    (score, matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(body: &[(&str, u32)]) -> TermVector {
        let mut vector = TermVector::default();
        for (term, count) in body {
            vector.counts[TextField::Body.idx()].insert(term.to_string(), *count);
        }
        vector.lengths[TextField::Body.idx()] = body.iter().map(|(_, count)| count).sum();
        vector
    }

    fn stats(doc_freq: &[(&str, u64)], n_docs: u64) -> CorpusStats {
        CorpusStats {
            n_docs,
            average_lengths: [5.0, 10.0, 50.0, 5.0],
            doc_freq: doc_freq
                .iter()
                .map(|(term, df)| (term.to_string(), *df))
                .collect(),
        }
    }

    #[test]
    fn rare_terms_are_chosen_over_common_ones_and_unique_ones_are_skipped() {
        let listing = vector(&[("batteri", 3), ("recycl", 2), ("process", 5), ("zzyzx", 1)]);
        let corpus = stats(
            &[("batteri", 3), ("recycl", 5), ("process", 40), ("zzyzx", 1)],
            50,
        );
        let terms: Vec<String> = select_query_terms(&listing, &corpus, 1, 2)
            .into_iter()
            .map(|term| term.term)
            .collect();
        assert_eq!(terms, vec!["batteri", "recycl"]);
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
        let query = vec![
            QueryTerm {
                term: "pump".into(),
                weight: 1.0,
            },
            QueryTerm {
                term: "solar".into(),
                weight: 1.0,
            },
        ];
        let (both, matched) = bm25(&query, &vector(&[("pump", 1), ("solar", 1)]), &corpus);
        let (one, _) = bm25(&query, &vector(&[("pump", 1), ("wind", 1)]), &corpus);
        assert!(both > one && one > 0.0);
        assert_eq!(matched, vec!["pump", "solar"]);
    }
}
