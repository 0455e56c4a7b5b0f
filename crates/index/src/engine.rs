//! The engine: the record store and the search index kept in step. Writes go to SQLite first
//! (committed and fsynced), then to the index; opening replays whatever the index is missing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use silkmatch_core::{Listing, Timestamp};

use crate::dense::Dense;
use crate::error::{IndexError, Result};
use crate::facets::{DEFAULT_FACET_TABLE_BYTES, FacetTables};
use crate::filter_check::{DEFAULT_VALUE_BITS_BYTES, ValueBits};
use crate::matching::{DEFAULT_DOC_FREQ_ENTRIES, DEFAULT_SIDE_CACHE_ENTRIES, DocFreqs, SideCache};
use crate::search_index::SearchIndex;
use crate::snippet::{DEFAULT_TOKEN_CACHE_BYTES, TokenCache};
use crate::store::{self, Columns, ListingRow, Store, StoreStats};

/// Listings replayed into the index per commit while catching up or rebuilding.
const REPLAY_BATCH: usize = 20_000;

/// Reports progress of long work (replay, rebuild, import): `(done, total)`.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// The store and the index of one data directory.
pub struct Engine {
    dir: PathBuf,
    pub(crate) store: Store,
    pub(crate) index: SearchIndex,
    /// Serialises writers so change sequence numbers are assigned and indexed in order.
    pub(crate) write_lock: Mutex<()>,
    /// Prepared match candidates, by the change sequence number of their version.
    pub(crate) side_cache: SideCache,
    /// Decoded listings of search hits, by the change sequence number of their version.
    listing_cache: quick_cache::sync::Cache<u64, Arc<Listing>>,
    /// Listing vectors in memory and the model, when there is one (`dense/`).
    pub(crate) dense: Dense,
    /// Facet values of index segments, by segment id (segments never change).
    pub(crate) facet_tables: FacetTables,
    /// Per segment, the documents of each value of the fields hard constraints filter on.
    pub(crate) value_bits: ValueBits,
    /// Document frequencies of whole-text terms, by searcher generation, for matching.
    pub(crate) doc_freqs: DocFreqs,
    /// Analysed texts of search hits for snippets, by change sequence number and text.
    pub(crate) token_cache: TokenCache,
}

/// Decoded listings kept for search hits: about 4 KB each, so some 130 MB.
pub const DEFAULT_LISTING_CACHE_ENTRIES: usize = 32_768;

impl Engine {
    /// Opens the data directory (creating it when missing) and brings the index up to the store.
    pub fn open(dir: &Path) -> Result<Engine> {
        Engine::open_with_progress(dir, &|_, _| {})
    }

    /// `open`, reporting replay progress.
    pub fn open_with_progress(dir: &Path, progress: Progress<'_>) -> Result<Engine> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let store = Store::open(dir)?;
        let search_dir = dir.join("search");
        let index = match SearchIndex::open(&search_dir) {
            // The index is derived data: one built by another version is rebuilt from the store.
            Err(IndexError::SchemaChanged { found, expected }) => {
                tracing::warn!(
                    found,
                    expected,
                    "search index built by another silkmatch version; rebuilding it from the store"
                );
                std::fs::remove_dir_all(&search_dir).map_err(|source| IndexError::Io {
                    path: search_dir.display().to_string(),
                    source,
                })?;
                SearchIndex::open(&search_dir)?
            }
            other => other?,
        };
        let engine = Engine::assemble(dir, store, index);
        engine.catch_up(progress)?;
        engine.load_vectors()?;
        Ok(engine)
    }

    /// Opens the data directory for long read-mostly work (batch ranking) that may run while the
    /// server holds the index writer: with the writer (catching the index up) when it is free,
    /// else read-only, reading the index as the writer last committed it. Store writes work either way.
    pub fn open_shared(dir: &Path, progress: Progress<'_>) -> Result<Engine> {
        match Engine::open_with_progress(dir, progress) {
            Err(IndexError::Search(tantivy::TantivyError::LockFailure(..))) => {
                tracing::info!(
                    "the search index writer is held by another process; reading the index read-only"
                );
                let engine = Engine::assemble(
                    dir,
                    Store::open(dir)?,
                    SearchIndex::open_read_only(&dir.join("search"))?,
                );
                engine.load_vectors()?;
                Ok(engine)
            }
            other => other,
        }
    }

