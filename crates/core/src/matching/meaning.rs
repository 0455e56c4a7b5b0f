//! Meaning: the cosine similarity of two listings' multilingual sentence embeddings, folded into the
//! text signal so that a pair written in two languages, or in other words for the same thing, can
//! score on text without sharing a term. The embeddings themselves are computed elsewhere (the
//! `embed` crate, through the index); here the similarity is only a number.

use serde::{Deserialize, Serialize};

use crate::fusion::{FusionWeights, dense_strength};
use crate::{Kind, LanguageTag, Listing};

/// How a pair's text signal fuses shared terms and meaning; read from the weights file's
/// `[meaning]` table. The parts are search's (`crate::fusion`): the lexical score (BM25 of shared
/// terms, normalised per query) with a share that depends on whether the two listings can be read in
/// one language, and the cosine of their embeddings rescaled from a floor. One departure: search
/// gives meaning the same share for every document of its one ranked list, so a document in another
/// language can score at most `cross + (1 − same)`; a pair's text signal is a convex mix for each
/// pair (`share · lexical + (1 − share) · meaning`), so a partner in another language can reach the
/// same text signal as one in the query's language. A candidate pool mixes languages, and structure
/// adds to the text: with search's form, a Chinese offer that is exactly what an English need asks
/// for ranked below English offers sharing one word with it (docs/matching.md). Meaning always counts
/// when both sides have a vector; there is no threshold below which it is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeaningFusion {
    /// Share of the lexical score when the two listings share a language; meaning has `1 −` this.
    pub same_language_lexical: f32,
    /// Share of the lexical score when they share none: shared terms across languages are mostly
    /// numbers and names, so this is small.
    pub cross_language_lexical: f32,
    /// The cosine mapped to 0 (1 maps to 1): multilingual-e5 rarely puts two texts below it, so the
    /// part of the scale that discriminates is stretched over the whole signal.
    pub cosine_floor: f32,
}

impl MeaningFusion {
    /// What a weights file without meaning means: the text signal is lexical only.
    pub const LEXICAL_ONLY: MeaningFusion = MeaningFusion {
        same_language_lexical: 1.0,
        cross_language_lexical: 1.0,
        cosine_floor: 0.65,
    };

    /// Checks the values a weights file gave.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("same_language_lexical", self.same_language_lexical),
            ("cross_language_lexical", self.cross_language_lexical),
        ] {
            if !value.is_finite() || !(0.0..=1.0).contains(&value) {
                return Err(format!("meaning `{name}` must be in [0, 1]; got {value}"));
            }
        }
        if !self.cosine_floor.is_finite() || !(0.0..1.0).contains(&self.cosine_floor) {
            return Err(format!(
                "meaning `cosine_floor` must be in [0, 1); got {}",
                self.cosine_floor
            ));
        }
        Ok(())
    }

    /// The same constants as `crate::fusion` takes them.
    pub fn as_fusion(&self) -> FusionWeights {
        FusionWeights {
            same_language_lexical: f64::from(self.same_language_lexical),
            cross_language_lexical: f64::from(self.cross_language_lexical),
            cosine_floor: f64::from(self.cosine_floor),
        }
    }

    /// The similarity rescaled from the floor: 0 at or below it, 1 for identical meaning.
    pub fn strength(&self, similarity: f32) -> f32 {
        dense_strength(f64::from(similarity), &self.as_fusion()) as f32
    }

    /// The lexical share of a pair's text signal.
    pub fn lexical_share(&self, same_language: bool) -> f32 {
        if same_language {
            self.same_language_lexical
        } else {
            self.cross_language_lexical
        }
    }

    /// The text signal of a pair from its lexical score (in [0, 1]) and, when both sides have
    /// embeddings, their similarity; `same_language` when the two can be read in one language.
    pub fn text_signal(&self, lexical: f32, similarity: Option<f32>, same_language: bool) -> f32 {
        match similarity {
            None => lexical,
            Some(similarity) => {
                let share = self.lexical_share(same_language);
                share * lexical.clamp(0.0, 1.0) + self.meaning_part(similarity, same_language)
            }
        }
    }

    /// How much of the text signal meaning carries at this similarity.
    pub fn meaning_part(&self, similarity: f32, same_language: bool) -> f32 {
        (1.0 - self.lexical_share(same_language)) * self.strength(similarity)
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
    let cross_language = !shares_a_language(query, candidate);
    let decisive = fusion.meaning_part(similarity, !cross_language)
        > fusion.lexical_share(!cross_language) * lexical;
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
        same_language_lexical: 0.2,
        cross_language_lexical: 0.02,
        cosine_floor: 0.65,
    };

    #[test]
    fn the_text_signal_mixes_terms_and_meaning_for_each_pair() {
        // Same language: 0.2 of the lexical score and 0.8 of the rescaled cosine.
        let text = FUSION.text_signal(0.5, Some(0.825), true);
        assert!((text - (0.2 * 0.5 + 0.8 * 0.5)).abs() < 1e-6, "{text}");
        // Across languages shared terms count for little, and meaning for the rest: a pair in two
        // languages can reach what a pair in one can.
        let text = FUSION.text_signal(0.5, Some(0.825), false);
        assert!((text - (0.02 * 0.5 + 0.98 * 0.5)).abs() < 1e-6, "{text}");
        assert_eq!(FUSION.text_signal(1.0, Some(1.0), false), 1.0);
        assert_eq!(FUSION.text_signal(1.0, Some(1.0), true), 1.0);
        // Without vectors the lexical score is the signal; meaning always counts when there are.
        assert_eq!(FUSION.text_signal(0.3, None, true), 0.3);
        assert!(FUSION.text_signal(0.0, Some(0.7), false) > 0.0);
        for lexical in [0.0, 0.3, 1.0] {
            for similarity in [-1.0, 0.0, 0.65, 0.9, 1.0] {
                for same in [true, false] {
                    let text = FUSION.text_signal(lexical, Some(similarity), same);
                    assert!((0.0..=1.0).contains(&text), "{lexical} {similarity} {text}");
                }
            }
        }
        assert_eq!(
            MeaningFusion::LEXICAL_ONLY.text_signal(0.4, Some(1.0), false),
            0.4
        );
    }

    #[test]
    fn strength_rescales_from_the_floor() {
        assert_eq!(FUSION.strength(0.5), 0.0);
        assert_eq!(FUSION.strength(0.65), 0.0);
        assert!((FUSION.strength(0.825) - 0.5).abs() < 1e-6);
        assert_eq!(FUSION.strength(1.0), 1.0);
    }

    #[test]
    fn bad_values_are_refused() {
        let with = |same: f32, cross: f32, floor: f32| MeaningFusion {
            same_language_lexical: same,
            cross_language_lexical: cross,
            cosine_floor: floor,
        };
        assert!(with(0.2, 0.02, 1.0).validate().is_err());
        assert!(with(1.5, 0.02, 0.5).validate().is_err());
        assert!(with(0.2, f32::NAN, 0.5).validate().is_err());
        assert!(FUSION.validate().is_ok());
    }
}
