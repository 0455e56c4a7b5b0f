//! Meaning: multilingual listing embeddings kept beside the text index, so that a need written in
//! Chinese finds the English offer that serves it.
//!
//! The model itself is not here (this crate knows no model runtime): callers hand the engine an
//! [`Embedder`]. Embedding runs behind the write path, as a catch-up worker ([`Engine::embed_pending`]):
//! a write is acknowledged when the store and the text index have it, and its vector follows.
//! Vectors are stored in the record store (`store/embeddings.rs`, with the change sequence number
//! embedding has reached) and held in memory as 8-bit codes (`vectors.rs`), rebuilt at open.

mod pin;
mod search;
mod vectors;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use sha2::{Digest, Sha256};
use silkmatch_core::{Listing, Status, Timestamp};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::BooleanQuery;
use tantivy::{DocId, Score, SegmentReader};

pub use pin::{VectorsAt, VectorsPin};
pub use search::{FUSION_DEPTH, TextMode};
pub(crate) use search::{FusedPage, add_facets};
pub use vectors::{Code, SeqSet, VectorIndex, quantise};

use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::query::{Filters, filter_clauses};
use crate::store::embeddings::{self, EmbeddingState, StoredEmbedding};
use crate::store::{self};

/// Characters of a listing handed to the model. The model reads 512 tokens (about 2,000
/// characters of English: title, summary and the start of the description); cutting the text
/// before tokenising bounds the work on very long descriptions.
pub const MAX_PASSAGE_CHARS: usize = 4_000;

/// Listings embedded per store transaction while catching up: enough that the model's
/// length-sorted batches pad little (32 gave 4.1 listings/s on the demo listings, 128 gives 5.1),
/// few enough that an interrupted pass loses under half a minute of work.
const EMBED_BATCH: usize = 128;

/// Listings whose vectors are loaded per store read at open.
const LOAD_PAGE: usize = 10_000;

/// A sentence-embedding model, as the engine needs it. Implemented by the CLI over `silkmatch-embed`.
pub trait Embedder: Send + Sync {
    /// Names the model and its weights; vectors of another model are never mixed with these.
    fn model_id(&self) -> String;
    /// Vector length.
    fn dimensions(&self) -> usize;
    /// Unit vectors of listing texts (`passage: ` side of the model).
    fn embed_passages(&self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, String>;
    /// The unit vector of a search query (`query: ` side).
    fn embed_query(&self, text: &str) -> std::result::Result<Vec<f32>, String>;
}

/// The vectors in memory and which they are, always replaced together.
pub(crate) struct Loaded {
    pub(crate) index: VectorIndex,
    pub(crate) at: VectorsAt,
}

/// The engine's meaning state: the vectors in memory and, when one was given, the model.
pub(crate) struct Dense {
    vectors: RwLock<Option<Loaded>>,
    /// Set by `pin_vectors`: no vector beyond the loaded ones is read, not even from the store.
    pub(crate) pinned: AtomicBool,
    pub(crate) embedder: RwLock<Option<Arc<dyn Embedder>>>,
    /// Quantised query vectors by query text.
    pub(crate) query_codes: quick_cache::sync::Cache<String, Arc<Code>>,
}

impl Default for Dense {
    fn default() -> Dense {
        Dense {
            vectors: RwLock::new(None),
            pinned: AtomicBool::new(false),
            embedder: RwLock::new(None),
            query_codes: quick_cache::sync::Cache::new(search::QUERY_CACHE_ENTRIES),
        }
    }
}

impl Dense {
    /// The vectors in memory, for reading.
    pub(crate) fn loaded(&self) -> RwLockReadGuard<'_, Option<Loaded>> {
        self.vectors.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The vectors in memory, for replacing or adding to.
    pub(crate) fn loaded_mut(&self) -> RwLockWriteGuard<'_, Option<Loaded>> {
        self.vectors.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the vector index, when vectors are loaded.
    fn with_index<T>(&self, f: impl FnOnce(&VectorIndex) -> T) -> Option<T> {
        self.loaded().as_ref().map(|loaded| f(&loaded.index))
    }
}

/// What a catch-up pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EmbedReport {
    /// Listings run through the model.
    pub embedded: u64,
    /// Listings whose text was unchanged since their last vector (no model run).
    pub reused: u64,
    /// Changes that need no vector (drafts, withdrawn or expired listings).
    pub skipped: u64,
    /// The change sequence number embedding has reached.
    pub reached_seq: u64,
}

