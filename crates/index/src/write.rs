//! The write path. A batch of writes is one SQLite transaction (committed and fsynced before anyone
//! is answered) and one index commit; every write in the batch gets its own outcome.

use rayon::prelude::*;
use rusqlite::Transaction;
use silkmatch_core::{Listing, ListingBody, Status, Timestamp, Validated, check_publishable};

use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::matching::{analyse_body, stored_analysis};
use crate::store::{self, ListingRow};

/// How long a publication lasts unless extended (data model, "Lifecycle").
pub const PUBLICATION_DAYS: i64 = 365;
/// Longest a publication may run after its start, extensions included (data model: two years).
pub const MAX_PUBLICATION_DAYS: i64 = 730;

/// Who owns a written listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// An existing organisation, by id (the credential's, or `import --org`).
    Id(String),
    /// The organisation named in the listing's `organisation` block, created on first sight.
    FromListing,
}

/// A stored listing a write is aimed at, and who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The organisation asking; must own the listing.
    pub owner: String,
    /// The listing.
    pub id: String,
    /// The version the caller last read (`If-Match`); the write fails if the listing has moved on.
    pub expected_version: Option<u64>,
}

/// One change to the store.
// Writes are built, moved once into a batch and consumed: boxing the large variants would only add
// an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Write {
    /// Creates a listing, or replaces the owner's listing with the same `external_id` (imports).
    Upsert {
        /// The owner.
        owner: Owner,
        /// The validated listing and the status it asks for.
        validated: Validated,
    },
    /// Creates a new listing; an `external_id` the owner already uses is a conflict.
    Create {
        /// The owning organisation's id.
        owner: String,
        /// The validated listing and the status it asks for (a draft when none).
        validated: Validated,
        /// The client's `Idempotency-Key`: a retry with the same key and request gets the listing
        /// the first use created (`Written::Unchanged`) instead of a second one.
        idempotency: Option<IdempotencyKey>,
    },
    /// Replaces the body of a listing (ids are server-assigned: an unknown id is not created).
    Replace {
        /// The listing and the caller.
        target: Target,
        /// The new body and the status it asks for.
        validated: Validated,
    },
    /// Publishes a listing (again): it must be complete, and its publication runs for a year.
    Publish {
        /// The listing and the caller.
        target: Target,
    },
    /// Extends a live publication by a year from its current end, but never beyond
    /// `MAX_PUBLICATION_DAYS` after it was published (data model, "Lifecycle").
    Extend {
        /// The listing and the caller.
        target: Target,
    },
    /// Takes a listing down (reversible by republishing).
    Withdraw {
        /// The listing and the caller.
        target: Target,
    },
}

/// An `Idempotency-Key` as a create carries it: the key (scoped by the caller, e.g. per collection)
/// and the SHA-256 of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The key.
    pub key: String,
    /// SHA-256 of the request body: the same key with another body is refused.
    pub request_hash: [u8; 32],
}

/// What happened to one write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A new listing was stored.
    Created(Listing),
    /// An existing listing changed.
    Updated(Listing),
    /// The write asked for what was already stored; nothing changed.
    Unchanged(Listing),
}

impl Written {
    /// The listing as it now stands.
    pub fn listing(&self) -> &Listing {
        match self {
            Written::Created(listing) | Written::Updated(listing) | Written::Unchanged(listing) => {
                listing
            }
        }
    }
}

/// Whether a batch ends with an index commit. Imports stage many batches and commit the index
/// every so often; everyone else commits at once so writers see their writes in search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexCommit {
    /// Commit and reload the index before returning.
    Now,
    /// Stage only; a later batch (or the next open) commits.
    Later,
}

