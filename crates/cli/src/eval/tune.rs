//! `eval match --tune`: the weights chosen on the dev splits of every set given, together.
//!
//! Coordinate ascent: each parameter in turn is tried at a few multiples of its value and kept where
//! the objective is best, for a few rounds. The objective is the mean over sets of the mean
//! nDCG@10 of the full and reciprocal rankers over the set's judged directions, on dev queries
//! only, with one rule: a set whose full or reciprocal ranker falls below its own text-only ranker
//! (or the plain BM25 baseline) on dev costs the shortfall four times over, so no set is bought
//! with another's loss.

use silkmatch_core::Timestamp;
use silkmatch_core::matching::Weights;

use super::matchset::{LoadedSet, PreparedQuery, score};

/// Multiples tried for each parameter.
const FACTORS: [f32; 8] = [0.0, 0.25, 0.5, 0.75, 1.25, 1.5, 2.0, 3.0];

/// How much a set's loss against its own text-only ranker or BM25 costs, per point.
const LOSS_PENALTY: f64 = 4.0;

/// The tunable parameters of `weights`, by index.
fn parameter(weights: &mut Weights, idx: usize) -> Option<(&'static str, &mut f32, f32, f32)> {
    // (name, value, lowest, highest)
    Some(match idx {
        0 => ("text", &mut weights.text, 0.0, f32::MAX),
        1 => ("technology", &mut weights.technology, 0.0, f32::MAX),
        2 => ("keywords", &mut weights.keywords, 0.0, f32::MAX),
        3 => ("sector", &mut weights.sector, 0.0, f32::MAX),
        4 => ("readiness", &mut weights.readiness, 0.0, f32::MAX),
        5 => ("partner", &mut weights.partner, 0.0, f32::MAX),
        6 => ("freshness", &mut weights.freshness, 0.0, f32::MAX),
        7 => (
            "same_language_lexical",
            &mut weights.meaning.same_language_lexical,
            0.0,
            1.0,
        ),
        8 => (
            "cross_language_lexical",
            &mut weights.meaning.cross_language_lexical,
            0.0,
            1.0,
        ),
        9 => ("cosine_floor", &mut weights.meaning.cosine_floor, 0.0, 0.95),
        _ => return None,
    })
}

/// The objective on the dev queries of `sets` (see the module docs), and each set's part in it.
pub(super) fn objective(sets: &[LoadedSet], weights: &Weights, now: Timestamp) -> (f64, Vec<f64>) {
    let mut per_set = Vec::with_capacity(sets.len());
    for set in sets {
        let dev: Vec<&PreparedQuery> = set
            .queries
            .iter()
            .filter(|query| query.split == "dev")
            .collect();
        let (report, _) = score(&dev, &set.qrels, weights, now, true);
        let mut value = 0.0;
        let mut directions = 0;
        for rankers in report.values() {
            let ndcg = |name: &str| rankers.get(name).map_or(0.0, |m| m.ndcg_at_10);
            let floor = ndcg("text_only").max(ndcg("bm25"));
            let model = [ndcg("full"), ndcg("reciprocal")];
            value += model.iter().sum::<f64>() / 2.0;
            value -= LOSS_PENALTY
                * model
                    .iter()
                    .map(|ndcg| (floor - ndcg).max(0.0))
                    .sum::<f64>();
            directions += 1;
        }
        per_set.push(value / f64::from(directions.max(1)));
    }
    let mean = per_set.iter().sum::<f64>() / per_set.len().max(1) as f64;
    (mean, per_set)
}

/// Coordinate ascent from `start` (see the module docs); meaning's parameters are tuned only when
/// the sets have listing vectors.
pub(super) fn tune(sets: &[LoadedSet], start: Weights, now: Timestamp) -> Weights {
    let with_meaning = sets.iter().any(|set| {
        set.queries
            .iter()
            .any(|query| !query.prepared.similarities.is_empty())
    });
    let parameters = if with_meaning { 10 } else { 7 };
    let mut best = start;
    let (mut best_value, _) = objective(sets, &best, now);
    eprintln!("tuning: start {best_value:.4}");
    for round in 0..4 {
        let before = best_value;
        for idx in 0..parameters {
            for factor in FACTORS {
                let mut candidate = best;
                let Some((_, slot, low, high)) = parameter(&mut candidate, idx) else {
                    continue;
                };
                let current = *slot;
                let tried = if current == 0.0 && factor > 1.0 {
                    0.05 * factor
                } else {
                    current * factor
                };
                *slot = tried.clamp(low, high);
                if candidate.total() <= 0.0 {
                    continue;
                }
                let (value, _) = objective(sets, &candidate, now);
                if value > best_value + 1e-6 {
                    best = candidate;
                    best_value = value;
                }
            }
        }
        eprintln!("tuning: round {} {best_value:.4}", round + 1);
        if best_value <= before + 1e-6 {
            break;
        }
    }
    let (_, per_set) = objective(sets, &best, now);
    for (set, value) in sets.iter().zip(per_set) {
        eprintln!("tuned: {} dev objective {value:.4}", set.name);
    }
    best
}