    /// An engine over an opened store and index, with empty caches.
    fn assemble(dir: &Path, store: Store, index: SearchIndex) -> Engine {
        Engine {
            dir: dir.to_owned(),
            store,
            index,
            write_lock: Mutex::new(()),
            side_cache: SideCache::new(DEFAULT_SIDE_CACHE_ENTRIES),
            listing_cache: quick_cache::sync::Cache::new(DEFAULT_LISTING_CACHE_ENTRIES),
            dense: Dense::default(),
            facet_tables: FacetTables::new(DEFAULT_FACET_TABLE_BYTES),
            value_bits: ValueBits::new(DEFAULT_VALUE_BITS_BYTES),
            doc_freqs: DocFreqs::new(DEFAULT_DOC_FREQ_ENTRIES),
            token_cache: TokenCache::new(DEFAULT_TOKEN_CACHE_BYTES),
        }
    }

    /// Deletes the search index and rebuilds it from the store; the store is untouched.
    pub fn reindex(dir: &Path, progress: Progress<'_>) -> Result<Engine> {
        let search_dir = dir.join("search");
        if !dir.join("store.sqlite3").exists() {
            return Err(IndexError::DataDir {
                path: dir.display().to_string(),
                reason: "there is no record store here to rebuild from".into(),
            });
        }
        if search_dir.exists() {
            std::fs::remove_dir_all(&search_dir).map_err(|source| IndexError::Io {
                path: search_dir.display().to_string(),
                source,
            })?;
        }
        Engine::open_with_progress(dir, progress)
    }

