//! `Idempotency-Key`s of creates (api.md, "Concurrency"), kept in the same transaction as the listing
//! they created: a retry after a crash or a restart is recognised, and two concurrent first uses of
//! one key create one listing (the writer applies them in turn, the second sees the first's row).

use rusqlite::{Connection, OptionalExtension, params};
use silkmatch_core::Listing;

use crate::error::{IndexError, Result};

/// How long a key is remembered, in seconds (24 hours).
pub const KEY_TTL_SECONDS: i64 = 24 * 3600;

/// Tables of this module (schema version 4).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    listing TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
";

/// A key's first use: the hash of its request and the listing it created, as created.
pub struct FirstUse {
    /// SHA-256 of the request body.
    pub request_hash: [u8; 32],
    /// The listing as the first request created it.
    pub listing: Listing,
}

/// The first use of `key` by `owner` within the last [`KEY_TTL_SECONDS`] before `now`, if any.
pub fn get(connection: &Connection, owner: &str, key: &str, now: i64) -> Result<Option<FirstUse>> {
    let row: Option<(Vec<u8>, String)> = connection
        .prepare_cached(
            "SELECT request_hash, listing FROM idempotency_keys WHERE owner = ?1 AND key = ?2 AND created_at > ?3",
        )?
        .query_row(params![owner, key, now - KEY_TTL_SECONDS], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let Some((hash, listing)) = row else {
        return Ok(None);
    };
    let corrupt = |reason: String| IndexError::Corrupt {
        id: key.to_owned(),
        reason,
    };
    Ok(Some(FirstUse {
        request_hash: hash
            .try_into()
            .map_err(|_| corrupt("idempotency request hash is not 32 bytes".into()))?,
        listing: serde_json::from_str(&listing).map_err(|err| corrupt(err.to_string()))?,
    }))
}

/// Records the first use of `key` (replacing an expired one), and forgets keys older than the TTL.
pub fn put(
    connection: &Connection,
    owner: &str,
    key: &str,
    first: &FirstUse,
    now: i64,
) -> Result<()> {
    connection
        .prepare_cached("DELETE FROM idempotency_keys WHERE created_at <= ?1")?
        .execute([now - KEY_TTL_SECONDS])?;
    let listing = serde_json::to_string(&first.listing).expect("listings serialise");
    connection
        .prepare_cached(
            "INSERT INTO idempotency_keys (owner, key, request_hash, listing, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (owner, key) DO UPDATE SET request_hash = ?3, listing = ?4, created_at = ?5",
        )?
        .execute(params![owner, key, &first.request_hash[..], listing, now])?;
    Ok(())
}
