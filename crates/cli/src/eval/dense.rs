//! Dense retrieval for `silkmatch eval text`: exact cosine search over the collection's
//! embeddings. (The hybrid mode fuses it with the lexical ranking through
//! `silkmatch_core::fusion`; see `sweep.rs`.)
//!
//! Collections hold a few thousand documents, so exact search (a dot product per document) is
//! both fast and the ground truth an ANN index would be measured against. Document embeddings are
//! cached under `<data>/cache/embeddings/`, keyed by the SHA-256 of the documents and the model,
//! so the second mode on a collection does not re-embed it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use silkmatch_core::metrics::Run;
use silkmatch_embed::{DIM, Embedder, Embedding, fetch};

/// Candidates each ranker contributes (and dense returns).
pub const DEPTH: usize = 100;

/// A document's text as the model reads it: the title, then the body; the model truncates to its
/// 512 tokens (about the title, the summary and the first 1,500 characters of a description).
pub fn passage(title: &str, text: &str) -> String {
    match (title.trim().is_empty(), text.trim().is_empty()) {
        (true, _) => text.to_owned(),
        (false, true) => title.to_owned(),
        (false, false) => format!("{title}\n{text}"),
    }
}

/// Embeds the passages, or reads them from the cache when this exact set was embedded before.
pub fn doc_embeddings(
    embedder: &Embedder,
    data: &Path,
    passages: &[String],
) -> anyhow::Result<Vec<Embedding>> {
    let mut key = format!("{}:{}", fetch::WEIGHTS_SHA256, silkmatch_embed::MAX_TOKENS);
    for p in passages {
        key.push('\u{1}');
        key.push_str(p);
    }
    let path = cache_path(data, &fetch::sha256_hex(key.as_bytes()));
    if let Some(cached) = read_cache(&path, passages.len()) {
        return Ok(cached);
    }
    let started = Instant::now();
    let refs: Vec<&str> = passages.iter().map(String::as_str).collect();
    let mut out = Vec::with_capacity(refs.len());
    for chunk in refs.chunks(256) {
        out.extend(embedder.embed_passages(chunk)?);
        eprint!("\rembedded {}/{} documents", out.len(), refs.len());
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "\rembedded {} documents in {seconds:.1} s ({:.1}/s)",
        out.len(),
        out.len() as f64 / seconds.max(1e-9)
    );
    write_cache(&path, &out)?;
    Ok(out)
}

fn cache_path(data: &Path, key: &str) -> PathBuf {
    data.join("cache")
        .join("embeddings")
        .join(format!("{key}.f32"))
}

fn read_cache(path: &Path, count: usize) -> Option<Vec<Embedding>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() != count * DIM * 4 {
        return None;
    }
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    Some(
        floats
            .chunks_exact(DIM)
            .map(|row| {
                let mut v = [0f32; DIM];
                v.copy_from_slice(row);
                v
            })
            .collect(),
    )
}

/// Written beside, then renamed: a half-written cache is never read.
fn write_cache(path: &Path, vectors: &[Embedding]) -> anyhow::Result<()> {
    let dir = path.parent().expect("cache files live in a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let bytes: Vec<u8> = vectors
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The [`DEPTH`] documents with the highest cosine to the query, best first.
pub fn exact_top(query: &Embedding, docs: &[Embedding], ids: &[String]) -> Vec<(String, f64)> {
    let mut scored: Vec<(usize, f32)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (i, silkmatch_embed::cosine(query, d)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(DEPTH);
    scored
        .into_iter()
        .map(|(i, s)| (ids[i].clone(), f64::from(s)))
        .collect()
}

/// Mean over queries of the share of relevant documents ranked first.
pub fn recall_at_1(qrels: &silkmatch_core::metrics::Qrels, run: &Run) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for (query, relevant) in qrels {
        let relevant: Vec<&String> = relevant
            .iter()
            .filter(|(_, g)| **g > 0.0)
            .map(|(d, _)| d)
            .collect();
        if relevant.is_empty() {
            continue;
        }
        n += 1;
        let top = run.get(query).and_then(|r| r.first()).map(|(d, _)| d);
        if top.is_some_and(|d| relevant.contains(&d)) {
            sum += 1.0 / relevant.len() as f64;
        }
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}
