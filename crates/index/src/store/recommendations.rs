//! Batch-ranking runs and the recommendations they produced. The API serves a listing's latest
//! recommendation list from here; `--since-last-run` reads the last finished run and the reverse
//! index (candidate → listings recommending it) to find what an edit can have changed.

use rusqlite::{Connection, OptionalExtension, params};

use crate::dense::VectorsAt;
use crate::error::Result;

/// Tables of this module, created by the store's migration.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS batch_runs (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,
    k INTEGER NOT NULL,
    partition TEXT,
    ranked_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    store_seq INTEGER NOT NULL,
    listings INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS recommendations (
    listing_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    run_id TEXT NOT NULL,
    ranked_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recommended_candidates (
    listing_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    PRIMARY KEY (listing_id, candidate_id)
);
CREATE INDEX IF NOT EXISTS recommended_candidates_candidate ON recommended_candidates (candidate_id);
";

/// Schema version 4: the vectors a run ranked with (`VectorsAt`), so the next incremental run
/// finds the listings whose vector arrived or changed since. Runs recorded before have none.
pub(crate) const SCHEMA_V4: &str = "
ALTER TABLE batch_runs ADD COLUMN vectors_model TEXT;
ALTER TABLE batch_runs ADD COLUMN vectors_seq INTEGER NOT NULL DEFAULT 0;
";

/// A finished batch run, as recorded when its output was complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Run id (a hash of its parameters).
    pub id: String,
    /// `needs`, `offers` or `both`.
    pub direction: String,
    /// Candidates per listing.
    pub k: u64,
    /// `I/N` when the run was one shard, else `None`.
    pub partition: Option<String>,
    /// The run's reference time (unix seconds): every listing was ranked as of this instant.
    pub ranked_at: i64,
    /// Wall-clock end of the run (unix seconds).
    pub finished_at: i64,
    /// Store change sequence number the run's plan was taken at.
    pub store_seq: u64,
    /// Listings in the run's output.
    pub listings: u64,
    /// The listing vectors the run ranked with, `None` when it ranked by words alone.
    pub vectors: Option<VectorsAt>,
}

/// One stored recommendation list: the serialised ranked listing and when it was ranked.
#[derive(Debug, Clone)]
pub struct StoredList {
    /// The run that produced it.
    pub run_id: String,
    /// The run's reference time (unix seconds).
    pub ranked_at: i64,
    /// The ranked listing as JSON (`batch::Ranked`).
    pub body: String,
}

/// Replaces `listing_id`'s recommendation list and its reverse-index rows.
pub fn put_list(
    connection: &Connection,
    listing_id: &str,
    kind: &str,
    run_id: &str,
    ranked_at: i64,
    body: &str,
    candidate_ids: &[&str],
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO recommendations (listing_id, kind, run_id, ranked_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (listing_id) DO UPDATE SET kind = excluded.kind, run_id = excluded.run_id,
               ranked_at = excluded.ranked_at, body = excluded.body",
        )?
        .execute(params![listing_id, kind, run_id, ranked_at, body])?;
    connection
        .prepare_cached("DELETE FROM recommended_candidates WHERE listing_id = ?1")?
        .execute([listing_id])?;
    let mut insert = connection.prepare_cached(
        "INSERT OR IGNORE INTO recommended_candidates (listing_id, candidate_id) VALUES (?1, ?2)",
    )?;
    for candidate in candidate_ids {
        insert.execute([listing_id, candidate])?;
    }
    Ok(())
}

/// The stored recommendation list of `listing_id`, if any run ranked it.
pub fn get_list(connection: &Connection, listing_id: &str) -> Result<Option<StoredList>> {
    Ok(connection
        .prepare_cached(
            "SELECT run_id, ranked_at, body FROM recommendations WHERE listing_id = ?1",
        )?
        .query_row([listing_id], |row| {
            Ok(StoredList {
                run_id: row.get(0)?,
                ranked_at: row.get(1)?,
                body: row.get(2)?,
            })
        })
        .optional()?)
}

