//! Listing rows. Each row holds the whole listing as JSON plus the columns needed to filter and to
//! replay changes into the index in order (`seq`).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use silkmatch_core::{Listing, ListingBody, Status, Timestamp};

use crate::error::{IndexError, Result};

/// A listing with the change sequence number of its last write.
#[derive(Debug, Clone)]
pub struct ListingRow {
    /// Position of the last change to this listing in the store's total order of changes.
    pub seq: u64,
    /// The listing.
    pub listing: Listing,
    /// The analysis of its body stored with it (`matching::stored_analysis`), when the read asked
    /// for it (`Columns::WithAnalysis`) and the store has one.
    pub analysis: Option<Vec<u8>>,
}

/// What a read of whole rows returns besides the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// The listing only: pages and search results.
    Listing,
    /// The listing and its stored analysis: match candidates, which would otherwise analyse it.
    WithAnalysis,
}

impl Columns {
    fn select(self) -> &'static str {
        match self {
            Columns::Listing => COLUMNS,
            Columns::WithAnalysis => COLUMNS_WITH_ANALYSIS,
        }
    }
}

const COLUMNS: &str =
    "id, seq, owner, status, version, created_at, updated_at, published_at, expires_at, body, NULL";
const COLUMNS_WITH_ANALYSIS: &str = "id, seq, owner, status, version, created_at, updated_at, published_at, expires_at, body, analysis";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        blob(row, 10)?,
    ))
}

/// Column `index` when it holds a blob. The analysis column is derived bytes: anything else there
/// (a hand-edited store) reads as none stored.
fn blob(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<Vec<u8>>> {
    Ok(match row.get_ref(index)? {
        rusqlite::types::ValueRef::Blob(bytes) => Some(bytes.to_vec()),
        _ => None,
    })
}

type RawRow = (
    String,
    u64,
    String,
    String,
    u64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    Option<Vec<u8>>,
);

fn decode(
    (
        id,
        seq,
        owner,
        status,
        version,
        created_at,
        updated_at,
        published_at,
        expires_at,
        body,
        analysis,
    ): RawRow,
) -> Result<ListingRow> {
    let corrupt = |reason: String| IndexError::Corrupt {
        id: id.clone(),
        reason,
    };
    let status =
        Status::parse(&status).ok_or_else(|| corrupt(format!("unknown status `{status}`")))?;
    let body: ListingBody = serde_json::from_str(&body).map_err(|err| corrupt(err.to_string()))?;
    Ok(ListingRow {
        seq,
        listing: Listing {
            id,
            owner,
            status,
            version,
            created_at: Timestamp::from_unix(created_at),
            updated_at: Timestamp::from_unix(updated_at),
            published_at: published_at.map(Timestamp::from_unix),
            expires_at: expires_at.map(Timestamp::from_unix),
            body,
        },
        analysis,
    })
}

/// Inserts or replaces a listing under a new change sequence number, with `analysis`, the stored
/// analysis of its body when the writer has it. Without one, a row whose body is unchanged (a
/// status change) keeps the analysis it has, and any other row is left without.
pub fn put(
    connection: &Connection,
    listing: &Listing,
    seq: u64,
    analysis: Option<&[u8]>,
) -> Result<()> {
    let body = serde_json::to_string(&listing.body).map_err(|err| IndexError::Corrupt {
        id: listing.id.clone(),
        reason: err.to_string(),
    })?;
    let mut statement = connection.prepare_cached(
        "INSERT INTO listings (id, seq, kind, owner, external_id, status, language, country, readiness, version, created_at, updated_at, published_at, expires_at, body, analysis)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, kind = excluded.kind, external_id = excluded.external_id, status = excluded.status,
           language = excluded.language, country = excluded.country, readiness = excluded.readiness, version = excluded.version,
           updated_at = excluded.updated_at, published_at = excluded.published_at, expires_at = excluded.expires_at,
           analysis = CASE WHEN excluded.analysis IS NOT NULL THEN excluded.analysis WHEN listings.body = excluded.body THEN listings.analysis END,
           body = excluded.body",
    )?;
    statement.execute(params![
        listing.id,
        seq,
        listing.body.kind.as_str(),
        listing.owner,
        listing.body.external_id,
        listing.status.as_str(),
        listing.body.language.as_str(),
        listing.body.organisation.country.as_str(),
        listing.body.readiness().get(),
        listing.version,
        listing.created_at.unix(),
        listing.updated_at.unix(),
        listing.published_at.map(Timestamp::unix),
        listing.expires_at.map(Timestamp::unix),
        body,
        analysis,
    ])?;
    Ok(())
}

/// The listing with this id.
pub fn get(connection: &Connection, id: &str) -> Result<Option<ListingRow>> {
    let mut statement =
        connection.prepare_cached(&format!("SELECT {COLUMNS} FROM listings WHERE id = ?1"))?;
    statement
        .query_row([id], from_row)
        .optional()?
        .map(decode)
        .transpose()
}

/// Which version of a listing the store holds, and its stored analysis: what a match for a listing
/// needs to know of it besides the listing itself.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    /// The change sequence number of the version.
    pub seq: u64,
    /// The version.
    pub version: u64,
    /// Its stored analysis, when there is one.
    pub analysis: Option<Vec<u8>>,
}

