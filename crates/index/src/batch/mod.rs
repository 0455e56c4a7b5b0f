//! Overnight batch ranking: every open listing's top-k candidates, written as JSONL and CSV and
//! stored for the API. The work is planned once (ids in order, a fixed reference time), cut into
//! chunks whose output files are the checkpoint, ranked in parallel within a chunk and concatenated
//! in order, so the output is the same whatever the thread count and however often the run was
//! killed and restarted. See `docs/batch.md`.

mod checkpoint;
mod incremental;
mod output;
mod plan;
mod run;
mod serve;
mod summary;

use serde::{Deserialize, Serialize};
use silkmatch_core::matching::Explanation;
use silkmatch_core::{Kind, Listing, Timestamp};

use crate::engine::Engine;
use crate::error::Result;
use crate::matching::MatchRequest;

pub use output::{csv_header, csv_rows, jsonl_line};
pub use plan::{Direction, Partition, match_cache_entries, plan_ids};
pub use run::{BatchOptions, Outcome, rank_ids, run, vectors_for_run};
pub use serve::{Recommendations, stored};
pub use summary::{ScoreDistribution, Summary};

/// One candidate in a listing's recommendations: public fields only (never contact details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// 1 for the best.
    pub rank: u32,
    /// The candidate's id.
    pub id: String,
    /// The candidate owner's own id for it, when given.
    pub external_id: Option<String>,
    /// `offer` or `need`.
    pub kind: String,
    /// The candidate's title.
    pub title: String,
    /// The score the ranking used (what `silkmatch match` shows).
    pub score: f32,
    /// How well the candidate serves the listing.
    pub forward: f32,
    /// How much the candidate would want the listing.
    pub backward: f32,
    /// The explanation in one line, for a spreadsheet or an e-mail.
    pub summary: String,
}

/// One listing's recommendations: one JSONL line, and one CSV row per candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// The listing ranked.
    pub id: String,
    /// `need` or `offer`.
    pub kind: String,
    /// Best first; at most k.
    pub candidates: Vec<Candidate>,
}

/// Ranks one listing: the single place batch ranking calls the matcher, so a faster shared match
/// context can replace `matches_for` here without touching planning, output or resumption. The
/// request is `silkmatch match`'s default apart from `k`, so a batch line equals what `match` says
/// for the same listing at the same `now`.
pub fn rank_one(engine: &Engine, listing: &Listing, k: usize, now: Timestamp) -> Result<Ranked> {
    let request = MatchRequest {
        k,
        explain: true,
        // Only a summary of the explanation is kept; highlighted snippets would be thrown away.
        snippets: false,
        ..MatchRequest::default()
    };
    let request = MatchRequest {
        candidates: request.candidates.max(k),
        ..request
    };
    let results = engine.matches_for(listing, &request, now)?;
    let candidates = results
        .matches
        .iter()
        .enumerate()
        .map(|(rank, found)| {
            let (forward, backward, summary) = match &found.explanation {
                Some(explanation) => (
                    explanation.forward,
                    explanation.backward,
                    summarise(explanation),
                ),
                None => (found.score, found.score, String::new()),
            };
            Candidate {
                rank: rank as u32 + 1,
                id: found.listing.id.clone(),
                external_id: found.listing.body.external_id.clone(),
                kind: found.listing.body.kind.as_str().to_owned(),
                title: found.listing.body.title.clone(),
                score: found.score,
                forward,
                backward,
                summary,
            }
        })
        .collect();
    Ok(Ranked {
        id: listing.id.clone(),
        kind: listing.body.kind.as_str().to_owned(),
        candidates,
    })
}

/// The kind a listing's candidates have.
pub(crate) fn partner_kind(kind: Kind) -> Kind {
    match kind {
        Kind::Need => Kind::Offer,
        Kind::Offer => Kind::Need,
    }
}

/// An explanation in one line: the strongest signals, then what the two listings share.
fn summarise(explanation: &Explanation) -> String {
    let mut parts: Vec<String> = Vec::new();
    let signals: Vec<String> = explanation
        .signals
        .iter()
        .filter(|signal| signal.contribution > 0.0)
        .take(3)
        .map(|signal| format!("{} {:.2}", signal.signal, signal.contribution))
        .collect();
    if !signals.is_empty() {
        parts.push(format!("signals: {}", signals.join(", ")));
    }
    if !explanation.shared_technology_fields.is_empty() {
        let fields: Vec<String> = explanation
            .shared_technology_fields
            .iter()
            .map(|field| format!("{} {}", field.get(), field.name()))
            .collect();
        parts.push(format!("fields: {}", fields.join(", ")));
    }
    if !explanation.shared_keywords.is_empty() {
        parts.push(format!(
            "keywords: {}",
            explanation.shared_keywords.join(", ")
        ));
    }
    if !explanation.matched_terms.is_empty() {
        let terms: Vec<&str> = explanation
            .matched_terms
            .iter()
            .take(8)
            .map(String::as_str)
            .collect();
        parts.push(format!("terms: {}", terms.join(", ")));
    }
    if !explanation.cooperation.is_empty() {
        let cooperation: Vec<String> = explanation
            .cooperation
            .iter()
            .map(ToString::to_string)
            .collect();
        parts.push(format!("cooperation: {}", cooperation.join(", ")));
    }
    parts.join("; ")
}
