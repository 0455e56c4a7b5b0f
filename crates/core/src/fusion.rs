//! Fusion of a lexical ranking (BM25) and a dense ranking (cosine of multilingual embeddings) into one.
//!
//! The fused score of a document is a weighted sum of its two normalised scores (a convex combination
//! in the sense of Bruch, Gai and Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval",
//! 2022, with their "theoretical minimum" normalisation):
//!
//! ```text
//! fused(d) = lexical_weight(d) · bm25(d) / max bm25  +  (1 − same_language_lexical) · dense(d)
//! dense(d) = clamp((cos(d) − cosine_floor) / (1 − cosine_floor), 0, 1)
//! lexical_weight(d) = same_language_lexical   when d's language is the query's (or either is unknown)
//!                   = cross_language_lexical  when both are known and differ
//! ```
//!
//! A document missing from one list contributes 0 from that list. Callers that can should
//! therefore put in the dense list, after the dense top k, the exact cosine of every lexical hit
//! outside it (search has every listing's vector): on Cranfield and CACM that alone keeps lexical's
//! Recall@100, which a lexical-only document scored 0 on the dense side loses. BM25's theoretical minimum is 0,
//! so the best lexical hit of a query scores 1 and the others keep their ratio to it; the cosine is
//! mapped from a floor below which the model's similarities carry no information.
//!
//! Why the language matters: BM25 of a query in one language against a document in another only
//! matches numbers, code names and the odd Latin word; on XQuAD-R en→zh, plain reciprocal-rank
//! fusion let that noise cost 24 points of R@1. The dense weight does not depend on the
//! document's language, so in a collection of mixed languages a document's dense evidence counts
//! the same whatever its language.
//!
//! When one list is empty (no model, or no lexical match) there is nothing to fuse: the other list
//! is returned in its own order, with its normalised scores.
//!
//! Pure and deterministic: equal fused scores are ordered by the best position the document holds
//! in either list, then by key.

use std::collections::HashMap;
use std::hash::Hash;

use crate::TextLanguage;
use crate::model::LanguageTag;

/// Share of the normalised BM25 score for a document in the query's language (or when either
/// language is unknown); the dense share is `1 −` this.
///
/// Chosen, with the two constants below, on the dev half of the queries (even positions in
/// `queries.jsonl`) of the six public collections (Cranfield, CACM, XQuAD-R zh/ru/ar→en and
/// en→zh) by a grid sweep (hidden `silkmatch eval fusion-sweep`: this share 0–1 by 0.05, the
/// cross-language one 0–0.5, the floor 0–0.85; 1,848 points), one set for all collections: the best
/// mean of R@1, MRR@10 and nDCG@10 over the six among the points that beat dense R@1 on every
/// cross-lingual set and lexical nDCG@10, MRR@10 and Recall@100 on both English ones, all on dev
/// queries only. Held-out results: `docs/crosslingual.md`.
///
/// The share is small because BM25 divided by the query's best BM25 spreads over `[0, 1]` while
/// cosines above the floor spread over a few tenths; 0.2 still lets lexical decide between close
/// dense candidates on the English sets.
pub const SAME_LANGUAGE_LEXICAL: f64 = 0.2;

/// Share of the normalised BM25 score for a document whose language differs from the query's
/// (both known). Chosen with [`SAME_LANGUAGE_LEXICAL`] on the same dev queries: 0 gives dense
/// alone on the cross-lingual sets; 0.01–0.03 lets a shared number or name break near-ties (R@1
/// +0.2–0.5 points on dev); from 0.05 the noise costs en→zh R@1 (−6 points at 0.1).
pub const CROSS_LANGUAGE_LEXICAL: f64 = 0.02;

/// Cosine mapped to 0; 1 maps to 1. Chosen with [`SAME_LANGUAGE_LEXICAL`] on the same dev queries
/// (multilingual-e5-small's cosines between a query and unrelated passages sit around 0.7–0.8, so
/// the floor stretches the part of the scale that discriminates).
pub const COSINE_FLOOR: f64 = 0.65;

/// The constants of [`fuse`]; `Default` gives the tuned ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionWeights {
    /// See [`SAME_LANGUAGE_LEXICAL`].
    pub same_language_lexical: f64,
    /// See [`CROSS_LANGUAGE_LEXICAL`].
    pub cross_language_lexical: f64,
    /// See [`COSINE_FLOOR`].
    pub cosine_floor: f64,
}

impl Default for FusionWeights {
    fn default() -> FusionWeights {
        FusionWeights {
            same_language_lexical: SAME_LANGUAGE_LEXICAL,
            cross_language_lexical: CROSS_LANGUAGE_LEXICAL,
            cosine_floor: COSINE_FLOOR,
        }
    }
}

/// The cosine of two embeddings rescaled from `weights.cosine_floor` (0) to 1 (1): the dense part of
/// a fused score before its share (matching's text signal uses it too).
pub fn dense_strength(cosine: f64, weights: &FusionWeights) -> f64 {
    let floor = weights.cosine_floor.min(1.0 - 1e-9);
    ((finite(cosine) - floor) / (1.0 - floor)).clamp(0.0, 1.0)
}

