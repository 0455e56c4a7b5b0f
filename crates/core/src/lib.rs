//! silkmatch's core: the listing model, its validation and the matching model.
//!
//! **Architecture invariant:** no I/O. Nothing here opens a file, a socket or a database, or reads the
//! clock; `now` and index scores arrive as arguments. That keeps every function here deterministic and
//! testable without setup, and lets the index, HTTP and batch layers share one set of rules.

pub mod access;
pub mod codes;
mod error;
pub mod fusion;
mod language;
pub mod matching;
pub mod metrics;
pub mod model;
mod timestamp;
pub mod validate;

pub use error::CoreError;
pub use language::{Alphabet, TextLanguage, detect_language};
pub use model::*;
pub use timestamp::{DAY_SECONDS, Timestamp};
pub use validate::{Problem, ProblemCode, Validated, check_publishable, validate};
