//! The index crate's one error type. It says what failed, never with an HTTP status: mapping to
//! statuses happens once, in the HTTP crate.

use silkmatch_core::{CoreError, Problem};

/// Failures of the record store, the search index or a write.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// No listing (or organisation) with this id or external id.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// What was looked for: "listing", "organisation".
        what: &'static str,
        /// The id as given.
        id: String,
    },
    /// The request conflicts with what is stored (a duplicate name, an idempotency key reused).
    #[error("{0}")]
    Conflict(String),
    /// An `Idempotency-Key` already used with another request.
    #[error("this Idempotency-Key was used with a different body")]
    IdempotencyKeyReused,
    /// The caller's organisation does not own the listing it tries to change.
    #[error("listing `{0}` belongs to another organisation")]
    NotOwner(String),
    /// A page outside `1..=MAX_LIMIT` or past `MAX_WINDOW`.
    #[error(
        "limit {limit} with offset {offset} is outside the result window (limit 1 to 100, offset + limit at most 10000)"
    )]
    OutOfWindow {
        /// Page size asked for.
        limit: usize,
        /// Offset asked for.
        offset: usize,
    },
    /// The listing changed since the version the caller read.
    #[error("listing `{id}` is at version {current}, not {expected}")]
    VersionMismatch {
        /// The listing.
        id: String,
        /// The version the caller expected.
        expected: u64,
        /// The version stored.
        current: u64,
    },
    /// The listing breaks the data model.
    #[error(transparent)]
    Invalid(#[from] CoreError),
    /// The data directory holds something this version cannot use.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The search index was built by another version of silkmatch; it is rebuilt from the store.
    #[error("the search index has schema version {found}, this silkmatch uses {expected}")]
    SchemaChanged {
        /// Version found on disk.
        found: u32,
        /// Version this build writes.
        expected: u32,
    },
    /// SQLite failed.
    #[error("record store failed: {0}")]
    Store(#[from] rusqlite::Error),
    /// Tantivy failed.
    #[error("search index failed: {0}")]
    Search(#[from] tantivy::TantivyError),
    /// A stored record could not be decoded; the store was written by something else.
    #[error("stored listing `{id}` is unreadable: {reason}")]
    Corrupt {
        /// The listing.
        id: String,
        /// What was wrong.
        reason: String,
    },
    /// A batch run cannot start or continue: bad parameters, a foreign checkpoint, nothing to rank.
    #[error("{0}")]
    Batch(String),
    /// The embedding model failed (or returned something unusable).
    #[error("embedding model failed: {reason}")]
    Model {
        /// What went wrong.
        reason: String,
    },
    /// Filesystem failure around the data directory.
    #[error("i/o failed on {path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl IndexError {
    /// Wraps validation problems.
    pub fn invalid(problems: Vec<Problem>) -> IndexError {
        IndexError::Invalid(CoreError::Invalid(problems))
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
