//! `Idempotency-Key` on POST (api.md, "Concurrency"): a retried request with the same key and the same
//! body gets the first response again instead of creating a second listing. Kept in memory, bounded,
//! for 24 hours: a retry after a server restart is not recognised (documented in docs/api.md).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use sha2::{Digest, Sha256};

/// Keys remembered at most.
const CAPACITY: usize = 10_000;
/// How long a key is remembered.
const TTL: Duration = Duration::from_secs(24 * 3600);

/// A remembered response.
#[derive(Debug, Clone)]
pub struct Remembered {
    /// Hash of the request body the key was first used with.
    pub request_hash: [u8; 32],
    /// The status sent.
    pub status: StatusCode,
    /// The body sent.
    pub body: serde_json::Value,
    /// The ETag sent, if any.
    pub etag: Option<String>,
    at: Instant,
}

/// Responses by (organisation, route, key).
#[derive(Default)]
pub struct IdempotencyCache {
    entries: Mutex<(HashMap<String, Remembered>, VecDeque<String>)>,
}

/// Hashes a request body.
pub fn request_hash(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

impl IdempotencyCache {
    /// The response remembered for this key, if fresh.
    pub fn get(&self, key: &str) -> Option<Remembered> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .0
            .get(key)
            .filter(|remembered| remembered.at.elapsed() < TTL)
            .cloned()
    }

    /// Remembers a response, forgetting the oldest key beyond the capacity.
    pub fn put(
        &self,
        key: String,
        request_hash: [u8; 32],
        status: StatusCode,
        body: serde_json::Value,
        etag: Option<String>,
    ) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (map, order) = &mut *entries;
        if map
            .insert(
                key.clone(),
                Remembered {
                    request_hash,
                    status,
                    body,
                    etag,
                    at: Instant::now(),
                },
            )
            .is_none()
        {
            order.push_back(key);
        }
        while order.len() > CAPACITY {
            if let Some(oldest) = order.pop_front() {
                map.remove(&oldest);
            }
        }
    }
}
