//! The record store: SQLite in WAL mode with full fsync, the system of record. Everything the search
//! index holds can be rebuilt from here; nothing here can be rebuilt from the index.

pub mod embeddings;
pub mod idempotency;
pub mod listings;
pub mod organisations;
pub mod recommendations;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use listings::{Columns, ListingRow, StoreStats};
pub use organisations::OrganisationRecord;

use crate::error::{IndexError, Result};

/// Bumped with every schema change; `migrate` brings older stores forward.
const STORE_VERSION: i64 = 5;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size TEXT,
    country TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (name, country)
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS listings (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES organisations(id),
    external_id TEXT,
    status TEXT NOT NULL,
    language TEXT NOT NULL,
    country TEXT NOT NULL,
    readiness INTEGER NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    published_at INTEGER,
    expires_at INTEGER,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS listings_external_id ON listings (owner, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS listings_status ON listings (status, kind);
";

/// SQLite connections to one store file: one writer, a small pool of readers.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the store at `dir/store.sqlite3` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store> {
        let path = dir.join("store.sqlite3");
        let writer = open_connection(&path, false)?;
        migrate(&writer, &path)?;
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `work` in one immediate transaction on the writer; committed (and fsynced) when it returns Ok.
    pub fn write<R>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<R>) -> Result<R> {
        let mut connection = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let transaction = Transaction::new(&mut connection, TransactionBehavior::Immediate)?;
        let result = work(&transaction)?;
        transaction.commit()?;
        Ok(result)
    }

    /// Runs `work` on a pooled read connection; reads see every committed write (WAL snapshot per statement).
    pub fn read<R>(&self, work: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let connection = match pooled {
            Some(connection) => connection,
            None => open_connection(&self.path, true)?,
        };
        let result = work(&connection);
        let mut readers = self
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if readers.len() < 8 {
            readers.push(connection);
        }
        result
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    if !read_only {
        // WAL for concurrent readers; FULL so a commit survives power loss, not just a process crash.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
    }
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

fn migrate(connection: &Connection, path: &Path) -> Result<()> {
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > STORE_VERSION {
        return Err(IndexError::DataDir {
            path: path.display().to_string(),
            reason: format!(
                "the store has schema version {version}, newer than this silkmatch ({STORE_VERSION}); upgrade silkmatch"
            ),
        });
    }
    connection.execute_batch(SCHEMA)?;
    // Version 2: batch-ranking runs and recommendations (tables only added, so 1 → 2 is this).
    connection.execute_batch(recommendations::SCHEMA)?;
    // Version 3: listing embeddings and how far embedding has come (tables only added).
    connection.execute_batch(embeddings::SCHEMA)?;
    // Version 4: idempotency keys of creates (a table added), and the vectors each batch run ranked
    // with (columns added to `batch_runs`).
    connection.execute_batch(idempotency::SCHEMA)?;
    // (Checked by column, not only by version: a migration interrupted before `user_version` was
    // written is run again.)
    if !has_column(connection, "batch_runs", "vectors_model")? {
        connection.execute_batch(recommendations::SCHEMA_V4)?;
    }
    // Version 5: each listing's analysed text, stored with it (`matching::stored_analysis`); rows
    // of older stores have none until `silkmatch reindex` and are analysed when read meanwhile.
    // The expiry index serves the batch's "which listings lapsed since the last run".
    if !has_column(connection, "listings", "analysis")? {
        connection.execute_batch("ALTER TABLE listings ADD COLUMN analysis BLOB")?;
    }
    connection.execute_batch(
        "CREATE INDEX IF NOT EXISTS listings_expiry ON listings (status, expires_at)",
    )?;
    connection.pragma_update(None, "user_version", STORE_VERSION)?;
    Ok(())
}

/// Whether `table` has `column`: migrations that add columns check it, so one interrupted before
/// `user_version` was written runs again safely.
fn has_column(connection: &Connection, table: &str, column: &str) -> Result<bool> {
    Ok(connection.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |row| row.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(connection: &Connection) -> i64 {
        connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_version_4_store_is_brought_forward_once_and_keeps_its_listings() {
        let dir = tempfile::tempdir().unwrap();
        {
            let connection = Connection::open(dir.path().join("store.sqlite3")).unwrap();
            for schema in [
                SCHEMA,
                recommendations::SCHEMA,
                embeddings::SCHEMA,
                idempotency::SCHEMA,
                recommendations::SCHEMA_V4,
            ] {
                connection.execute_batch(schema).unwrap();
            }
            connection
                .execute_batch(
                    "INSERT INTO organisations VALUES ('o', 'Org', 'university', NULL, 'CN', 0);
                     INSERT INTO listings VALUES ('l', 7, 'offer', 'o', NULL, 'published', 'en', 'CN', 5, 1, 0, 0, 0, 100, '{}');
                     PRAGMA user_version = 4;",
                )
                .unwrap();
        }
        for _ in 0..2 {
            let store = Store::open(dir.path()).unwrap();
            store
                .read(|connection| {
                    assert_eq!(user_version(connection), STORE_VERSION);
                    let analysis: Option<Vec<u8>> = connection.query_row(
                        "SELECT analysis FROM listings WHERE seq = 7",
                        [],
                        |row| row.get(0),
                    )?;
                    assert_eq!(analysis, None);
                    assert_eq!(listings::count_without_analysis(connection, &[1, 2, 3])?, 1);
                    Ok(())
                })
                .unwrap();
        }
    }
}
