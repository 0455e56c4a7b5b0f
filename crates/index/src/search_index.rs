//! The tantivy index derived from the record store. Each commit carries, in its payload, the last
//! change sequence number it contains, so an opened index knows exactly what to replay.

use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::LogMergePolicy;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, Term};

use crate::analyzers;
use crate::error::{IndexError, Result};
use crate::schema::{Fields, SCHEMA_VERSION};
use crate::store::ListingRow;

/// What each commit records about itself.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct CommitPayload {
    /// Last store change contained in this commit.
    seq: u64,
    /// `SCHEMA_VERSION` the index was built with.
    schema: u32,
}

/// Memory for the indexing arena, shared by the writer's threads: enough for large batches without
/// crowding a 2-core, small-memory machine.
const WRITER_MEMORY_BYTES: usize = 192 * 1024 * 1024;

/// The search index: one long-lived writer (none when opened read-only), a reader reloaded after
/// each commit.
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    writer: Option<Mutex<IndexWriter>>,
    committed_seq: Mutex<u64>,
}

impl SearchIndex {
    /// Opens the index in `dir`, or creates an empty one. An index built with another schema version
    /// (or unreadable) is reported so the caller can rebuild it from the store.
    pub fn open(dir: &Path) -> Result<SearchIndex> {
        SearchIndex::open_as(dir, true)
    }

    /// Opens an existing index without a writer, so another process (the server) may hold the
    /// writer lock meanwhile; the reader sees the commits made before opening.
    pub fn open_read_only(dir: &Path) -> Result<SearchIndex> {
        SearchIndex::open_as(dir, false)
    }

