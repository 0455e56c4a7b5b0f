//! Signal weights, read from a versioned TOML file. Nothing falls back silently: an unknown key, a
//! missing signal or a negative weight is an error at load.

use serde::Deserialize;

use super::MeaningFusion;
use crate::CoreError;

/// The weights file shipped with silkmatch (`crates/core/weights.toml`), the documented defaults.
pub const DEFAULT_WEIGHTS_TOML: &str = include_str!("../../weights.toml");

/// The weights-file version this build writes. Version 1 files (no `[meaning]` table: the text
/// signal is lexical only, as it was then) are still read.
pub const WEIGHTS_VERSION: u32 = 2;

/// What a version 1 file means: meaning plays no part in the text signal.
const LEXICAL_ONLY: MeaningFusion = MeaningFusion {
    floor: 0.8,
    share: 0.0,
};

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
    LEXICAL_ONLY
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
            (1, None) => LEXICAL_ONLY,
            (1, Some(_)) => {
                return Err(CoreError::Config(
                    "weights file version 1 has no `[meaning]` table; write `version = 2` to use one"
                        .into(),
                ));
            }
            (WEIGHTS_VERSION, Some(meaning)) => meaning,
            (WEIGHTS_VERSION, None) => {
                return Err(CoreError::Config(
                    "weights file version 2 needs a `[meaning]` table with `floor` and `share`"
                        .into(),
                ));
            }
            (version, _) => {
                return Err(CoreError::Config(format!(
                    "weights file has version {version}, this silkmatch reads versions 1 and {WEIGHTS_VERSION}"
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
            meaning: LEXICAL_ONLY,
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

    /// Sum of the weights, the denominator of a directed score.
    pub fn total(&self) -> f32 {
        self.named().iter().map(|(_, value)| value).sum()
    }

    /// The weights file for these weights (for tuning tools).
    pub fn to_toml(&self) -> String {
        let mut out = format!("version = {WEIGHTS_VERSION}\n\n[weights]\n");
        for (name, value) in self.named() {
            out.push_str(&format!("{name} = {value:.3}\n"));
        }
        out.push_str(&format!(
            "\n[meaning]\nfloor = {:.3}\nshare = {:.3}\n",
            self.meaning.floor, self.meaning.share
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

    #[test]
    fn bad_files_are_errors_not_defaults() {
        let unknown = DEFAULT_WEIGHTS_TOML.replace("text = ", "txet = ");
        assert!(
            Weights::from_toml(&unknown)
                .unwrap_err()
                .to_string()
                .contains("unknown field `txet`")
        );
        let negative = DEFAULT_WEIGHTS_TOML.replace("sector = 0.053", "sector = -0.5");
        assert!(
            Weights::from_toml(&negative)
                .unwrap_err()
                .to_string()
                .contains("weight `sector` must be a non-negative number")
        );
        let missing = DEFAULT_WEIGHTS_TOML.replace("freshness = 0.026", "");
        assert!(
            Weights::from_toml(&missing)
                .unwrap_err()
                .to_string()
                .contains("missing field `freshness`")
        );
        let future = DEFAULT_WEIGHTS_TOML.replace("version = 2", "version = 3");
        assert!(
            Weights::from_toml(&future)
                .unwrap_err()
                .to_string()
                .contains("version 3")
        );
        let no_meaning = DEFAULT_WEIGHTS_TOML
            .split("\n[meaning]")
            .next()
            .unwrap()
            .to_owned();
        assert!(
            Weights::from_toml(&no_meaning)
                .unwrap_err()
                .to_string()
                .contains("needs a `[meaning]` table")
        );
        let floor_too_high = DEFAULT_WEIGHTS_TOML.replace("floor = ", "floor = 1.5 #");
        assert!(
            Weights::from_toml(&floor_too_high)
                .unwrap_err()
                .to_string()
                .contains("meaning `floor` must be in [0, 1)")
        );
    }

    #[test]
    fn version_1_files_are_lexical_only() {
        let v1 = DEFAULT_WEIGHTS_TOML
            .split("\n[meaning]")
            .next()
            .unwrap()
            .replace("version = 2", "version = 1");
        let weights = Weights::from_toml(&v1).unwrap();
        assert_eq!(weights.meaning.share, 0.0);
        assert_eq!(weights.text, Weights::defaults().text);
    }
}
