//! The core crate's one error type: what can go wrong in pure computation over listings.

use crate::validate::Problem;

/// Failures of core functions; I/O never appears here because core does none.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A listing broke data-model rules; every problem is listed.
    #[error("the listing is invalid: {}", summarise(.0))]
    Invalid(Vec<Problem>),
    /// A weights or configuration text could not be read.
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn summarise(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
