//! The end-of-run report: what was ranked, how good the best candidates are, how long it took.
//! Built by streaming over the finished chunks, in constant memory (a fixed histogram, no score list).

use serde::{Deserialize, Serialize};

use super::Ranked;

/// Histogram bins over [0, 1] used for the score quantiles (their precision is 1/BINS).
const BINS: usize = 1000;

/// Distribution of every recommended candidate's score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreDistribution {
    /// Candidates recommended.
    pub count: u64,
    /// Lowest score.
    pub min: f32,
    /// Quantiles 10, 25, 50, 75, 90 (upper edge of a 1/1000-wide bin).
    pub p10: f32,
    /// 25th percentile.
    pub p25: f32,
    /// Median.
    pub p50: f32,
    /// 75th percentile.
    pub p75: f32,
    /// 90th percentile.
    pub p90: f32,
    /// Highest score.
    pub max: f32,
    /// Counts in ten equal bins over [0, 1]: `[0, 0.1)`, …, `[0.9, 1]`.
    pub deciles: [u64; 10],
}

/// What `summary.json` holds and the command prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The run.
    pub run_id: String,
    /// `needs`, `offers` or `both`.
    pub direction: String,
    /// Candidates per listing.
    pub k: usize,
    /// `I/N` when a shard.
    pub partition: Option<String>,
    /// Reference time of the ranking (RFC 3339).
    pub ranked_at: String,
    /// Store change sequence number the plan was taken at.
    pub store_seq: u64,
    /// Listings in the output.
    pub listings: u64,
    /// Of which needs.
    pub needs: u64,
    /// Of which offers.
    pub offers: u64,
    /// Listings ranked by this run (the rest were carried over by `--since-last-run`).
    pub ranked: u64,
    /// Listings whose previous list was still valid.
    pub carried_over: u64,
    /// Listings with no candidate at all.
    pub without_candidates: u64,
    /// The threshold of `needs_above_threshold`.
    pub threshold: f32,
    /// Needs whose best candidate scores at least `threshold`.
    pub needs_above_threshold: u64,
    /// `needs_above_threshold / needs` (0 when no needs).
    pub share_of_needs_above_threshold: f64,
    /// Scores of all recommended candidates.
    pub scores: ScoreDistribution,
    /// Planned listings found withdrawn or expired (at the reference time) when their turn came.
    pub dropped: u64,
    /// Listings in the output whose publication has lapsed since the reference time.
    pub expired_since_ranked_at: u64,
    /// Whether this process continued an interrupted run.
    pub resumed: bool,
    /// Wall-clock seconds of this process's part of the run.
    pub duration_seconds: f64,
    /// Listings ranked per second by this process.
    pub listings_per_second: f64,
}

/// Accumulates a summary while the output is assembled.
pub(crate) struct Tally {
    histogram: Vec<u64>,
    min: f32,
    max: f32,
    count: u64,
    pub listings: u64,
    pub needs: u64,
    pub offers: u64,
    pub without_candidates: u64,
    pub needs_above_threshold: u64,
    threshold: f32,
}

impl Tally {
    pub fn new(threshold: f32) -> Tally {
        Tally {
            histogram: vec![0; BINS],
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            count: 0,
            listings: 0,
            needs: 0,
            offers: 0,
            without_candidates: 0,
            needs_above_threshold: 0,
            threshold,
        }
    }

    pub fn add(&mut self, ranked: &Ranked) {
        self.listings += 1;
        let best = ranked.candidates.first().map(|candidate| candidate.score);
        if ranked.kind == "need" {
            self.needs += 1;
            if best.is_some_and(|score| score >= self.threshold) {
                self.needs_above_threshold += 1;
            }
        } else {
            self.offers += 1;
        }
        if best.is_none() {
            self.without_candidates += 1;
        }
        for candidate in &ranked.candidates {
            let score = candidate.score;
            self.count += 1;
            self.min = self.min.min(score);
            self.max = self.max.max(score);
            self.histogram[bin(score, BINS)] += 1;
        }
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn share_above_threshold(&self) -> f64 {
        if self.needs == 0 {
            0.0
        } else {
            self.needs_above_threshold as f64 / self.needs as f64
        }
    }

    pub fn distribution(&self) -> ScoreDistribution {
        let quantile = |q: f64| -> f32 {
            if self.count == 0 {
                return 0.0;
            }
            let target = (q * self.count as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (index, count) in self.histogram.iter().enumerate() {
                seen += count;
                if seen >= target {
                    return ((index + 1) as f32 / BINS as f32).min(self.max);
                }
            }
            self.max
        };
        let mut deciles = [0u64; 10];
        for (index, count) in self.histogram.iter().enumerate() {
            deciles[index * 10 / BINS] += count;
        }
        ScoreDistribution {
            count: self.count,
            min: if self.count == 0 { 0.0 } else { self.min },
            p10: quantile(0.10),
            p25: quantile(0.25),
            p50: quantile(0.50),
            p75: quantile(0.75),
            p90: quantile(0.90),
            max: if self.count == 0 { 0.0 } else { self.max },
            deciles,
        }
    }
}

fn bin(score: f32, bins: usize) -> usize {
    if score.is_nan() || score <= 0.0 {
        0
    } else {
        ((score * bins as f32) as usize).min(bins - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Candidate;

    fn ranked(kind: &str, scores: &[f32]) -> Ranked {
        Ranked {
            id: "x".into(),
            kind: kind.into(),
            candidates: scores
                .iter()
                .enumerate()
                .map(|(rank, score)| Candidate {
                    rank: rank as u32 + 1,
                    id: format!("c{rank}"),
                    external_id: None,
                    kind: "offer".into(),
                    title: String::new(),
                    score: *score,
                    forward: *score,
                    backward: *score,
                    summary: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn tally_counts_needs_above_threshold_and_quantiles() {
        let mut tally = Tally::new(0.5);
        tally.add(&ranked("need", &[0.9, 0.2]));
        tally.add(&ranked("need", &[0.4]));
        tally.add(&ranked("need", &[]));
        tally.add(&ranked("offer", &[0.6]));
        assert_eq!(
            (tally.needs, tally.offers, tally.needs_above_threshold),
            (3, 1, 1)
        );
        assert_eq!(tally.without_candidates, 1);
        let distribution = tally.distribution();
        assert_eq!(distribution.count, 4);
        assert_eq!((distribution.min, distribution.max), (0.2, 0.9));
        assert!(
            (distribution.p50 - 0.401).abs() < 1e-6,
            "{}",
            distribution.p50
        );
        assert_eq!(distribution.deciles.iter().sum::<u64>(), 4);
        assert_eq!(distribution.deciles[9], 1);
    }
}