/// Listings whose stored recommendations name `candidate_id`.
pub fn recommending(connection: &Connection, candidate_id: &str) -> Result<Vec<String>> {
    let mut statement = connection.prepare_cached(
        "SELECT listing_id FROM recommended_candidates WHERE candidate_id = ?1 ORDER BY listing_id",
    )?;
    let rows = statement
        .query_map([candidate_id], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

/// Records a finished run (idempotent: a resumed run records itself once).
pub fn put_run(connection: &Connection, run: &RunRecord) -> Result<()> {
    connection.execute(
        "INSERT INTO batch_runs (id, direction, k, partition, ranked_at, finished_at, store_seq, listings, vectors_model, vectors_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, listings = excluded.listings",
        params![
            run.id,
            run.direction,
            run.k,
            run.partition,
            run.ranked_at,
            run.finished_at,
            run.store_seq,
            run.listings,
            run.vectors.as_ref().map(|at| at.model.as_str()),
            run.vectors.as_ref().map_or(0, |at| at.reached_seq)
        ],
    )?;
    Ok(())
}

/// The most recently finished whole (unpartitioned) run, the base of `--since-last-run`.
pub fn last_full_run(connection: &Connection) -> Result<Option<RunRecord>> {
    Ok(connection
        .query_row(
            "SELECT id, direction, k, partition, ranked_at, finished_at, store_seq, listings, vectors_model, vectors_seq
             FROM batch_runs WHERE partition IS NULL ORDER BY finished_at DESC, ranked_at DESC, id DESC LIMIT 1",
            [],
            |row| {
                Ok(RunRecord {
                    id: row.get(0)?,
                    direction: row.get(1)?,
                    k: row.get(2)?,
                    partition: row.get(3)?,
                    ranked_at: row.get(4)?,
                    finished_at: row.get(5)?,
                    store_seq: row.get(6)?,
                    listings: row.get(7)?,
                    vectors: row
                        .get::<_, Option<String>>(8)?
                        .map(|model| -> rusqlite::Result<VectorsAt> {
                            Ok(VectorsAt {
                                model,
                                reached_seq: row.get(9)?,
                            })
                        })
                        .transpose()?,
                })
            },
        )
        .optional()?)
}

/// Ids of published listings of `kind` that are live at `now`, in id order: a batch run's plan.
pub fn open_ids(connection: &Connection, kind: &str, now: i64) -> Result<Vec<String>> {
    let mut statement = connection.prepare_cached(
        "SELECT id FROM listings WHERE kind = ?1 AND status = 'published'
           AND (expires_at IS NULL OR expires_at > ?2) ORDER BY id",
    )?;
    let rows = statement
        .query_map(params![kind, now], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

/// How many listings of `kind` are open at `now` (what `open_ids` would list).
pub fn count_open(connection: &Connection, kind: &str, now: i64) -> Result<u64> {
    Ok(connection.query_row(
        "SELECT COUNT(*) FROM listings WHERE kind = ?1 AND status = 'published'
           AND (expires_at IS NULL OR expires_at > ?2)",
        params![kind, now],
        |row| row.get(0),
    )?)
}

/// Ids of listings whose publication lapsed in `(after, until]`: they changed without a write.
pub fn expired_between(connection: &Connection, after: i64, until: i64) -> Result<Vec<String>> {
    let mut statement = connection.prepare_cached(
        "SELECT id FROM listings WHERE status = 'published' AND expires_at > ?1 AND expires_at <= ?2 ORDER BY id",
    )?;
    let rows = statement
        .query_map(params![after, until], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        connection.execute_batch(SCHEMA_V4).unwrap();
        connection
    }

    #[test]
    fn lists_replace_their_reverse_index() {
        let connection = connection();
        put_list(&connection, "n1", "need", "r1", 10, "{}", &["o1", "o2"]).unwrap();
        put_list(&connection, "n2", "need", "r1", 10, "{}", &["o2"]).unwrap();
        assert_eq!(recommending(&connection, "o2").unwrap(), ["n1", "n2"]);
        put_list(&connection, "n1", "need", "r2", 20, "[]", &["o3"]).unwrap();
        assert_eq!(recommending(&connection, "o2").unwrap(), ["n2"]);
        assert_eq!(
            recommending(&connection, "o1").unwrap(),
            Vec::<String>::new()
        );
        let stored = get_list(&connection, "n1").unwrap().unwrap();
        assert_eq!((stored.run_id.as_str(), stored.ranked_at), ("r2", 20));
    }

    #[test]
    fn last_full_run_ignores_shards() {
        let connection = connection();
        let mut run = RunRecord {
            id: "a".into(),
            direction: "needs".into(),
            k: 20,
            partition: None,
            ranked_at: 5,
            finished_at: 6,
            store_seq: 3,
            listings: 9,
            vectors: Some(VectorsAt {
                model: "m".into(),
                reached_seq: 2,
            }),
        };
        put_run(&connection, &run).unwrap();
        let first = run.clone();
        run.id = "b".into();
        run.partition = Some("0/2".into());
        run.finished_at = 7;
        put_run(&connection, &run).unwrap();
        assert_eq!(last_full_run(&connection).unwrap().unwrap(), first);
        // A run by words alone records no vectors.
        run.id = "c".into();
        run.partition = None;
        run.finished_at = 8;
        run.vectors = None;
        put_run(&connection, &run).unwrap();
        assert_eq!(last_full_run(&connection).unwrap().unwrap(), run);
    }
}
