//! Meaning: the cosine similarity of two listings' multilingual sentence embeddings, folded into the
//! text signal so that a pair written in two languages, or in other words for the same thing, can
//! score on text without sharing a term. The embeddings themselves are computed elsewhere (the
//! `embed` crate, through the index); here the similarity is only a number.

use serde::{Deserialize, Serialize};

use crate::{Kind, LanguageTag, Listing};

/// How meaning enters the text signal; read from the weights file's `[meaning]` table.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeaningFusion {
    /// Cosine similarity that counts as no shared meaning. multilingual-e5 puts unrelated texts at
    /// about 0.7–0.8, so similarities are rescaled from this floor to 1.
    pub floor: f32,
    /// How far the text signal follows meaning where meaning is stronger than shared terms: 0 keeps
    /// the lexical text signal, 1 takes the larger of the two.
    pub share: f32,
}

impl MeaningFusion {
    /// Checks the values a weights file gave.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !self.floor.is_finite() || !(0.0..1.0).contains(&self.floor) {
            return Err(format!(
                "meaning `floor` must be in [0, 1); got {}",
                self.floor
            ));
        }
        if !self.share.is_finite() || !(0.0..=1.0).contains(&self.share) {
            return Err(format!(
                "meaning `share` must be in [0, 1]; got {}",
                self.share
            ));
        }
        Ok(())
    }

    /// The similarity rescaled from the floor: 0 at or below it, 1 for identical meaning.
    pub fn strength(&self, similarity: f32) -> f32 {
        ((similarity - self.floor) / (1.0 - self.floor)).clamp(0.0, 1.0)
    }

    /// The text signal of a pair from its lexical text score and, when both sides have embeddings,
    /// their similarity. Never below the lexical score: meaning rescues pairs that share no words,
    /// it does not demote pairs that do.
    pub fn text_signal(&self, lexical: f32, similarity: Option<f32>) -> f32 {
        match similarity {
            None => lexical,
            Some(similarity) => {
                let meaning = self.strength(similarity);
                (1.0 - self.share) * lexical + self.share * lexical.max(meaning)
            }
        }
    }
}

/// Why a match's text signal came (partly) through meaning rather than shared words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeaningNote {
    /// Cosine similarity of the two listings' embeddings.
    pub similarity: f32,
    /// True when meaning, not shared terms, set the text signal.
    pub decisive: bool,
    /// True when the two listings have no language in common (translations included).
    pub cross_language: bool,
    /// One line for people, e.g. "matched by meaning: zh need ↔ en offer, similarity 0.87".
    pub summary: String,
}

/// The note for a pair, or `None` when there is no similarity to speak of.
pub fn meaning_note(
    query: &Listing,
    candidate: &Listing,
    lexical: f32,
    similarity: Option<f32>,
    fusion: &MeaningFusion,
) -> Option<MeaningNote> {
    let similarity = similarity?;
    let decisive = fusion.share > 0.0 && fusion.strength(similarity) > lexical;
    let cross_language = !shares_a_language(query, candidate);
    let side = |listing: &Listing| {
        let kind = match listing.body.kind {
            Kind::Need => "need",
            Kind::Offer => "offer",
        };
        format!("{} {kind}", listing.body.language.as_str())
    };
    let how = if decisive {
        "matched by meaning"
    } else {
        "similar in meaning"
    };
    Some(MeaningNote {
        similarity,
        decisive,
        cross_language,
        summary: format!(
            "{how}: {} ↔ {}, similarity {similarity:.2}",
            side(query),
            side(candidate)
        ),
    })
}

/// Every language a listing is readable in: its own and its translations'.
fn languages(listing: &Listing) -> impl Iterator<Item = &LanguageTag> {
    std::iter::once(&listing.body.language).chain(listing.body.translations.keys())
}

/// Whether two listings can be read in one common language.
pub fn shares_a_language(a: &Listing, b: &Listing) -> bool {
    languages(a).any(|language| languages(b).any(|other| other == language))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUSION: MeaningFusion = MeaningFusion {
        floor: 0.8,
        share: 1.0,
    };

    #[test]
    fn meaning_only_ever_raises_the_text_signal() {
        for lexical in [0.0, 0.3, 0.9] {
            for similarity in [0.0, 0.75, 0.85, 0.95, 1.0] {
                let text = FUSION.text_signal(lexical, Some(similarity));
                assert!(
                    text >= lexical && text <= 1.0,
                    "{lexical} {similarity} {text}"
                );
            }
            assert_eq!(FUSION.text_signal(lexical, None), lexical);
        }
        let off = MeaningFusion {
            share: 0.0,
            ..FUSION
        };
        assert_eq!(off.text_signal(0.2, Some(1.0)), 0.2);
    }

    #[test]
    fn strength_rescales_from_the_floor() {
        assert_eq!(FUSION.strength(0.5), 0.0);
        assert_eq!(FUSION.strength(0.8), 0.0);
        assert!((FUSION.strength(0.9) - 0.5).abs() < 1e-6);
        assert_eq!(FUSION.strength(1.0), 1.0);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(
            MeaningFusion {
                floor: 1.0,
                share: 0.5
            }
            .validate()
            .is_err()
        );
        assert!(
            MeaningFusion {
                floor: 0.5,
                share: 1.5
            }
            .validate()
            .is_err()
        );
        assert!(
            MeaningFusion {
                floor: f32::NAN,
                share: 0.5
            }
            .validate()
            .is_err()
        );
        assert!(FUSION.validate().is_ok());
    }
}