/// Where embedding stands, for `stats`, `/readyz` and `model status`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DenseStatus {
    /// The model the stored vectors come from, if any.
    pub model: Option<String>,
    /// Listings with a vector in memory.
    pub vectors: u64,
    /// The change sequence number embedding has reached.
    pub reached_seq: u64,
    /// The store's newest change: embedding is behind by `last_seq - reached_seq` changes.
    pub last_seq: u64,
    /// Memory held by the vector codes.
    pub memory_bytes: u64,
}

/// What the model reads of a listing: title, summary and description, one per line, cut to
/// `MAX_PASSAGE_CHARS`. A blank part is left out: trailing line breaks are tokens to the model and
/// shift the vector (a title alone with two empty lines after it lands at cosine 0.99 of itself).
pub fn passage_text(listing: &Listing) -> String {
    let body = &listing.body;
    let parts = [
        Some(body.title.as_str()),
        Some(body.summary.as_str()),
        body.description.as_deref(),
    ];
    let text = parts
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    match text.char_indices().nth(MAX_PASSAGE_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text,
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn model_error(reason: String) -> IndexError {
    IndexError::Model { reason }
}

impl Engine {
    /// Gives the engine a model: queries and unstored listings can then be embedded, and
    /// `embed_pending` can run. Without one, stored vectors are still used for stored listings.
    pub fn set_embedder(&self, embedder: Arc<dyn Embedder>) {
        *self
            .dense
            .embedder
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(embedder);
    }

    /// The model given to the engine, if any.
    pub fn embedder(&self) -> Option<Arc<dyn Embedder>> {
        self.dense
            .embedder
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether any listing has a vector: the meaning signal and dense candidates are in play.
    pub fn has_vectors(&self) -> bool {
        self.dense
            .with_index(|index| !index.is_empty())
            .unwrap_or(false)
    }

    /// Where embedding stands.
    pub fn dense_status(&self) -> Result<DenseStatus> {
        let state = self.store.read(embeddings::state)?;
        let last_seq = self.store.read(store::listings::last_seq)?;
        let (vectors, memory_bytes) = self
            .dense
            .with_index(|index| (index.len() as u64, index.memory_bytes() as u64))
            .unwrap_or_default();
        Ok(DenseStatus {
            model: state.as_ref().map(|state| state.model.clone()),
            vectors,
            reached_seq: state.map_or(0, |state| state.reached_seq),
            last_seq,
            memory_bytes,
        })
    }

    /// Embeds every listing changed since embedding last stopped, in change order, committing each
    /// small batch with the sequence number reached (so an interrupted pass resumes where it was).
    /// Listings that are not published get no vector until they are; an unchanged text re-uses its
    /// vector. Vectors of another model are dropped first.
    pub fn embed_pending(
        &self,
        embedder: &dyn Embedder,
        limit: Option<u64>,
        progress: crate::Progress<'_>,
    ) -> Result<EmbedReport> {
        if self.vectors_pinned() {
            return Err(model_error(
                "this engine ranks with pinned vectors (a batch run); embed in another process"
                    .into(),
            ));
        }
        let model = embedder.model_id();
        let dimensions = embedder.dimensions();
        let mut state = match self.store.read(embeddings::state)? {
            Some(state) if state.model == model && state.dimensions == dimensions => state,
            previous => {
                if let Some(previous) = previous {
                    tracing::warn!(old = %previous.model, new = %model, "listing vectors come from another model; embedding everything again");
                }
                self.store.write(|transaction| {
                    embeddings::clear(transaction)?;
                    let fresh = EmbeddingState {
                        model: model.clone(),
                        dimensions,
                        reached_seq: 0,
                    };
                    embeddings::set_state(transaction, &fresh)?;
                    Ok(fresh)
                })?
            }
        };
        // The memory must hold what the store says was reached (another process may have embedded
        // since this engine loaded, or the vectors were just dropped) before this pass adds to it.
        let reached = VectorsAt {
            model: model.clone(),
            reached_seq: state.reached_seq,
        };
        if self.vectors_at().as_ref() != Some(&reached) {
            self.load_vectors_until(&state, state.reached_seq)?;
        }
        let total = self.store.read(|connection| {
            store::listings::count_changed_since(connection, state.reached_seq)
        })?;
        let total = limit.map_or(total, |limit| total.min(limit));
        let mut report = EmbedReport {
            reached_seq: state.reached_seq,
            ..EmbedReport::default()
        };
        let mut done = 0u64;
        while done < total {
            let batch = EMBED_BATCH.min((total - done) as usize);
            let rows = self.store.read(|connection| {
                store::listings::changed_since(connection, state.reached_seq, batch)
            })?;
            let Some(last) = rows.last() else { break };
            let last_seq = last.seq;
            // Decide per row: embed, re-use the vector of an unchanged text, or nothing.
            let mut to_embed: Vec<(usize, String, [u8; 32])> = Vec::new();
            let mut reuse: Vec<usize> = Vec::new();
            let ids: Vec<&str> = rows.iter().map(|row| row.listing.id.as_str()).collect();
            let stored_hashes = self
                .store
                .read(|connection| embeddings::text_hashes(connection, &ids))?;
            for (position, row) in rows.iter().enumerate() {
                if row.listing.status != Status::Published {
                    report.skipped += 1;
                    continue;
                }
                let text = passage_text(&row.listing);
                let hash = digest(&text);
                if stored_hashes.get(&row.listing.id) == Some(&hash) {
                    reuse.push(position);
                } else {
                    to_embed.push((position, text, hash));
                }
            }
            let texts: Vec<String> = to_embed.iter().map(|(_, text, _)| text.clone()).collect();
            let fresh = if texts.is_empty() {
                Vec::new()
            } else {
                embedder.embed_passages(&texts).map_err(model_error)?
            };
            if fresh.len() != texts.len() || fresh.iter().any(|vector| vector.len() != dimensions) {
                return Err(model_error(format!(
                    "the model returned {} vectors for {} texts (or vectors of the wrong length)",
                    fresh.len(),
                    texts.len()
                )));
            }
            let stored: Vec<StoredEmbedding> = to_embed
                .iter()
                .zip(fresh)
                .map(|((position, _, hash), vector)| StoredEmbedding {
                    listing_id: rows[*position].listing.id.clone(),
                    seq: rows[*position].seq,
                    text_hash: *hash,
                    vector,
                })
                .collect();
            state.reached_seq = last_seq;
            let reused: Vec<(u64, String, Vec<f32>)> = self.store.write(|transaction| {
                for embedding in &stored {
                    embeddings::put(transaction, embedding)?;
                }
                let mut reused = Vec::new();
                for position in &reuse {
                    let row = &rows[*position];
                    if let Some(vector) =
                        embeddings::advance(transaction, &row.listing.id, row.seq)?
                    {
                        reused.push((row.seq, row.listing.id.clone(), vector));
                    }
                }
                embeddings::set_state(transaction, &state)?;
                Ok(reused)
            })?;
            {
                let mut loaded = self.dense.loaded_mut();
                let loaded = loaded.get_or_insert_with(|| Loaded {
                    index: VectorIndex::new(dimensions),
                    at: reached.clone(),
                });
                for embedding in &stored {
                    loaded
                        .index
                        .put((embedding.seq, &embedding.listing_id, &embedding.vector));
                }
                for (seq, id, vector) in &reused {
                    loaded.index.put((*seq, id, vector));
                }
                loaded.at.reached_seq = last_seq;
            }
            report.embedded += stored.len() as u64;
            report.reused += reused.len() as u64;
            report.reached_seq = last_seq;
            done += rows.len() as u64;
            progress(done, total);
        }
        Ok(report)
    }

    /// The quantised vector of `listing` as it is now: its stored vector when the stored version is
    /// this one (from memory, or from the store when another process embedded it since this engine
    /// loaded, unless the vectors are pinned), else computed by the model when the engine has one,
    /// else `None`.
    pub(crate) fn listing_code(&self, listing: &Listing, seq: Option<u64>) -> Result<Option<Code>> {
        if let Some(seq) = seq {
            let in_memory = self.dense.with_index(|index| index.code_at(seq)).flatten();
            if in_memory.is_some() || self.vectors_pinned() {
                return Ok(in_memory);
            }
            let stored = self
                .store
                .read(|connection| embeddings::vector_at(connection, &listing.id, seq))?;
            if let Some(vector) = stored {
                return Ok(Some(quantise(&vector)));
            }
        }
        match self.embedder() {
            Some(embedder) => {
                let mut vectors = embedder
                    .embed_passages(&[passage_text(listing)])
                    .map_err(model_error)?;
                Ok(vectors.pop().map(|vector| quantise(&vector)))
            }
            None => Ok(None),
        }
    }

    /// The code of the newest vector in memory for a listing, whichever version it stands for.
    pub(crate) fn listing_code_of(&self, listing_id: &str) -> Option<Code> {
        self.dense
            .with_index(|index| index.code_of_listing(listing_id))
            .flatten()
    }

    /// The `seq`s of the listing versions matching `filters` at `now`: the allowed set a vector
    /// search ranks within, so filters apply before top-k.
    fn allowed(
        &self,
        searcher: &tantivy::Searcher,
        filters: &Filters,
        now: Timestamp,
    ) -> Result<SeqSet> {
        let query = BooleanQuery::new(filter_clauses(self.index.fields(), filters, now));
        Ok(searcher.search(&query, &SeqSetCollector)?)
    }

    /// The `k` listing versions matching `filters` at `now` nearest in meaning to `code`, best
    /// first: the filters select the allowed set in the text index before the vectors are ranked.
    pub(crate) fn nearest_allowed(
        &self,
        searcher: &tantivy::Searcher,
        filters: &Filters,
        now: Timestamp,
        code: &Code,
        k: usize,
    ) -> Result<Vec<(u64, f32)>> {
        let allowed = self.allowed(searcher, filters, now)?;
        Ok(self
            .dense
            .with_index(|index| index.nearest(code, &allowed, k))
            .unwrap_or_default())
    }

    /// The listing versions matching `filters` at `now` whose similarity with `code` is above
    /// `floor`, in `seq` order: every listing a listing of this meaning can reach as a partner
    /// found by meaning alone (`core::matching::rank` keeps those only above the floor).
    pub(crate) fn related_allowed(
        &self,
        searcher: &tantivy::Searcher,
        filters: &Filters,
        now: Timestamp,
        code: &Code,
        floor: f32,
    ) -> Result<Vec<u64>> {
        let allowed = self.allowed(searcher, filters, now)?;
        Ok(self
            .dense
            .with_index(|index| index.above(code, &allowed, floor))
            .unwrap_or_default())
    }

    /// Cosine similarities (from the codes) of listing versions with `code`, aligned with `seqs`.
    pub(crate) fn similarities(&self, code: &Code, seqs: &[u64]) -> Vec<Option<f32>> {
        self.dense
            .with_index(|index| {
                seqs.iter()
                    .map(|seq| index.similarity(code, *seq))
                    .collect()
            })
            .unwrap_or_else(|| vec![None; seqs.len()])
    }
}

/// Collects the `seq` of every matching document: the allowed set of a filtered vector search.
pub(crate) struct SeqSetCollector;

/// Per-segment state of `SeqSetCollector`.
pub(crate) struct SeqSetSegmentCollector {
    column: Column<u64>,
    seqs: SeqSet,
}

impl Collector for SeqSetCollector {
    type Fruit = SeqSet;
    type Child = SeqSetSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<SeqSetSegmentCollector> {
        Ok(SeqSetSegmentCollector {
            column: segment.fast_fields().u64("seq")?,
            seqs: SeqSet::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<SeqSet>) -> tantivy::Result<SeqSet> {
        let mut merged = SeqSet::default();
        for segment in &segments {
            merged.union_with(segment);
        }
        Ok(merged)
    }
}

impl SegmentCollector for SeqSetSegmentCollector {
    type Fruit = SeqSet;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(seq) = self.column.first(doc) {
            self.seqs.insert(seq);
        }
    }

    fn harvest(self) -> SeqSet {
        self.seqs
    }
}
