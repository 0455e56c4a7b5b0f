//! silkmatch's storage: the SQLite record store (the system of record) and the tantivy search index
//! derived from it, kept in step by `Engine`.
//!
//! **Architecture invariant:** SQLite commits first. The index only ever holds what the store holds
//! (up to its commit payload's change sequence number), so deleting `search/` loses nothing.

mod admin;
mod analyzers;
mod arabic;
pub mod batch;
mod dense;
mod engine;
mod error;
mod facets;
mod filter_check;
mod matching;
mod query;
mod schema;
mod search;
mod search_index;
mod snippet;
pub mod store;
mod write;

pub use analyzers::Analysis;
pub use dense::{
    Code, DenseStatus, EmbedReport, Embedder, FUSION_DEPTH, MAX_PASSAGE_CHARS, SeqSet, TextMode,
    VectorIndex, VectorsAt, VectorsPin, passage_text, quantise,
};
pub use engine::{Engine, EngineStats, Progress};
pub use error::{IndexError, Result};
pub use facets::{FacetCount, Facets};
pub use matching::{
    Baseline, DEFAULT_SIDE_CACHE_ENTRIES, FoundMatch, MAX_CANDIDATES, MatchRequest, MatchResults,
    Prepared, analyse_listing, analysis_of, constraint_filters,
};
pub use query::{AnalysedText, Filters, analyse_query};
pub use schema::Fields;
pub use search::{Hit, MAX_LIMIT, MAX_WINDOW, SearchRequest, SearchResults, Sort, snippets_for};
pub use snippet::{Snippet, escape};
pub use write::{
    IdempotencyKey, IndexCommit, MAX_PUBLICATION_DAYS, Owner, PUBLICATION_DAYS, Target, Write,
    Written,
};