impl Engine {
    /// Applies a batch of writes. The outer error means nothing was written (SQLite failed); inner
    /// errors are per write (not found, not the owner, not publishable) and leave the others intact.
    pub fn write(
        &self,
        writes: Vec<Write>,
        now: Timestamp,
        index_commit: IndexCommit,
    ) -> Result<Vec<Result<Written>>> {
        // Bodies are analysed before the store is locked, in parallel (an import's batches are large).
        let analyses: Vec<Option<BodyAnalysis>> = writes.par_iter().map(BodyAnalysis::of).collect();
        let _writer = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (outcomes, changed) = self.store.write(|transaction| {
            let mut seq = store::listings::last_seq(transaction)?;
            let mut outcomes = Vec::with_capacity(writes.len());
            let mut changed = Vec::new();
            for (write, analysis) in writes.into_iter().zip(&analyses) {
                // Each write in its own savepoint: one that the store refuses (a constraint) fails
                // alone instead of taking the rest of the batch, other clients' writes, with it.
                transaction.execute_batch("SAVEPOINT one_write")?;
                let mut outcome = apply(transaction, write, now);
                if let Ok(Written::Created(listing) | Written::Updated(listing)) = &outcome {
                    let analysis = analysis
                        .as_ref()
                        .and_then(|analysis| analysis.bytes_for(&listing.body));
                    match store::listings::put(transaction, listing, seq + 1, analysis) {
                        Ok(()) => {
                            seq += 1;
                            changed.push(ListingRow {
                                seq,
                                listing: listing.clone(),
                                analysis: None,
                            });
                        }
                        Err(err) => {
                            transaction.execute_batch("ROLLBACK TO one_write")?;
                            outcome = Err(err);
                        }
                    }
                }
                transaction.execute_batch("RELEASE one_write")?;
                outcomes.push(outcome);
            }
            Ok((outcomes, changed))
        })?;
        // The store is committed: from here on a failure only leaves the index behind, and the next
        // open replays it. Stage, and commit when asked.
        if let Some(last) = changed.last() {
            let last_seq = last.seq;
            if let Err(err) = self.index.stage(&changed) {
                let _ = self.index.rollback();
                return Err(err);
            }
            if index_commit == IndexCommit::Now {
                self.index.commit(last_seq)?;
            }
        }
        Ok(outcomes)
    }

    /// Commits staged index changes up to the store's newest change (end of an import).
    pub fn commit_index(&self) -> Result<()> {
        let _writer = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let last_seq = self.store.read(store::listings::last_seq)?;
        self.index.commit(last_seq)
    }
}

/// The stored analysis (`matching::stored_analysis`) of the body a write carries, with that body:
/// it is stored only with a listing whose body is exactly this one.
struct BodyAnalysis {
    body: ListingBody,
    bytes: Vec<u8>,
}

impl BodyAnalysis {
    fn of(write: &Write) -> Option<BodyAnalysis> {
        let body = match write {
            Write::Upsert { validated, .. }
            | Write::Create { validated, .. }
            | Write::Replace { validated, .. } => &validated.body,
            Write::Publish { .. } | Write::Extend { .. } | Write::Withdraw { .. } => return None,
        };
        let (vector, keywords) = analyse_body(body);
        Some(BodyAnalysis {
            body: body.clone(),
            bytes: stored_analysis::encode(&vector, &keywords),
        })
    }

    fn bytes_for(&self, body: &ListingBody) -> Option<&[u8]> {
        (self.body == *body).then_some(self.bytes.as_slice())
    }
}

fn apply(transaction: &Transaction<'_>, write: Write, now: Timestamp) -> Result<Written> {
    match write {
        Write::Upsert { owner, validated } => upsert(transaction, owner, validated, now),
        Write::Create {
            owner,
            validated,
            idempotency,
        } => {
            if let Some(idempotency) = &idempotency
                && let Some(first) =
                    store::idempotency::get(transaction, &owner, &idempotency.key, now.unix())?
            {
                if first.request_hash != idempotency.request_hash {
                    return Err(IndexError::IdempotencyKeyReused);
                }
                return Ok(Written::Unchanged(first.listing));
            }
            if let Some(external_id) = &validated.body.external_id
                && store::listings::get_by_external_id(transaction, &owner, external_id)?.is_some()
            {
                return Err(IndexError::Conflict(format!(
                    "you already have a listing with external_id `{external_id}`; replace it with PUT instead"
                )));
            }
            let written = upsert(transaction, Owner::Id(owner.clone()), validated, now)?;
            if let Some(idempotency) = &idempotency {
                let first = store::idempotency::FirstUse {
                    request_hash: idempotency.request_hash,
                    listing: written.listing().clone(),
                };
                store::idempotency::put(transaction, &owner, &idempotency.key, &first, now.unix())?;
            }
            Ok(written)
        }
        Write::Replace { target, validated } => {
            let existing = targeted(transaction, &target)?;
            if let Some(external_id) = &validated.body.external_id
                && store::listings::get_by_external_id(transaction, &existing.owner, external_id)?
                    .is_some_and(|row| row.listing.id != existing.id)
            {
                return Err(IndexError::Conflict(format!(
                    "you already have another listing with external_id `{external_id}`"
                )));
            }
            next_version(existing, validated, now)
        }
        Write::Publish { target } => {
            let existing = targeted(transaction, &target)?;
            let validated = Validated {
                body: existing.body.clone(),
                status: Some(Status::Published),
            };
            next_version(existing, validated, now)
        }
        Write::Extend { target } => {
            let existing = targeted(transaction, &target)?;
            extended(existing, now)
        }
        Write::Withdraw { target } => {
            let existing = targeted(transaction, &target)?;
            if existing.status == Status::Withdrawn {
                return Ok(Written::Unchanged(existing));
            }
            Ok(Written::Updated(Listing {
                status: Status::Withdrawn,
                version: existing.version + 1,
                updated_at: now,
                ..existing
            }))
        }
    }
}

