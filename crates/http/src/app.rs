//! Shared state of the server: the engine, the pools that keep CPU work off the async runtime, the
//! group-commit writer, and the bounds on expensive work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use silkmatch_core::Timestamp;
use silkmatch_index::{Engine, IndexCommit, IndexError, Write, Written};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// Writes waiting longer than this are grouped into the next commit anyway.
const MAX_GROUP: usize = 512;

/// A write and where to send its outcome.
struct Queued {
    write: Write,
    reply: oneshot::Sender<Result<Written, IndexError>>,
}

/// Cloneable handle to everything a handler needs.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    cpu: rayon::ThreadPool,
    expensive: Arc<Semaphore>,
    writes: std::sync::Mutex<Option<mpsc::Sender<Queued>>>,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    metrics: Metrics,
    cursor_key: [u8; 32],
    sessions: crate::web::Sessions,
    started: Instant,
}

/// Bounds and sizes of the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Threads ranking and searching (default: the machine's cores).
    pub cpu_threads: usize,
    /// Searches and matches in flight (running or queued for the CPU pool) before new ones get 429;
    /// 32 per core keeps queueing delay near 50 ms for millisecond searches.
    pub max_expensive: usize,
    /// How long a web session lasts after sign-in.
    pub session_ttl: Duration,
    /// Mark every cookie `Secure` (behind TLS that does not send `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Config {
            cpu_threads: cores,
            max_expensive: cores * 32,
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: false,
        }
    }
}

impl App {
    /// Wraps an opened engine; starts the CPU pool and the writer thread.
    pub fn new(engine: Engine, config: Config) -> std::io::Result<App> {
        let engine = Arc::new(engine);
        let cpu = rayon::ThreadPoolBuilder::new()
            .num_threads(config.cpu_threads.max(1))
            .thread_name(|idx| format!("silkmatch-cpu-{idx}"))
            .panic_handler(|_| tracing::error!("a ranking task panicked"))
            .build()
            .map_err(std::io::Error::other)?;
        let (writes, queue) = mpsc::channel(4096);
        let writer_engine = Arc::clone(&engine);
        let writer = std::thread::Builder::new()
            .name("silkmatch-writer".into())
            .spawn(move || write_loop(&writer_engine, queue))?;
        let cursor_key = cursor_key(engine.dir())?;
        Ok(App {
            inner: Arc::new(Inner {
                engine,
                cpu,
                expensive: Arc::new(Semaphore::new(config.max_expensive.max(1))),
                writes: std::sync::Mutex::new(Some(writes)),
                writer: std::sync::Mutex::new(Some(writer)),
                metrics: Metrics::default(),
                cursor_key,
                sessions: crate::web::Sessions::new(config.session_ttl, config.secure_cookies),
                started: Instant::now(),
            }),
        })
    }

    /// The engine, for reads done on the blocking pool.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    /// Request metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Secret that signs pagination cursors (per process: cursors do not outlive a restart).
    pub fn cursor_key(&self) -> &[u8; 32] {
        &self.inner.cursor_key
    }

    /// Web sessions (in memory: a restart signs everyone out).
    pub fn sessions(&self) -> &crate::web::Sessions {
        &self.inner.sessions
    }

    /// Seconds since start.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Runs CPU-heavy work (search, ranking) on the CPU pool, bounded: beyond the limit the caller
    /// gets 429 at once rather than a queue that grows without end.
    pub async fn on_cpu<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let permit = Arc::clone(&self.inner.expensive)
            .try_acquire_owned()
            .map_err(|_| ApiError::Overloaded {
                retry_after_seconds: 1,
            })?;
        let (tx, rx) = oneshot::channel();
        let engine = Arc::clone(&self.inner.engine);
        self.inner.cpu.spawn(move || {
            if tx.is_closed() {
                return; // The client left before the work started: skip it.
            }
            let result = work(&engine);
            // Release the slot before answering, so a caller that immediately asks again finds it free.
            drop(permit);
            let _ = tx.send(result);
        });
        rx.await.map_err(|_| ApiError::WorkerFailed)
    }

    /// Runs a blocking read (SQLite point reads) off the async threads.
    pub async fn blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Engine) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let engine = Arc::clone(&self.inner.engine);
        tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(|_| ApiError::WorkerFailed)
    }

    /// Queues a write for the group-commit writer and waits until it is durable and searchable.
    pub async fn write(&self, write: Write) -> Result<Written, ApiError> {
        let (reply, outcome) = oneshot::channel();
        let sender = self
            .inner
            .writes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or(ApiError::ShuttingDown)?;
        sender
            .send(Queued { write, reply })
            .await
            .map_err(|_| ApiError::ShuttingDown)?;
        Ok(outcome.await.map_err(|_| ApiError::WorkerFailed)??)
    }
}

impl App {
    /// Stops taking writes and waits until every write already queued is committed. Called once the
    /// server has stopped accepting requests (graceful shutdown).
    pub fn close_writes(&self) {
        self.inner
            .writes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let writer = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

/// The writer thread: takes every write waiting, applies them as one batch (one SQLite transaction,
/// one fsync, one index commit) and answers each; so concurrent writers share commits.
fn write_loop(engine: &Engine, mut queue: mpsc::Receiver<Queued>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (writes, replies): (Vec<Write>, Vec<_>) = batch
            .into_iter()
            .map(|queued| (queued.write, queued.reply))
            .unzip();
        let n_writes = writes.len();
        match engine.write(writes, now(), IndexCommit::Now) {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(err) => {
                let reason = err.to_string();
                tracing::error!(error = %reason, writes = n_writes, "write batch failed; nothing of it was stored");
                for reply in replies {
                    let _ = reply.send(Err(IndexError::Io {
                        path: "write batch".into(),
                        source: std::io::Error::other(reason.clone()),
                    }));
                }
            }
        }
    }
    tracing::info!("writer stopped: every queued write was applied");
}

/// The wall clock, read at the edge: core and index take `now` as an argument.
pub fn now() -> Timestamp {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    Timestamp::from_unix(seconds)
}

/// The key search cursors are signed with, kept in the data directory (`cursor.key`, readable by
/// the owner only) so that cursors handed out before a restart still work after it. Created on
/// first start: written to a temporary file, synced, then renamed, so a crash never leaves half a key.
fn cursor_key(dir: &std::path::Path) -> std::io::Result<[u8; 32]> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join("cursor.key");
    match std::fs::read(&path) {
        Ok(bytes) => {
            return bytes.try_into().map_err(|_| {
                std::io::Error::other(format!(
                    "{} is not a 32-byte key; delete it to make a new one (open search cursors will then be refused)",
                    path.display()
                ))
            });
        }
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        Err(_) => {}
    }
    let mut key = [0u8; 32];
    getrandom_fill(&mut key)?;
    let temporary = dir.join("cursor.key.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(&key)?;
    file.sync_all()?;
    std::fs::rename(&temporary, &path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(key)
}

fn getrandom_fill(buffer: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buffer).map_err(|err| std::io::Error::other(err.to_string()))
}