/// One hit of a ranker: the document's key, the ranker's raw score (BM25 or cosine), and the
/// document's language when known.
pub type Hit<'a, K> = (K, f64, Option<&'a LanguageTag>);

/// Fuses the lexical hits (BM25, best first) and the dense hits (cosine, best first) of one query
/// written in `query_language`; returns every document of either list once, best first, with its
/// fused score (in `[0, 1]`). A document counts as cross-language when its language is known and
/// the query's rules it out (another detected language, or another alphabet for a query too short
/// to detect). A key repeated within one list counts at its first position.
pub fn fuse<K: Ord + Clone + Hash>(
    lexical: &[Hit<'_, K>],
    dense: &[Hit<'_, K>],
    query_language: &TextLanguage,
    weights: &FusionWeights,
) -> Vec<(K, f64)> {
    let bm25_max = lexical
        .iter()
        .map(|(_, score, _)| finite(*score))
        .fold(0.0, f64::max);
    let lexical_norm = |score: f64| {
        if bm25_max > 0.0 {
            (finite(score).max(0.0) / bm25_max).min(1.0)
        } else {
            0.0
        }
    };
    let dense_norm = |cosine: f64| dense_strength(cosine, weights);

    if dense.is_empty() {
        return single(lexical, lexical_norm);
    }
    if lexical.is_empty() {
        return single(dense, dense_norm);
    }

    // key → (fused score, best position in either list)
    let mut fused: HashMap<&K, (f64, usize)> = HashMap::with_capacity(lexical.len() + dense.len());
    let mut seen: HashMap<&K, ()> = HashMap::with_capacity(lexical.len());
    for (position, (key, score, language)) in lexical.iter().enumerate() {
        if seen.insert(key, ()).is_some() {
            continue;
        }
        let cross = language.is_some_and(|language| query_language.rules_out(language));
        let share = if cross {
            weights.cross_language_lexical
        } else {
            weights.same_language_lexical
        };
        fused.insert(key, (share * lexical_norm(*score), position));
    }
    let dense_share = 1.0 - weights.same_language_lexical;
    let mut seen: HashMap<&K, ()> = HashMap::with_capacity(dense.len());
    for (position, (key, cosine, _)) in dense.iter().enumerate() {
        if seen.insert(key, ()).is_some() {
            continue;
        }
        let entry = fused.entry(key).or_insert((0.0, position));
        entry.0 += dense_share * dense_norm(*cosine);
        entry.1 = entry.1.min(position);
    }
    let mut out: Vec<(&K, f64, usize)> = fused
        .into_iter()
        .map(|(key, (score, position))| (key, score, position))
        .collect();
    out.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(a.2.cmp(&b.2))
            .then_with(|| a.0.cmp(b.0))
    });
    out.into_iter()
        .map(|(key, score, _)| (key.clone(), score))
        .collect()
}