/// The version of the listing with this id that the store holds.
pub fn stored_version(connection: &Connection, id: &str) -> Result<Option<StoredVersion>> {
    let mut statement =
        connection.prepare_cached("SELECT seq, version, analysis FROM listings WHERE id = ?1")?;
    Ok(statement
        .query_row([id], |row| {
            Ok(StoredVersion {
                seq: row.get(0)?,
                version: row.get(1)?,
                analysis: blob(row, 2)?,
            })
        })
        .optional()?)
}

/// The listings with these ids, in the order asked (missing ones left out), in one statement.
pub fn get_many(
    connection: &Connection,
    ids: &[String],
    columns: Columns,
) -> Result<Vec<ListingRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; ids.len()].join(", ");
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {} FROM listings WHERE id IN ({placeholders})",
        columns.select()
    ))?;
    let rows = statement
        .query_map(rusqlite::params_from_iter(ids), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut by_id: std::collections::HashMap<String, RawRow> =
        rows.into_iter().map(|row| (row.0.clone(), row)).collect();
    ids.iter()
        .filter_map(|id| by_id.remove(id))
        .map(decode)
        .collect()
}

/// The rows written under these change sequence numbers, aligned with `seqs`: `None` where the
/// listing has been written again since (its current row has a newer `seq`).
pub fn get_many_by_seq(
    connection: &Connection,
    seqs: &[u64],
    columns: Columns,
) -> Result<Vec<Option<ListingRow>>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; seqs.len()].join(", ");
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {} FROM listings WHERE seq IN ({placeholders})",
        columns.select()
    ))?;
    let rows = statement
        .query_map(rusqlite::params_from_iter(seqs), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut by_seq: std::collections::HashMap<u64, RawRow> =
        rows.into_iter().map(|row| (row.1, row)).collect();
    seqs.iter()
        .map(|seq| by_seq.remove(seq).map(decode).transpose())
        .collect()
}

/// The ids of the listings whose current row has one of these change sequence numbers, in id
/// order (a version written over since is left out).
pub fn ids_by_seq(connection: &Connection, seqs: &[u64]) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(seqs.len());
    // Bounded statements: SQLite caps the variables of one.
    for chunk in seqs.chunks(10_000) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let mut statement = connection.prepare(&format!(
            "SELECT id FROM listings WHERE seq IN ({placeholders})"
        ))?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(chunk), |row| {
                row.get::<_, String>(0)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.extend(rows);
    }
    ids.sort();
    Ok(ids)
}

/// An organisation's own listings, every status, most recently changed first (the "my listings"
/// page); at most `limit` of them.
pub fn by_owner(connection: &Connection, owner: &str, limit: usize) -> Result<Vec<ListingRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM listings WHERE owner = ?1 ORDER BY updated_at DESC, id DESC LIMIT ?2"
    ))?;
    let rows = statement
        .query_map(params![owner, limit as i64], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

/// The listing an owner imported under `external_id`.
pub fn get_by_external_id(
    connection: &Connection,
    owner: &str,
    external_id: &str,
) -> Result<Option<ListingRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM listings WHERE owner = ?1 AND external_id = ?2"
    ))?;
    statement
        .query_row([owner, external_id], from_row)
        .optional()?
        .map(decode)
        .transpose()
}

