//! Why a pair was ranked where it was (matching spec, "Explanations"): each signal's contribution,
//! the matched terms, what the two listings share, and any near miss.

use serde::Serialize;

use super::{Match, MatchSide, MeaningNote, Weights, meaning_note};
use crate::{Cooperation, Sector, TechnologyField, Timestamp};

/// One signal's part in a directed score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalContribution {
    /// Signal name (`text`, `technology`, ...).
    pub signal: &'static str,
    /// Its value in [0, 1]; `null` when one side gives nothing to judge by (it then counts neither
    /// way, and its weight is left out of the mean).
    pub value: Option<f32>,
    /// Its weight.
    pub weight: f32,
    /// `weight × value / Σ weights of the known signals`: what it added to the score.
    pub contribution: f32,
}

/// The reasons for one match, readable by people and stable as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// s(query→candidate).
    pub forward: f32,
    /// s(candidate→query).
    pub backward: f32,
    /// Harmonic mean of both.
    pub reciprocal: f32,
    /// Contributions to s(query→candidate), largest first.
    pub signals: Vec<SignalContribution>,
    /// Query terms found in the candidate's text.
    pub matched_terms: Vec<String>,
    /// WIPO fields both listings name.
    pub shared_technology_fields: Vec<TechnologyField>,
    /// NACE sections both name.
    pub shared_sectors: Vec<Sector>,
    /// The candidate's keywords that match the query's (after normalisation).
    pub shared_keywords: Vec<String>,
    /// Cooperation types both accept.
    pub cooperation: Vec<Cooperation>,
    /// Soft constraints only just met, or worth a second look.
    pub near_misses: Vec<String>,
    /// How similar the two are in meaning (embeddings), and whether that, not shared words, carried
    /// the text signal; absent when either side has no embedding yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<MeaningNote>,
}

/// Builds the explanation of `found`, a match of `candidate` for `query`.
pub fn explain(
    query: &MatchSide,
    candidate: &MatchSide,
    found: &Match,
    weights: &Weights,
    now: Timestamp,
) -> Explanation {
    let known = weights.known_total(&found.forward.signals);
    let mut signals: Vec<SignalContribution> = weights
        .named()
        .iter()
        .zip(found.forward.signals)
        .map(|((signal, weight), value)| SignalContribution {
            signal,
            value,
            weight: *weight,
            contribution: match value {
                Some(value) if known > 0.0 => weight * value / known,
                _ => 0.0,
            },
        })
        .collect();
    signals.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    let (q, c) = (&query.listing.body, &candidate.listing.body);
    let shared_keywords = candidate
        .keyword_keys
        .iter()
        .filter(|(key, _)| query.keyword_keys.contains_key(*key))
        .map(|(_, keyword)| keyword.clone())
        .collect();
    let mut near_misses = Vec::new();
    if let Some((need, offer)) = super::as_need_and_offer(&query.listing, &candidate.listing) {
        let (need_trl, offer_trl) = (need.body.readiness().get(), offer.body.readiness().get());
        if offer_trl == need_trl && need_trl > 1 {
            near_misses.push(format!(
                "the offer is exactly at the need's minimum readiness (TRL {offer_trl})"
            ));
        } else if offer_trl >= need_trl + 4 {
            near_misses.push(format!("the offer (TRL {offer_trl}) is far more mature than the need's minimum (TRL {need_trl})"));
        }
    }
    if found.forward.signals[1].is_some_and(|value| value > 0.0)
        && !q
            .technology_fields
            .iter()
            .any(|field| c.technology_fields.contains(field))
    {
        near_misses.push("related technology area, but no technology field in common".into());
    }
    if let Some(expiry) = candidate.listing.expires_at
        && expiry < now.plus_days(14)
    {
        near_misses.push(format!("the candidate expires on {}", expiry.to_rfc3339()));
    }
    Explanation {
        forward: found.forward.score,
        backward: found.backward.score,
        reciprocal: found.reciprocal,
        signals,
        matched_terms: found.forward.matched_terms.clone(),
        shared_technology_fields: q
            .technology_fields
            .iter()
            .filter(|field| c.technology_fields.contains(field))
            .copied()
            .collect(),
        shared_sectors: q
            .sectors
            .iter()
            .filter(|sector| c.sectors.contains(sector))
            .copied()
            .collect(),
        shared_keywords,
        cooperation: q
            .cooperation
            .intersection(&c.cooperation)
            .copied()
            .collect(),
        near_misses,
        meaning: meaning_note(
            &query.listing,
            &candidate.listing,
            found.forward.lexical,
            found.similarity,
            &weights.meaning,
        ),
    }
}