/// One list alone: its own order (first occurrence of each key), normalised scores.
fn single<K: Ord + Clone + Hash>(hits: &[Hit<'_, K>], norm: impl Fn(f64) -> f64) -> Vec<(K, f64)> {
    let mut seen: HashMap<&K, ()> = HashMap::with_capacity(hits.len());
    hits.iter()
        .filter(|(key, _, _)| seen.insert(key, ()).is_none())
        .map(|(key, score, _)| (key.clone(), norm(*score)))
        .collect()
}

/// NaN and infinities count as 0: a broken score never decides an order.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(code: &str) -> LanguageTag {
        LanguageTag::new(code).unwrap()
    }

    fn known(tag: &LanguageTag) -> TextLanguage {
        TextLanguage::Known(tag.clone())
    }

    fn hits<'a>(
        rows: &[(&'static str, f64)],
        language: &'a LanguageTag,
    ) -> Vec<Hit<'a, &'static str>> {
        rows.iter().map(|(k, s)| (*k, *s, Some(language))).collect()
    }

    fn keys<K: Clone>(fused: &[(K, f64)]) -> Vec<K> {
        fused.iter().map(|(k, _)| k.clone()).collect()
    }

    #[test]
    fn deterministic_whatever_the_hash_order() {
        let en = tag("en");
        let lexical = hits(&[("a", 9.0), ("b", 7.0), ("c", 7.0), ("d", 1.0)], &en);
        let dense = hits(&[("c", 0.9), ("e", 0.9), ("a", 0.8), ("f", 0.8)], &en);
        let first = fuse(&lexical, &dense, &known(&en), &FusionWeights::default());
        for _ in 0..20 {
            assert_eq!(
                fuse(&lexical, &dense, &known(&en), &FusionWeights::default()),
                first
            );
        }
        assert_eq!(first.len(), 6);
        for pair in first.windows(2) {
            assert!(pair[0].1 >= pair[1].1);
        }
    }

    #[test]
    fn equal_scores_keep_the_best_position_then_the_key() {
        let en = tag("en");
        // Same lexical score, nothing dense: only positions and keys can decide.
        let lexical = hits(&[("z", 5.0), ("y", 5.0)], &en);
        let dense = hits(&[("x", 0.0), ("w", 0.0)], &en);
        let fused = fuse(&lexical, &dense, &known(&en), &FusionWeights::default());
        // z and y tie on score, z came first; x and w tie on score and position 0/1 → x then w.
        assert_eq!(keys(&fused), vec!["z", "y", "x", "w"]);
    }

    #[test]
    fn a_document_in_both_lists_outranks_one_in_only_one_at_equal_ranks() {
        let en = tag("en");
        let lexical = hits(&[("only-lexical", 8.0), ("both", 8.0)], &en);
        let dense = hits(&[("only-dense", 0.85), ("both", 0.85)], &en);
        let fused = fuse(&lexical, &dense, &known(&en), &FusionWeights::default());
        assert_eq!(fused[0].0, "both");
        // Also across languages, where the lexical share is small but positive.
        let zh = tag("zh");
        let lexical = hits(&[("only-lexical", 8.0), ("both", 8.0)], &zh);
        let dense = hits(&[("only-dense", 0.85), ("both", 0.85)], &zh);
        let fused = fuse(&lexical, &dense, &known(&en), &FusionWeights::default());
        assert_eq!(fused[0].0, "both");
    }

    #[test]
    fn without_a_dense_list_the_order_is_the_lexical_order() {
        let en = tag("en");
        let zh = tag("zh");
        let lexical: Vec<Hit<'_, u32>> = vec![
            (3, 12.0, Some(&zh)),
            (1, 9.5, Some(&en)),
            (2, 9.5, Some(&en)),
            (7, 0.1, None),
        ];
        let fused = fuse(&lexical, &[], &known(&en), &FusionWeights::default());
        assert_eq!(keys(&fused), vec![3, 1, 2, 7]);
        assert_eq!(fused[0].1, 1.0);
    }

    #[test]
    fn without_a_lexical_list_the_order_is_the_dense_order() {
        let en = tag("en");
        // Two cosines below the floor tie at 0 after normalisation: the dense order still holds.
        let dense: Vec<Hit<'_, u32>> = vec![
            (5, 0.91, Some(&en)),
            (4, 0.88, Some(&en)),
            (9, 0.30, Some(&en)),
            (8, 0.20, Some(&en)),
        ];
        let fused = fuse(&[], &dense, &known(&en), &FusionWeights::default());
        assert_eq!(keys(&fused), vec![5, 4, 9, 8]);
        assert!(
            fuse::<u32>(&[], &[], &TextLanguage::Unknown, &FusionWeights::default()).is_empty()
        );
    }

    #[test]
    fn cross_language_lexical_hits_weigh_less_than_same_language_ones() {
        let en = tag("en");
        let zh = tag("zh");
        let lexical: Vec<Hit<'_, &str>> =
            vec![("chinese", 10.0, Some(&zh)), ("english", 10.0, Some(&en))];
        let dense: Vec<Hit<'_, &str>> =
            vec![("chinese", 0.8, Some(&zh)), ("english", 0.8, Some(&en))];
        let fused = fuse(&lexical, &dense, &known(&en), &FusionWeights::default());
        assert_eq!(keys(&fused), vec!["english", "chinese"]);
        // An unknown query language trusts lexical hits in every language alike.
        let fused = fuse(
            &lexical,
            &dense,
            &TextLanguage::Unknown,
            &FusionWeights::default(),
        );
        assert_eq!(fused[0].1, fused[1].1);
        // A query too short to detect still rules out the languages of another alphabet.
        let latin = TextLanguage::Alphabet(crate::Alphabet::Latin);
        let fused = fuse(&lexical, &dense, &latin, &FusionWeights::default());
        assert_eq!(keys(&fused), vec!["english", "chinese"]);
    }

    #[test]
    fn repeated_keys_and_broken_scores_are_harmless() {
        let en = tag("en");
        let lexical = hits(&[("a", f64::NAN), ("b", 3.0), ("a", 100.0)], &en);
        let dense = hits(&[("b", f64::INFINITY), ("a", 0.9), ("b", 0.99)], &en);
        let fused = fuse(&lexical, &dense, &known(&en), &FusionWeights::default());
        assert_eq!(fused.len(), 2);
        assert!(
            fused
                .iter()
                .all(|(_, s)| s.is_finite() && (0.0..=1.0).contains(s))
        );
    }

    #[test]
    fn scores_stay_within_zero_and_one() {
        let en = tag("en");
        let lexical = hits(&[("a", 30.0), ("b", 3.0)], &en);
        let dense = hits(&[("a", 1.0), ("c", 0.75)], &en);
        let fused = fuse(&lexical, &dense, &known(&en), &FusionWeights::default());
        assert_eq!(fused[0], ("a", 1.0));
        assert!(fused.iter().all(|(_, s)| (0.0..=1.0).contains(s)));
    }
}