/// `existing` with its publication extended: only a live publication can be extended (a lapsed one
/// is published again instead); the new end is a year past the current one, capped at two years
/// after publication. Already at the cap, nothing changes.
fn extended(existing: Listing, now: Timestamp) -> Result<Written> {
    let (Some(published_at), Some(expires_at)) = (existing.published_at, existing.expires_at)
    else {
        return Err(not_extendable(&existing));
    };
    if !existing.is_live(now) {
        return Err(not_extendable(&existing));
    }
    let cap = published_at.plus_days(MAX_PUBLICATION_DAYS);
    let wanted = expires_at.plus_days(PUBLICATION_DAYS);
    let new_end = wanted.min(cap);
    if new_end <= expires_at {
        return Ok(Written::Unchanged(existing));
    }
    Ok(Written::Updated(Listing {
        version: existing.version + 1,
        updated_at: now,
        expires_at: Some(new_end),
        ..existing
    }))
}

fn not_extendable(listing: &Listing) -> IndexError {
    IndexError::Conflict(format!(
        "listing `{}` is not published; publish it (again) instead of extending it",
        listing.id
    ))
}

/// The listing a write aims at, if the caller owns it and it is at the expected version.
fn targeted(transaction: &Transaction<'_>, target: &Target) -> Result<Listing> {
    let existing = owned(transaction, &target.owner, &target.id)?;
    match target.expected_version {
        Some(expected) if expected != existing.version => Err(IndexError::VersionMismatch {
            id: target.id.clone(),
            expected,
            current: existing.version,
        }),
        _ => Ok(existing),
    }
}

/// The listing `id`, if `owner` owns it.
fn owned(transaction: &Transaction<'_>, owner: &str, id: &str) -> Result<Listing> {
    let existing = store::listings::get(transaction, id)?
        .ok_or_else(|| IndexError::NotFound {
            what: "listing",
            id: id.to_owned(),
        })?
        .listing;
    if existing.owner != owner {
        return Err(IndexError::NotOwner(id.to_owned()));
    }
    Ok(existing)
}

fn upsert(
    transaction: &Transaction<'_>,
    owner: Owner,
    validated: Validated,
    now: Timestamp,
) -> Result<Written> {
    let Validated { body, status } = validated;
    let owner_id = match owner {
        Owner::Id(id) => {
            if store::organisations::get(transaction, &id)?.is_none() {
                return Err(IndexError::NotFound {
                    what: "organisation",
                    id,
                });
            }
            id
        }
        Owner::FromListing => {
            store::organisations::find_or_create(transaction, &body.organisation, now)?
        }
    };
    let existing = match &body.external_id {
        Some(external_id) => {
            store::listings::get_by_external_id(transaction, &owner_id, external_id)?
                .map(|row| row.listing)
        }
        None => None,
    };
    if let Some(existing) = existing {
        return next_version(existing, Validated { body, status }, now);
    }
    let status = status.unwrap_or(Status::Draft);
    let published = status == Status::Published;
    if published {
        check_publishable(&body).map_err(IndexError::invalid)?;
    }
    Ok(Written::Created(Listing {
        id: ulid::Ulid::new().to_string(),
        owner: owner_id,
        status,
        version: 1,
        created_at: now,
        updated_at: now,
        published_at: published.then_some(now),
        expires_at: published.then(|| now.plus_days(PUBLICATION_DAYS)),
        body,
    }))
}

/// The listing after `validated` replaces `existing`: unchanged when nothing differs, otherwise one
/// version up, with publication dates set when it becomes published.
fn next_version(existing: Listing, validated: Validated, now: Timestamp) -> Result<Written> {
    let Validated { body, status } = validated;
    let status = status.unwrap_or(existing.status);
    if status == Status::Published {
        check_publishable(&body).map_err(IndexError::invalid)?;
    }
    // Publishing a withdrawn, draft or lapsed listing starts a new publication period.
    let newly_published = status == Status::Published
        && (existing.status != Status::Published || !existing.is_live(now));
    if !newly_published && existing.body == body && existing.status == status {
        return Ok(Written::Unchanged(existing));
    }
    Ok(Written::Updated(Listing {
        status,
        version: existing.version + 1,
        updated_at: now,
        published_at: if newly_published {
            Some(now)
        } else {
            existing.published_at
        },
        expires_at: if newly_published {
            Some(now.plus_days(PUBLICATION_DAYS))
        } else {
            existing.expires_at
        },
        body,
        ..existing
    }))
}
