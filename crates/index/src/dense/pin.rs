//! Which vectors a run ranks with. Embedding goes on behind the write path (a server's worker may
//! embed the backlog while the nightly batch runs), so the batch records the vectors it started
//! with and ranks with exactly those, on a resumed run too: its output must not depend on when the
//! worker reached which listing. The incremental batch compares that record with the next run's to
//! find the listings whose vector arrived or changed. Loading the vectors into memory (at open, and
//! when a pin goes back in time) lives here too: what is loaded is always named by a `VectorsAt`.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::Loaded;
use super::vectors::VectorIndex;
use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::store::embeddings;

/// Keeps an engine's vectors pinned (`Engine::pin_vectors`) until dropped; then, if pinning had
/// replaced them, they are brought up to the store again.
#[must_use = "the vectors are pinned only while the guard lives"]
pub struct VectorsPin<'a> {
    engine: &'a Engine,
    /// Whether pinning replaced the vectors in memory (which are then brought up to the store
    /// again when the pin ends).
    reloaded: bool,
}

impl Drop for VectorsPin<'_> {
    fn drop(&mut self) {
        self.engine.dense.pinned.store(false, Ordering::SeqCst);
        if self.reloaded {
            let state = self.engine.store.read(embeddings::state);
            let reloaded = match state {
                Ok(Some(state)) => self.engine.load_vectors_until(&state, state.reached_seq),
                Ok(None) => Ok(()),
                Err(err) => Err(err),
            };
            if let Err(err) = reloaded {
                tracing::error!(%err, "cannot reload the listing vectors after a batch run");
            }
        }
    }
}

/// The listing vectors an engine holds: the model they come from and the change sequence number
/// embedding had reached (every listing version up to it that needs a vector has one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorsAt {
    /// The model (its name and weights digest), as [`crate::Embedder::model_id`] gives it.
    pub model: String,
    /// Embedding had reached this change sequence number.
    pub reached_seq: u64,
}

impl Engine {
    /// The vectors the store holds now (what a new batch run ranks with), `None` before anything
    /// was embedded.
    pub fn stored_vectors_at(&self) -> Result<Option<VectorsAt>> {
        Ok(self.store.read(embeddings::state)?.map(|state| VectorsAt {
            model: state.model,
            reached_seq: state.reached_seq,
        }))
    }

    /// The vectors this engine ranks with, `None` when it has none (everything is lexical).
    pub fn vectors_at(&self) -> Option<VectorsAt> {
        self.dense.loaded().as_ref().map(|loaded| loaded.at.clone())
    }

    /// Ranks, while the returned guard lives, with the vectors `at` describes and no others: the
    /// in-memory vectors are reloaded from the store up to `at.reached_seq` when they have moved
    /// on, vectors another process stores meanwhile are not read, and this engine embeds nothing.
    /// `None` ranks without vectors. Fails when the stored vectors now come from another model
    /// (those `at` describes are gone).
    pub fn pin_vectors(&self, at: Option<&VectorsAt>) -> Result<VectorsPin<'_>> {
        self.dense.pinned.store(true, Ordering::SeqCst);
        let mut pin = VectorsPin {
            engine: self,
            reloaded: false,
        };
        if self.vectors_at().as_ref() == at {
            return Ok(pin);
        }
        pin.reloaded = true;
        let Some(at) = at else {
            *self.dense.loaded_mut() = None;
            return Ok(pin);
        };
        let state = self.store.read(embeddings::state)?;
        match state {
            Some(state) if state.model == at.model && state.reached_seq >= at.reached_seq => {
                self.load_vectors_until(&state, at.reached_seq)?;
                Ok(pin)
            }
            state => Err(IndexError::Model {
                reason: format!(
                    "the listing vectors this run started with ({}, up to change {}) are gone: the store now holds {}",
                    at.model,
                    at.reached_seq,
                    match state {
                        Some(state) =>
                            format!("{}'s, up to change {}", state.model, state.reached_seq),
                        None => "none".into(),
                    }
                ),
            }),
        }
    }

    /// Whether `pin_vectors` fixed this engine's vectors.
    pub(crate) fn vectors_pinned(&self) -> bool {
        self.dense.pinned.load(Ordering::SeqCst)
    }

    /// Loads the stored vectors into memory (at open): those up to the change embedding had
    /// reached when the state was read, so what is loaded is exactly what `vectors_at` says.
    pub(crate) fn load_vectors(&self) -> Result<()> {
        match self.store.read(embeddings::state)? {
            Some(state) => self.load_vectors_until(&state, state.reached_seq),
            None => Ok(()),
        }
    }

    /// Replaces the in-memory vectors with the stored ones of versions up to `until` (those of
    /// `state`'s model), and records them as the engine's.
    pub(crate) fn load_vectors_until(
        &self,
        state: &embeddings::EmbeddingState,
        until: u64,
    ) -> Result<()> {
        let mut index = VectorIndex::new(state.dimensions);
        let mut after = 0;
        'pages: loop {
            let page = self
                .store
                .read(|connection| embeddings::page(connection, after, super::LOAD_PAGE))?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for stored in &page {
                if stored.seq > until {
                    break 'pages;
                }
                if stored.vector.len() == state.dimensions {
                    index.put((stored.seq, &stored.listing_id, &stored.vector));
                }
            }
        }
        tracing::info!(vectors = index.len(), model = %state.model, until, "listing vectors loaded");
        *self.dense.loaded_mut() = Some(Loaded {
            index,
            at: VectorsAt {
                model: state.model.clone(),
                reached_seq: until,
            },
        });
        Ok(())
    }
}
