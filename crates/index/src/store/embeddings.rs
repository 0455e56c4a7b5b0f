//! Listing embeddings (schema version 3): one vector per listing, the change sequence number of the
//! newest version it stands for, and a digest of the text it was computed from, so a change that
//! leaves the text alone (publish, withdraw, extend) re-uses the vector instead of running the model.
//! Vectors are expensive to recompute (hours for a large corpus), so they live in the record store,
//! not beside the search index; the in-memory vector index is rebuilt from here at open.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{IndexError, Result};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS embeddings (
    listing_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    text_hash BLOB NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_seq ON embeddings (seq);
CREATE TABLE IF NOT EXISTS embedding_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    model TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    reached_seq INTEGER NOT NULL
);
";

/// How far embedding has come, and with which model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingState {
    /// The model the vectors come from (its name and weights digest).
    pub model: String,
    /// Vector length.
    pub dimensions: usize,
    /// Every listing change up to this sequence number has been embedded (or needed no vector).
    pub reached_seq: u64,
}

/// One stored vector.
#[derive(Debug, Clone)]
pub struct StoredEmbedding {
    /// The listing.
    pub listing_id: String,
    /// The newest version of the listing this vector stands for.
    pub seq: u64,
    /// SHA-256 of the text embedded.
    pub text_hash: [u8; 32],
    /// The unit-length vector.
    pub vector: Vec<f32>,
}

/// The embedding state, `None` before anything was embedded.
pub fn state(connection: &Connection) -> Result<Option<EmbeddingState>> {
    Ok(connection
        .query_row(
            "SELECT model, dimensions, reached_seq FROM embedding_state WHERE singleton = 1",
            [],
            |row| {
                Ok(EmbeddingState {
                    model: row.get(0)?,
                    dimensions: row.get::<_, i64>(1)? as usize,
                    reached_seq: row.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Records how far embedding has come.
pub fn set_state(transaction: &Transaction<'_>, state: &EmbeddingState) -> Result<()> {
    transaction.execute(
        "INSERT INTO embedding_state (singleton, model, dimensions, reached_seq) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (singleton) DO UPDATE SET model = ?1, dimensions = ?2, reached_seq = ?3",
        params![state.model, state.dimensions as i64, state.reached_seq],
    )?;
    Ok(())
}

/// Forgets every vector (another model's vectors cannot be compared with this one's).
pub fn clear(transaction: &Transaction<'_>) -> Result<()> {
    transaction.execute_batch("DELETE FROM embeddings; DELETE FROM embedding_state;")?;
    Ok(())
}

/// The digests of the texts last embedded for these listings (those that have a vector), in one
/// statement.
pub fn text_hashes(
    connection: &Connection,
    listing_ids: &[&str],
) -> Result<std::collections::HashMap<String, [u8; 32]>> {
    if listing_ids.is_empty() {
        return Ok(Default::default());
    }
    let placeholders = vec!["?"; listing_ids.len()].join(", ");
    let mut statement = connection.prepare(&format!(
        "SELECT listing_id, text_hash FROM embeddings WHERE listing_id IN ({placeholders})"
    ))?;
    let rows = statement
        .query_map(rusqlite::params_from_iter(listing_ids), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, hash)| Some((id, hash.try_into().ok()?)))
        .collect())
}

/// Ids of listings whose stored vector stands for a version in `(after, until]`: with embedding
/// in change order, the vectors that arrived (or moved on) between two points embedding reached.
pub fn ids_between(connection: &Connection, after: u64, until: u64) -> Result<Vec<String>> {
    let mut statement = connection.prepare_cached(
        "SELECT listing_id FROM embeddings WHERE seq > ?1 AND seq <= ?2 ORDER BY listing_id",
    )?;
    let rows = statement
        .query_map(params![after, until], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

/// Stores (or replaces) a listing's vector.
pub fn put(transaction: &Transaction<'_>, embedding: &StoredEmbedding) -> Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO embeddings (listing_id, seq, text_hash, vector) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (listing_id) DO UPDATE SET seq = ?2, text_hash = ?3, vector = ?4",
        )?
        .execute(params![
            embedding.listing_id,
            embedding.seq,
            &embedding.text_hash[..],
            encode(&embedding.vector)
        ])?;
    Ok(())
}

/// Moves a listing's vector to a newer version whose text is unchanged; returns the vector.
pub fn advance(
    transaction: &Transaction<'_>,
    listing_id: &str,
    seq: u64,
) -> Result<Option<Vec<f32>>> {
    transaction
        .prepare_cached("UPDATE embeddings SET seq = ?2 WHERE listing_id = ?1")?
        .execute(params![listing_id, seq])?;
    let blob: Option<Vec<u8>> = transaction
        .prepare_cached("SELECT vector FROM embeddings WHERE listing_id = ?1")?
        .query_row([listing_id], |row| row.get(0))
        .optional()?;
    blob.map(|blob| decode(listing_id, &blob)).transpose()
}

/// A listing's vector if it stands for version `seq`.
pub fn vector_at(connection: &Connection, listing_id: &str, seq: u64) -> Result<Option<Vec<f32>>> {
    let blob: Option<Vec<u8>> = connection
        .prepare_cached("SELECT vector FROM embeddings WHERE listing_id = ?1 AND seq = ?2")?
        .query_row(params![listing_id, seq], |row| row.get(0))
        .optional()?;
    blob.map(|blob| decode(listing_id, &blob)).transpose()
}

/// Every stored vector, in `seq` order, one page at a time (`after_seq` exclusive).
pub fn page(connection: &Connection, after_seq: u64, limit: usize) -> Result<Vec<StoredEmbedding>> {
    let mut statement = connection.prepare_cached(
        "SELECT listing_id, seq, text_hash, vector FROM embeddings WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = statement
        .query_map(params![after_seq, limit as i64], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u64>(1)?,
                row.get::<_, Vec<u8>>(2)?,
                row.get::<_, Vec<u8>>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(listing_id, seq, hash, blob)| {
            let vector = decode(&listing_id, &blob)?;
            let text_hash = hash.try_into().map_err(|_| IndexError::Corrupt {
                id: listing_id.clone(),
                reason: "embedding text digest is not 32 bytes".into(),
            })?;
            Ok(StoredEmbedding {
                listing_id,
                seq,
                text_hash,
                vector,
            })
        })
        .collect()
}

/// Number of stored vectors.
pub fn count(connection: &Connection) -> Result<u64> {
    Ok(connection.query_row("SELECT COUNT(*) FROM embeddings", [], |row| row.get(0))?)
}

fn encode(vector: &[f32]) -> Vec<u8> {
    vector
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

fn decode(listing_id: &str, blob: &[u8]) -> Result<Vec<f32>> {
    if !blob.len().is_multiple_of(4) {
        return Err(IndexError::Corrupt {
            id: listing_id.into(),
            reason: format!(
                "embedding of {} bytes is not a whole number of f32",
                blob.len()
            ),
        });
    }
    Ok(blob
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        .collect())
}
