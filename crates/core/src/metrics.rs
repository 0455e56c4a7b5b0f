//! Retrieval metrics, computed exactly as `../shared/eval/score.py` (and trec_eval) do, so numbers
//! printed by `silkmatch eval` can be compared with any other system scored by that script.

use std::collections::BTreeMap;

use serde::Serialize;

/// Graded judgements: query id → document id → gain (> 0 is relevant).
pub type Qrels = BTreeMap<String, BTreeMap<String, f64>>;

/// A run: query id → (document id, score) pairs, any order.
pub type Run = BTreeMap<String, Vec<(String, f64)>>;

/// Averages over every judged query (a query missing from the run scores 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// nDCG@10 with linear gain.
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    /// Recall@100.
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    /// MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
    /// Queries averaged over.
    pub queries: usize,
}

/// Orders one query's results like trec_eval: score descending, ties by document id descending,
/// each document once.
fn ranked(results: &[(String, f64)]) -> Vec<&str> {
    let mut sorted: Vec<&(String, f64)> = results.iter().collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let mut seen = std::collections::BTreeSet::new();
    sorted
        .into_iter()
        .map(|(doc, _)| doc.as_str())
        .filter(|doc| seen.insert(*doc))
        .collect()
}

/// Scores a run against judgements.
pub fn evaluate(qrels: &Qrels, run: &Run) -> Metrics {
    let judged: Vec<(&String, &BTreeMap<String, f64>)> = qrels
        .iter()
        .filter(|(_, docs)| docs.values().any(|gain| *gain > 0.0))
        .collect();
    let mut totals = (0.0, 0.0, 0.0);
    for (query, gains) in &judged {
        let ranking = run
            .get(*query)
            .map(|results| ranked(results))
            .unwrap_or_default();
        let gain_of = |doc: &str| {
            gains
                .get(doc)
                .copied()
                .filter(|gain| *gain > 0.0)
                .unwrap_or(0.0)
        };
        let dcg: f64 = ranking
            .iter()
            .take(10)
            .enumerate()
            .map(|(idx, doc)| gain_of(doc) / (idx as f64 + 2.0).log2())
            .sum();
        let mut ideal: Vec<f64> = gains.values().copied().filter(|gain| *gain > 0.0).collect();
        ideal.sort_by(|a, b| b.total_cmp(a));
        let idcg: f64 = ideal
            .iter()
            .take(10)
            .enumerate()
            .map(|(idx, gain)| gain / (idx as f64 + 2.0).log2())
            .sum();
        let relevant = ideal.len() as f64;
        let found = ranking
            .iter()
            .take(100)
            .filter(|doc| gain_of(doc) > 0.0)
            .count() as f64;
        let first = ranking.iter().take(10).position(|doc| gain_of(doc) > 0.0);
        totals.0 += if idcg > 0.0 { dcg / idcg } else { 0.0 };
        totals.1 += found / relevant;
        totals.2 += first.map_or(0.0, |idx| 1.0 / (idx as f64 + 1.0));
    }
    let n = judged.len().max(1) as f64;
    Metrics {
        ndcg_at_10: totals.0 / n,
        recall_at_100: totals.1 / n,
        mrr_at_10: totals.2 / n,
        queries: judged.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qrels(rows: &[(&str, &str, f64)]) -> Qrels {
        let mut qrels = Qrels::new();
        for (query, doc, gain) in rows {
            qrels
                .entry(query.to_string())
                .or_default()
                .insert(doc.to_string(), *gain);
        }
        qrels
    }

    #[test]
    fn perfect_and_empty_runs() {
        let judgements = qrels(&[("q1", "d1", 2.0), ("q1", "d2", 1.0)]);
        let mut run = Run::new();
        run.insert("q1".into(), vec![("d1".into(), 2.0), ("d2".into(), 1.0)]);
        let metrics = evaluate(&judgements, &run);
        assert!(
            (metrics.ndcg_at_10 - 1.0).abs() < 1e-12
                && metrics.recall_at_100 == 1.0
                && metrics.mrr_at_10 == 1.0
        );
        assert_eq!(evaluate(&judgements, &Run::new()).ndcg_at_10, 0.0);
    }

    #[test] // score.py breaks ties by document id, descending.
    fn ties_follow_trec_eval() {
        let judgements = qrels(&[("q1", "a", 1.0)]);
        let mut run = Run::new();
        run.insert("q1".into(), vec![("a".into(), 1.0), ("b".into(), 1.0)]);
        assert_eq!(evaluate(&judgements, &run).mrr_at_10, 0.5);
    }
}