/// Listings whose `external_id` is this, whoever owns them (external ids are unique per owner only).
pub fn find_by_external_id(connection: &Connection, external_id: &str) -> Result<Vec<ListingRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM listings WHERE external_id = ?1 ORDER BY id"
    ))?;
    let rows = statement
        .query_map([external_id], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

/// Up to `limit` listings changed after `after_seq`, in change order: what the index must replay.
pub fn changed_since(
    connection: &Connection,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<ListingRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM listings WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = statement
        .query_map(params![after_seq, limit as i64], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

/// Up to `limit` listings after `after_seq`, in change order, whose stored analysis is missing or
/// does not start with `header` (another format or analysis version): what a refill rewrites.
pub fn without_analysis(
    connection: &Connection,
    after_seq: u64,
    header: &[u8],
    limit: usize,
) -> Result<Vec<(u64, ListingBody)>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, seq, body FROM listings
         WHERE seq > ?1 AND (analysis IS NULL OR substr(analysis, 1, ?2) != ?3)
         ORDER BY seq LIMIT ?4",
    )?;
    let rows = statement
        .query_map(
            params![after_seq, header.len() as i64, header, limit as i64],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, seq, body)| {
            let body = serde_json::from_str(&body).map_err(|err| IndexError::Corrupt {
                id,
                reason: err.to_string(),
            })?;
            Ok((seq, body))
        })
        .collect()
}

/// How many listings `without_analysis` would give from the start.
pub fn count_without_analysis(connection: &Connection, header: &[u8]) -> Result<u64> {
    Ok(connection.query_row(
        "SELECT COUNT(*) FROM listings WHERE analysis IS NULL OR substr(analysis, 1, ?1) != ?2",
        params![header.len() as i64, header],
        |row| row.get(0),
    )?)
}

/// Stores `analysis` for the version `seq` of a listing; a version written over since is left alone.
pub fn set_analysis(connection: &Connection, seq: u64, analysis: &[u8]) -> Result<()> {
    let mut statement =
        connection.prepare_cached("UPDATE listings SET analysis = ?2 WHERE seq = ?1")?;
    statement.execute(params![seq, analysis])?;
    Ok(())
}

/// The newest change sequence number, 0 for an empty store.
pub fn last_seq(connection: &Connection) -> Result<u64> {
    Ok(
        connection.query_row("SELECT COALESCE(MAX(seq), 0) FROM listings", [], |row| {
            row.get(0)
        })?,
    )
}

/// Number of listings changed after `after_seq`.
pub fn count_changed_since(connection: &Connection, after_seq: u64) -> Result<u64> {
    Ok(connection.query_row(
        "SELECT COUNT(*) FROM listings WHERE seq > ?1",
        [after_seq],
        |row| row.get(0),
    )?)
}

/// Counts for `silkmatch stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStats {
    /// All listings, any status.
    pub listings: u64,
    /// Per `kind/status`, e.g. `offer/published`.
    pub by_kind_and_status: Vec<(String, u64)>,
    /// Published and unexpired, per language.
    pub live_by_language: Vec<(String, u64)>,
    /// Organisations.
    pub organisations: u64,
    /// Newest change sequence number.
    pub last_seq: u64,
}

/// Gathers `StoreStats` at `now`.
pub fn stats(connection: &Connection, now: Timestamp) -> Result<StoreStats> {
    let pairs = |sql: &str, bind: &[&dyn rusqlite::ToSql]| -> Result<Vec<(String, u64)>> {
        let mut statement = connection.prepare(sql)?;
        let rows = statement.query_map(bind, |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    };
    Ok(StoreStats {
        listings: connection.query_row("SELECT COUNT(*) FROM listings", [], |row| row.get(0))?,
        by_kind_and_status: pairs(
            "SELECT kind || '/' || status, COUNT(*) FROM listings GROUP BY 1 ORDER BY 1",
            &[],
        )?,
        live_by_language: pairs(
            "SELECT language, COUNT(*) FROM listings WHERE status = 'published' AND (expires_at IS NULL OR expires_at > ?1) GROUP BY 1 ORDER BY 2 DESC, 1",
            &[&now.unix()],
        )?,
        organisations: connection
            .query_row("SELECT COUNT(*) FROM organisations", [], |row| row.get(0))?,
        last_seq: last_seq(connection)?,
    })
}
