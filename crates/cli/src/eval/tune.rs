//! `eval match --tune`: the weights chosen on the dev splits of every set given, together.
//!
//! Coordinate ascent: each parameter in turn is tried at each value of its grid and kept where the
//! objective is best, until a round changes nothing (at most four). The objective is the mean over
//! the tuned sets of the mean nDCG@10 of the full and reciprocal rankers over the set's judged
//! directions, on dev queries only, with two rules:
//! - a set whose full or reciprocal ranker falls below its own text-only ranker or the plain BM25
//!   baseline on dev costs the shortfall four times over, so no set is bought with another's loss;
//! - a set given with `--hold DIR=FLOOR` (a generated set, which tests rules and must not choose
//!   weights) adds nothing, but costs four times any shortfall of its full or reciprocal ranker
//!   below the floor.

use silkmatch_core::Timestamp;
use silkmatch_core::matching::Weights;

use super::matchset::{LoadedSet, PreparedQuery, score};

/// Multiples tried for each signal weight.
const FACTORS: [f32; 9] = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0];

/// How much a shortfall costs, per point.
const LOSS_PENALTY: f64 = 4.0;

/// The values tried for parameter `idx` of `weights` (`None` past the last parameter).
fn candidates(weights: &Weights, idx: usize) -> Option<Vec<Weights>> {
    let with = |set: &dyn Fn(&mut Weights, f32), values: &[f32]| {
        values
            .iter()
            .map(|value| {
                let mut candidate = *weights;
                set(&mut candidate, *value);
                candidate
            })
            .collect::<Vec<Weights>>()
    };
    let scaled = |current: f32| -> Vec<f32> {
        FACTORS
            .iter()
            .map(|factor| {
                if current == 0.0 {
                    0.05 * factor
                } else {
                    current * factor
                }
            })
            .collect()
    };
    Some(match idx {
        0 => with(&|w, v| w.text = v, &scaled(weights.text)),
        1 => with(&|w, v| w.technology = v, &scaled(weights.technology)),
        2 => with(&|w, v| w.keywords = v, &scaled(weights.keywords)),
        3 => with(&|w, v| w.sector = v, &scaled(weights.sector)),
        4 => with(&|w, v| w.readiness = v, &scaled(weights.readiness)),
        5 => with(&|w, v| w.partner = v, &scaled(weights.partner)),
        6 => with(&|w, v| w.freshness = v, &scaled(weights.freshness)),
        7 => with(
            &|w, v| {
                w.meaning.same_language_lexical = v;
                w.meaning.cross_language_lexical = w.meaning.cross_language_lexical.min(v);
            },
            &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        ),
        8 => with(
            &|w, v| w.meaning.cross_language_lexical = v.min(w.meaning.same_language_lexical),
            &[0.0, 0.02, 0.05, 0.1, 0.2],
        ),
        9 => with(
            &|w, v| w.meaning.cosine_floor = v,
            &[0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85],
        ),
        _ => return None,
    })
}

/// The objective on the dev queries of `sets` (see the module docs), and each set's part in it.
pub(super) fn objective(sets: &[LoadedSet], weights: &Weights, now: Timestamp) -> (f64, Vec<f64>) {
    let mut per_set = Vec::with_capacity(sets.len());
    let mut penalty = 0.0;
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
            let model = [ndcg("full"), ndcg("reciprocal")];
            let floor = set
                .hold
                .unwrap_or_else(|| ndcg("text_only").max(ndcg("bm25")));
            let shortfall: f64 = model.iter().map(|ndcg| (floor - ndcg).max(0.0)).sum();
            penalty += LOSS_PENALTY * shortfall;
            value += model.iter().sum::<f64>() / 2.0;
            directions += 1;
        }
        per_set.push(value / f64::from(directions.max(1)));
    }
    let tuned: Vec<f64> = sets
        .iter()
        .zip(&per_set)
        .filter(|(set, _)| set.hold.is_none())
        .map(|(_, value)| *value)
        .collect();
    let mean = tuned.iter().sum::<f64>() / tuned.len().max(1) as f64;
    (mean - penalty, per_set)
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
            for candidate in candidates(&best, idx).unwrap_or_default() {
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
        let role = if set.hold.is_some() { " (held)" } else { "" };
        eprintln!(
            "tuned: {}{role} dev mean nDCG@10 of full and reciprocal {value:.4}",
            set.name
        );
    }
    best
}