    fn open_as(dir: &Path, writable: bool) -> Result<SearchIndex> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let (schema, fields) = Fields::build();
        let directory = MmapDirectory::open(dir).map_err(|err| IndexError::DataDir {
            path: dir.display().to_string(),
            reason: err.to_string(),
        })?;
        let index = Index::open_or_create(directory, schema).map_err(|err| match err {
            // Fields added or changed by another version: the caller rebuilds from the store.
            tantivy::TantivyError::SchemaError(_) => IndexError::SchemaChanged { found: 0, expected: SCHEMA_VERSION },
            other => IndexError::DataDir {
                path: dir.display().to_string(),
                reason: format!("the search index cannot be opened ({other}); run `silkmatch reindex` to rebuild it from the store"),
            },
        })?;
        analyzers::register(&index);
        let payload = index.load_metas()?.payload;
        let committed = match payload
            .as_deref()
            .map(serde_json::from_str::<CommitPayload>)
        {
            None => CommitPayload {
                seq: 0,
                schema: SCHEMA_VERSION,
            },
            Some(Ok(payload)) => payload,
            Some(Err(err)) => {
                return Err(IndexError::DataDir {
                    path: dir.display().to_string(),
                    reason: format!("unreadable commit payload ({err}); run `silkmatch reindex`"),
                });
            }
        };
        if committed.schema != SCHEMA_VERSION {
            return Err(IndexError::SchemaChanged {
                found: committed.schema,
                expected: SCHEMA_VERSION,
            });
        }
        let writer = if writable {
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, 4);
            let writer: IndexWriter =
                index.writer_with_num_threads(threads, WRITER_MEMORY_BYTES)?;
            let mut merge_policy = LogMergePolicy::default();
            // Many small updates leave deletes behind; merge a segment once a fifth of it is deleted.
            merge_policy.set_del_docs_ratio_before_merge(0.2);
            writer.set_merge_policy(Box::new(merge_policy));
            Some(Mutex::new(writer))
        } else {
            None
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            reader,
            fields,
            writer,
            committed_seq: Mutex::new(committed.seq),
        })
    }

    /// Last store change sequence number the committed index contains.
    pub fn committed_seq(&self) -> u64 {
        *self
            .committed_seq
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Field handles.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// A searcher over the last reloaded commit.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The store change sequence numbers of hits, read from the `seq` fast field: an integer per hit,
    /// no string dictionary or stored-document decompression; each segment's column is opened once.
    pub fn listing_seqs(
        searcher: &Searcher,
        addresses: &[tantivy::DocAddress],
    ) -> Result<Vec<u64>> {
        Ok(SearchIndex::fast_values(searcher, addresses, "seq")?
            .into_iter()
            .map(|seq| seq.unwrap_or(0))
            .collect())
    }

    /// A `u64` fast field's first value for each hit (`None` where the document has none).
    pub fn fast_values(
        searcher: &Searcher,
        addresses: &[tantivy::DocAddress],
        field: &str,
    ) -> Result<Vec<Option<u64>>> {
        let mut columns: std::collections::HashMap<u32, tantivy::columnar::Column<u64>> =
            std::collections::HashMap::new();
        let mut values = Vec::with_capacity(addresses.len());
        for address in addresses {
            let column = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => entry.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64(field)?,
                ),
            };
            values.push(column.first(address.doc_id));
        }
        Ok(values)
    }

    /// The listing ids of hits, read from the `id` fast field; slower than `listing_seqs`, so only
    /// for hits whose version the store has moved on from since the searcher was opened.
    pub fn listing_ids(
        searcher: &Searcher,
        addresses: &[tantivy::DocAddress],
    ) -> Result<Vec<String>> {
        let mut columns: std::collections::HashMap<u32, tantivy::columnar::StrColumn> =
            std::collections::HashMap::new();
        let mut ids = Vec::with_capacity(addresses.len());
        for address in addresses {
            let column = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let column = searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .str("id")?
                        .ok_or_else(|| IndexError::DataDir {
                            path: String::new(),
                            reason: "the index has no `id` fast field; run `silkmatch reindex`"
                                .into(),
                        })?;
                    entry.insert(column)
                }
            };
            let mut id = String::new();
            if let Some(ord) = column.term_ords(address.doc_id).next() {
                column
                    .ord_to_str(ord, &mut id)
                    .map_err(|err| IndexError::Io {
                        path: "index id column".into(),
                        source: err,
                    })?;
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// Stages the current state of changed listings: each replaces any older version of itself.
    pub fn stage(&self, rows: &[ListingRow]) -> Result<()> {
        let writer = self
            .writer()?
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for row in rows {
            writer.delete_term(Term::from_field_text(self.fields.id, &row.listing.id));
            writer.add_document(self.fields.document(&row.listing, row.seq))?;
        }
        Ok(())
    }

    /// Commits what was staged, recording `seq`, and makes it visible to new searchers.
    pub fn commit(&self, seq: u64) -> Result<()> {
        let mut writer = self
            .writer()?
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut prepared = writer.prepare_commit()?;
        let payload = serde_json::to_string(&CommitPayload {
            seq,
            schema: SCHEMA_VERSION,
        })
        .expect("payload serialises");
        prepared.set_payload(&payload);
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        *self
            .committed_seq
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = seq;
        Ok(())
    }

    /// Drops staged, uncommitted changes (after a failed write).
    pub fn rollback(&self) -> Result<()> {
        self.writer()?
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .rollback()?;
        Ok(())
    }

    /// Number of live documents (every listing, any status).
    pub fn num_docs(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Number of segments, for `stats` and merge-policy checks.
    pub fn num_segments(&self) -> usize {
        self.searcher().segment_readers().len()
    }

    /// Waits for background merges to finish (before measuring size, or on shutdown).
    pub fn wait_merging(self) -> Result<()> {
        if let Some(writer) = self.writer {
            writer
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .wait_merging_threads()?;
        }
        Ok(())
    }

    /// The writer, or an error saying the index was opened read-only.
    fn writer(&self) -> Result<&Mutex<IndexWriter>> {
        self.writer.as_ref().ok_or_else(|| IndexError::DataDir {
            path: String::new(),
            reason: "the search index was opened read-only (another process holds its writer)"
                .into(),
        })
    }
}
