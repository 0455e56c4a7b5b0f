//! Signal weights, read from a versioned TOML file. Nothing falls back silently: an unknown key, a
//! missing signal or a negative weight is an error at load.

use serde::Deserialize;

use crate::CoreError;

/// The weights file shipped with silkmatch (`crates/core/weights.toml`), the documented defaults.
pub const DEFAULT_WEIGHTS_TOML: &str = include_str!("../../weights.toml");

/// The only weights-file version this build understands.
pub const WEIGHTS_VERSION: u32 = 1;

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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsFile {
    version: u32,
    weights: Weights,
}

impl Weights {
    /// Parses a weights file.
    pub fn from_toml(text: &str) -> Result<Weights, CoreError> {
        let file: WeightsFile = toml::from_str(text)
            .map_err(|err| CoreError::Config(format!("weights file: {}", err.message())))?;
        if file.version != WEIGHTS_VERSION {
            return Err(CoreError::Config(format!(
                "weights file has version {}, this silkmatch reads version {WEIGHTS_VERSION}",
                file.version
            )));
        }
        let weights = file.weights;
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
        let future = DEFAULT_WEIGHTS_TOML.replace("version = 1", "version = 2");
        assert!(
            Weights::from_toml(&future)
                .unwrap_err()
                .to_string()
                .contains("version 2")
        );
    }
}
