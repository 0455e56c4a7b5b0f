//! Signal weights, read from a versioned TOML file. Nothing falls back silently: an unknown key, a
//! missing signal or a negative weight is an error at load.

use serde::Deserialize;

use super::MeaningFusion;
use crate::CoreError;

/// The weights file shipped with silkmatch (`crates/core/weights.toml`), the documented defaults.
pub const DEFAULT_WEIGHTS_TOML: &str = include_str!("../../weights.toml");

/// The weights-file version this build writes and reads. Version 3 changed what the signals mean
/// (the text signal fuses terms and meaning as search does; technology, keywords and sector count
/// by evidence, and a missing one is neutral), so files of versions 1 and 2, tuned for the old
/// signals, are refused with a message rather than read with a new meaning.
pub const WEIGHTS_VERSION: u32 = 3;

/// One weight per soft signal.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// Full-text relevance.
    pub text: f32,
    /// Technology-field overlap.
    pub technology: f32,
    /// Keyword overlap.
    pub keywords: f32,
    /// NACE sector overlap.
    pub sector: f32,
    /// Readiness fit.
    pub readiness: f32,
    /// Organisation-kind fit.
    pub partner: f32,
    /// Recency.
    pub freshness: f32,
    /// How embedding similarity enters the text signal (the `[meaning]` table).
    #[serde(skip_deserializing, default = "lexical_only")]
    pub meaning: MeaningFusion,
}

fn lexical_only() -> MeaningFusion {
    MeaningFusion::LEXICAL_ONLY
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsFile {
    version: u32,
    weights: Weights,
    meaning: Option<MeaningFusion>,
}

impl Weights {
    /// Parses a weights file.
    pub fn from_toml(text: &str) -> Result<Weights, CoreError> {
        let file: WeightsFile = toml::from_str(text)
            .map_err(|err| CoreError::Config(format!("weights file: {}", err.message())))?;
        let mut weights = file.weights;
        weights.meaning = match (file.version, file.meaning) {
            (WEIGHTS_VERSION, Some(meaning)) => meaning,
            (WEIGHTS_VERSION, None) => {
                return Err(CoreError::Config(format!(
                    "weights file version {WEIGHTS_VERSION} needs a `[meaning]` table with `same_language_lexical`, `cross_language_lexical` and `cosine_floor`"
                )));
            }
            (version @ (1 | 2), _) => {
                return Err(CoreError::Config(format!(
                    "weights file has version {version}, tuned for signals this silkmatch no longer computes; it reads version {WEIGHTS_VERSION} (start from crates/core/weights.toml, docs/matching.md)"
                )));
            }
            (version, _) => {
                return Err(CoreError::Config(format!(
                    "weights file has version {version}, this silkmatch reads version {WEIGHTS_VERSION}"
                )));
            }
        };
        weights.meaning.validate().map_err(CoreError::Config)?;
        for (name, value) in weights.named() {
            if !value.is_finite() || value < 0.0 {
                return Err(CoreError::Config(format!(
                    "weight `{name}` must be a non-negative number; got {value}"
                )));
            }
        }
        if weights.total() <= 0.0 {
            return Err(CoreError::Config(
                "at least one weight must be positive".into(),
            ));
        }
        Ok(weights)
    }

    /// The documented defaults (`DEFAULT_WEIGHTS_TOML`).
    pub fn defaults() -> Weights {
        Weights::from_toml(DEFAULT_WEIGHTS_TOML).expect("the shipped weights file is valid")
    }

    /// Only the text signal: the "text only" ranker of `eval match`.
    pub fn text_only() -> Weights {
        Weights {
            text: 1.0,
            technology: 0.0,
            keywords: 0.0,
            sector: 0.0,
            readiness: 0.0,
            partner: 0.0,
            freshness: 0.0,
            meaning: MeaningFusion::LEXICAL_ONLY,
        }
    }

    /// Each weight with its signal's name, in a fixed order.
    pub fn named(&self) -> [(&'static str, f32); 7] {
        [
            ("text", self.text),
            ("technology", self.technology),
            ("keywords", self.keywords),
            ("sector", self.sector),
            ("readiness", self.readiness),
            ("partner", self.partner),
            ("freshness", self.freshness),
        ]
    }

    /// Sum of the weights.
    pub fn total(&self) -> f32 {
        self.named().iter().map(|(_, value)| value).sum()
    }

    /// Sum of the weights of the signals that are known: the denominator of a directed score.
    pub fn known_total(&self, signals: &super::SignalValues) -> f32 {
        self.named()
            .iter()
            .zip(signals)
            .filter(|(_, value)| value.is_some())
            .map(|((_, weight), _)| weight)
            .sum()
    }

    /// The weights file for these weights (for tuning tools).
    pub fn to_toml(&self) -> String {
        let mut out = format!("version = {WEIGHTS_VERSION}\n\n[weights]\n");
        for (name, value) in self.named() {
            out.push_str(&format!("{name} = {value:.3}\n"));
        }
        out.push_str(&format!(
            "\n[meaning]\nsame_language_lexical = {:.3}\ncross_language_lexical = {:.3}\ncosine_floor = {:.3}\n",
            self.meaning.same_language_lexical,
            self.meaning.cross_language_lexical,
            self.meaning.cosine_floor
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_round_trip() {
        let weights = Weights::defaults();
        assert!(weights.total() > 0.0);
        assert_eq!(Weights::from_toml(&weights.to_toml()).unwrap(), weights);
    }

    fn error_of(text: &str) -> String {
        Weights::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn bad_files_are_errors_not_defaults() {
        let file = Weights::defaults().to_toml();
        assert!(error_of(&file.replace("text = ", "txet = ")).contains("unknown field `txet`"));
        let sector = format!("sector = {:.3}", Weights::defaults().sector);
        assert!(
            error_of(&file.replace(&sector, "sector = -0.5"))
                .contains("weight `sector` must be a non-negative number")
        );
        let freshness = format!("freshness = {:.3}", Weights::defaults().freshness);
        assert!(error_of(&file.replace(&freshness, "")).contains("missing field `freshness`"));
        assert!(error_of(&file.replace("version = 3", "version = 4")).contains("version 4"));
        let old = error_of(&file.replace("version = 3", "version = 2"));
        assert!(old.contains("version 2, tuned for signals"), "{old}");
        let no_meaning = file.split("\n[meaning]").next().unwrap().to_owned();
        assert!(error_of(&no_meaning).contains("needs a `[meaning]` table"));
        let floor_too_high = file.replace("cosine_floor = ", "cosine_floor = 1.5 #");
        assert!(error_of(&floor_too_high).contains("meaning `cosine_floor` must be in [0, 1)"));
    }
}