    /// Sets how many prepared match candidates are kept (each about 18 KB); a batch over the whole
    /// corpus with few offers wants them all, a small server fewer, 0 none. Drops what was cached.
    pub fn set_match_cache_entries(&mut self, entries: usize) {
        self.side_cache = SideCache::new(entries);
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replays every listing changed after the index's last commit, in change order.
    fn catch_up(&self, progress: Progress<'_>) -> Result<()> {
        let _writer = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut after = self.index.committed_seq();
        let total = self
            .store
            .read(|connection| store::listings::count_changed_since(connection, after))?;
        let mut done = 0;
        loop {
            let rows = self.store.read(|connection| {
                store::listings::changed_since(connection, after, REPLAY_BATCH)
            })?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            self.index.stage(&rows)?;
            self.index.commit(after)?;
            done += rows.len() as u64;
            progress(done, total);
        }
        if done > 0 {
            tracing::info!(
                replayed = done,
                seq = after,
                "search index caught up with the store"
            );
        }
        Ok(())
    }

    /// The store rows of search hits, in hit order, read by change sequence number. A hit whose
    /// listing was written again after the searcher opened is read by id instead: the store wins.
    /// Aligned with `addresses`; `None` only if the store has no such listing at all.
    pub(crate) fn hit_rows(
        &self,
        searcher: &tantivy::Searcher,
        addresses: &[tantivy::DocAddress],
        columns: Columns,
    ) -> Result<Vec<Option<ListingRow>>> {
        let seqs = SearchIndex::listing_seqs(searcher, addresses)?;
        let mut rows = self.rows_by_seq(&seqs, columns)?;
        let moved: Vec<tantivy::DocAddress> = rows
            .iter()
            .zip(addresses)
            .filter(|(row, _)| row.is_none())
            .map(|(_, address)| *address)
            .collect();
        if !moved.is_empty() {
            let ids = SearchIndex::listing_ids(searcher, &moved)?;
            let mut current: std::collections::HashMap<String, ListingRow> = self
                .store
                .read(|connection| store::listings::get_many(connection, &ids, columns))?
                .into_iter()
                .map(|row| (row.listing.id.clone(), row))
                .collect();
            for (slot, id) in rows.iter_mut().filter(|row| row.is_none()).zip(&ids) {
                *slot = current.remove(id);
            }
        }
        Ok(rows)
    }

    /// The store rows of hits some of which came from the index (an address: read as `hit_rows`
    /// does, so the store wins) and some from elsewhere (their version only: read by `seq`).
    /// Aligned with `hits`; one read of each kind.
    pub(crate) fn rows_of_hits(
        &self,
        searcher: &tantivy::Searcher,
        hits: &[(u64, Option<tantivy::DocAddress>)],
        columns: Columns,
    ) -> Result<Vec<Option<ListingRow>>> {
        let addresses: Vec<tantivy::DocAddress> =
            hits.iter().filter_map(|(_, address)| *address).collect();
        let seqs: Vec<u64> = hits
            .iter()
            .filter(|(_, address)| address.is_none())
            .map(|(seq, _)| *seq)
            .collect();
        let mut by_address = self.hit_rows(searcher, &addresses, columns)?.into_iter();
        let mut by_seq = self.rows_by_seq(&seqs, columns)?.into_iter();
        Ok(hits
            .iter()
            .map(|(_, address)| match address {
                Some(_) => by_address.next().flatten(),
                None => by_seq.next().flatten(),
            })
            .collect())
    }

    /// The store rows of these listing versions, aligned with `seqs`; `None` for a version the
    /// store has moved on from.
    pub(crate) fn rows_by_seq(
        &self,
        seqs: &[u64],
        columns: Columns,
    ) -> Result<Vec<Option<ListingRow>>> {
        // A change sequence number names one version for good, so a decoded listing kept under it
        // is never stale; popular listings skip the store read and the JSON decoding. (The cache
        // holds listings only: a read for analyses goes to the store.)
        let mut rows: Vec<Option<ListingRow>> = seqs
            .iter()
            .map(|seq| {
                let cached = match columns {
                    Columns::Listing => self.listing_cache.get(seq),
                    Columns::WithAnalysis => None,
                };
                cached.map(|listing| ListingRow {
                    seq: *seq,
                    listing: Listing::clone(&listing),
                    analysis: None,
                })
            })
            .collect();
        let unread: Vec<u64> = seqs
            .iter()
            .zip(&rows)
            .filter(|(_, row)| row.is_none())
            .map(|(seq, _)| *seq)
            .collect();
        if !unread.is_empty() {
            let read = self.store.read(|connection| {
                store::listings::get_many_by_seq(connection, &unread, columns)
            })?;
            for (slot, row) in rows.iter_mut().filter(|row| row.is_none()).zip(read) {
                if let Some(row) = &row {
                    self.listing_cache
                        .insert(row.seq, Arc::new(row.listing.clone()));
                }
                *slot = row;
            }
        }
        Ok(rows)
    }

    pub(crate) fn clear_listing_cache(&self) {
        self.listing_cache.clear();
    }

    /// The listing with this id, any status (callers decide what the reader may see).
    pub fn get(&self, id: &str) -> Result<Option<Listing>> {
        Ok(self
            .store
            .read(|connection| store::listings::get(connection, id))?
            .map(|row| row.listing))
    }

    /// Resolves a listing by id, or by external id when that is unique across owners.
    pub fn resolve(&self, id_or_external_id: &str) -> Result<Listing> {
        if let Some(listing) = self.get(id_or_external_id)? {
            return Ok(listing);
        }
        let mut found = self.store.read(|connection| {
            store::listings::find_by_external_id(connection, id_or_external_id)
        })?;
        match found.len() {
            1 => Ok(found.remove(0).listing),
            _ => Err(IndexError::NotFound {
                what: "listing",
                id: id_or_external_id.to_owned(),
            }),
        }
    }

    /// Counts of the store and the index.
    pub fn stats(&self, now: Timestamp) -> Result<EngineStats> {
        let store = self
            .store
            .read(|connection| store::listings::stats(connection, now))?;
        Ok(EngineStats {
            index_documents: self.index.num_docs(),
            index_segments: self.index.num_segments(),
            index_seq: self.index.committed_seq(),
            index_bytes: dir_size(&self.dir.join("search")),
            store_bytes: dir_size_matching(&self.dir, "store.sqlite3"),
            store,
            meaning: self.dense_status()?,
        })
    }

    /// An organisation's own listings, any status, most recently changed first (at most `limit`).
    /// Callers must only pass the caller's own organisation: these include drafts and contacts.
    pub fn listings_of(&self, owner: &str, limit: usize) -> Result<Vec<Listing>> {
        Ok(self
            .store
            .read(|connection| store::listings::by_owner(connection, owner, limit))?
            .into_iter()
            .map(|row| row.listing)
            .collect())
    }

    /// Rows changed after `seq` (for tools that follow the store).
    pub fn changed_since(&self, seq: u64, limit: usize) -> Result<Vec<ListingRow>> {
        self.store
            .read(|connection| store::listings::changed_since(connection, seq, limit))
    }

    /// Closes the engine after background merges finish, so the directory is left tidy.
    pub fn close(self) -> Result<()> {
        self.index.wait_merging()
    }
}

/// What `silkmatch stats` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStats {
    /// Store counts.
    pub store: StoreStats,
    /// Documents in the index (every listing, any status).
    pub index_documents: u64,
    /// Index segments.
    pub index_segments: usize,
    /// Store change the index has reached.
    pub index_seq: u64,
    /// Index size on disk.
    pub index_bytes: u64,
    /// Store size on disk (database and its write-ahead log).
    pub store_bytes: u64,
    /// Listing vectors: how many, from which model, how far embedding has come.
    pub meaning: crate::DenseStatus,
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.metadata().ok())
                .filter(|meta| meta.is_file())
                .map(|meta| meta.len())
                .sum()
        })
        .unwrap_or(0)
}

fn dir_size_matching(dir: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
                .filter_map(|entry| entry.metadata().ok())
                .map(|meta| meta.len())
                .sum()
        })
        .unwrap_or(0)
}

impl Engine {
    /// The organisation with this id.
    pub fn organisation(&self, id: &str) -> Result<Option<store::OrganisationRecord>> {
        self.store
            .read(|connection| store::organisations::get(connection, id))
    }
}
