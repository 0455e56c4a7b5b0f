//! What meaning costs and how exact its retrieval is, each against a baseline in the same run:
//!
//! 1. **Recall of the 8-bit codes** against exact `f32` cosine search, on real multilingual-e5
//!    vectors (`--vectors FILE`: raw little-endian `f32`, 384 per vector, as `eval text` caches them
//!    under `<data>/cache/embeddings/`), every vector in turn the query (leave-one-out), k = 10.
//! 2. **Scan latency** of `VectorIndex::nearest` (k = 100) at 100k and 1M vectors, with everything
//!    allowed and with half allowed, against an exact `f32` scan of the same vectors. The vectors
//!    are the real ones plus Gaussian noise (σ = 0.02 per dimension, renormalised), so they keep the
//!    model's anisotropy; there are not enough real ones (embedding runs at ~10 listings/s here).
//! 3. **Search and match latency with and without vectors** on N generated listings (default
//!    100,000): the same queries with `TextMode::Lexical` and `TextMode::Hybrid`, and the same
//!    needs matched before and after their vectors exist. Vectors come from a hashed random
//!    projection of the listing's words (a stand-in model: cheap, deterministic, 384 dimensions);
//!    the model's own cost per query is measured apart, by `silkmatch model embed --query`.
//!
//! cargo bench -p silkmatch-cli --bench dense -- --vectors /path/to/docs.f32 [--sizes 100000,1000000] --listings 100000

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use silkmatch_core::Kind;
use silkmatch_fixtures::{GeneratorConfig, generate};
use silkmatch_index::{
    Embedder, Engine, Filters, MatchRequest, SearchRequest, SeqSet, TextMode, VectorIndex, quantise,
};

const DIM: usize = 384;

struct Args {
    vectors: Option<std::path::PathBuf>,
    sizes: Vec<usize>,
    listings: usize,
    queries: usize,
}

fn args() -> Args {
    let mut parsed = Args {
        vectors: None,
        sizes: vec![100_000, 1_000_000],
        listings: 100_000,
        queries: 200,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        match raw[i].as_str() {
            "--vectors" => parsed.vectors = raw.get(i + 1).map(Into::into),
            "--listings" => parsed.listings = raw[i + 1].parse().expect("--listings N"),
            "--sizes" => {
                parsed.sizes = raw[i + 1]
                    .split(',')
                    .map(|size| size.parse().expect("--sizes N,N"))
                    .collect()
            }
            "--queries" => parsed.queries = raw[i + 1].parse().expect("--queries N"),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    parsed
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn summary(mut micros: Vec<f64>) -> (f64, f64) {
    micros.sort_by(f64::total_cmp);
    (percentile(&micros, 0.5), percentile(&micros, 0.99))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(vector: &mut [f32]) {
    let norm = dot(vector, vector).sqrt().max(1e-12);
    vector.iter_mut().for_each(|x| *x /= norm);
}

fn read_vectors(path: &std::path::Path) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).expect("vectors file");
    bytes
        .chunks_exact(4 * DIM)
        .map(|chunk| {
            chunk
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect()
}

fn exact_top(
    vectors: &[Vec<f32>],
    query: &[f32],
    allowed: impl Fn(usize) -> bool,
    k: usize,
) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| allowed(*i))
        .map(|(i, v)| (dot(v, query), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(k);
    scored.into_iter().map(|(_, i)| i).collect()
}

fn index_of(vectors: &[Vec<f32>]) -> VectorIndex {
    let mut index = VectorIndex::new(DIM);
    let ids: Vec<String> = (0..vectors.len()).map(|i| format!("L{i}")).collect();
    for (i, vector) in vectors.iter().enumerate() {
        index.put((i as u64 + 1, &ids[i], vector));
    }
    index
}

/// Part 1: recall@10 of the codes against exact search, leave-one-out.
fn recall_on_real_vectors(real: &[Vec<f32>], queries: usize) {
    let index = index_of(real);
    let mut allowed = SeqSet::default();
    (1..=real.len() as u64).for_each(|seq| allowed.insert(seq));
    let mut hits = 0;
    let n = queries.min(real.len());
    for q in 0..n {
        let query = &real[q * real.len() / n];
        let qi = q * real.len() / n;
        let found: Vec<usize> = index
            .nearest(&quantise(query), &allowed, 11)
            .into_iter()
            .map(|(seq, _)| seq as usize - 1)
            .filter(|i| *i != qi)
            .take(10)
            .collect();
        let exact = exact_top(real, query, |i| i != qi, 10);
        hits += found.iter().filter(|i| exact.contains(i)).count();
    }
    println!(
        "recall@10 of 8-bit codes vs exact f32, {} real vectors, {n} leave-one-out queries: {:.4}",
        real.len(),
        hits as f64 / (n * 10) as f64
    );
}

/// Part 2: scan latency at scale, codes vs exact f32 over the same vectors.
fn scan_latency(real: &[Vec<f32>], sizes: &[usize], queries: usize) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut gaussian = move || {
        // Box–Muller from two uniforms of a SplitMix64 stream.
        let mut uniform = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let (u, v) = (uniform().max(1e-12), uniform());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    };
    for &size in sizes {
        let vectors: Vec<Vec<f32>> = (0..size)
            .map(|i| {
                let mut v: Vec<f32> = real[i % real.len()]
                    .iter()
                    .map(|x| x + 0.02 * gaussian())
                    .collect();
                normalise(&mut v);
                v
            })
            .collect();
        let index = index_of(&vectors);
        for (label, every) in [("all allowed", 1u64), ("half allowed", 2)] {
            let mut allowed = SeqSet::default();
            (1..=size as u64)
                .filter(|seq| seq.is_multiple_of(every))
                .for_each(|seq| allowed.insert(seq));
            let (mut codes, mut exact) = (Vec::new(), Vec::new());
            let mut agree = 0;
            for q in 0..queries {
                let query = &real[(q * 7919) % real.len()];
                let started = Instant::now();
                let found = index.nearest(&quantise(query), &allowed, 100);
                codes.push(started.elapsed().as_secs_f64() * 1e6);
                let started = Instant::now();
                let truth = exact_top(
                    &vectors,
                    query,
                    |i| (i as u64 + 1).is_multiple_of(every),
                    100,
                );
                exact.push(started.elapsed().as_secs_f64() * 1e6);
                let top10: Vec<usize> = found
                    .iter()
                    .take(10)
                    .map(|(seq, _)| *seq as usize - 1)
                    .collect();
                agree += top10.iter().filter(|i| truth[..10].contains(i)).count();
            }
            let (c50, c99) = summary(codes);
            let (e50, e99) = summary(exact);
            println!(
                "{size:>8} vectors, {label:<12}: codes p50 {:.2} ms p99 {:.2} ms | exact f32 p50 {:.2} ms p99 {:.2} ms | ratio {:.2} | recall@10 {:.4}",
                c50 / 1e3,
                c99 / 1e3,
                e50 / 1e3,
                e99 / 1e3,
                c50 / e50,
                agree as f64 / (queries * 10) as f64
            );
        }
        println!(
            "{size:>8} vectors: {:.1} MB of codes in memory ({:.0} bytes per listing)",
            index.memory_bytes() as f64 / 1e6,
            index.memory_bytes() as f64 / size as f64
        );
    }
}

/// A stand-in model: each word adds a pseudo-random ±1 pattern (seeded by the word), normalised.
struct ProjectionEmbedder;

impl ProjectionEmbedder {
    fn vector(text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; DIM];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
        {
            let mut h = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            for x in v.iter_mut() {
                h ^= h << 13;
                h ^= h >> 7;
                h ^= h << 17;
                *x += if h & 1 == 0 { 1.0 } else { -1.0 };
            }
        }
        v[0] += 1.0;
        normalise(&mut v);
        v
    }
}

impl Embedder for ProjectionEmbedder {
    fn model_id(&self) -> String {
        "random-projection-bench".into()
    }
    fn dimensions(&self) -> usize {
        DIM
    }
    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        Ok(texts.iter().map(|t| Self::vector(t)).collect())
    }
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, String> {
        Ok(Self::vector(text))
    }
}

/// Part 3: search and match with and without vectors on a generated corpus.
fn engine_latency(listings: usize, queries: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(dir.path()).expect("engine");
    eprintln!("importing {listings} listings...");
    common::import_values(
        &engine,
        generate(&GeneratorConfig {
            offers: listings / 2,
            needs: listings - listings / 2,
            seed: 1,
        }),
    );
    let texts: Vec<String> = generate(&GeneratorConfig {
        offers: queries,
        needs: 0,
        seed: 2,
    })
    .filter_map(|l| {
        l["title"]
            .as_str()
            .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
    })
    .take(queries)
    .collect();
    let needs: Vec<silkmatch_core::Listing> = engine
        .changed_since(0, 50_000)
        .expect("rows")
        .into_iter()
        .map(|row| row.listing)
        .filter(|l| l.body.kind == Kind::Need)
        .take(queries.min(100))
        .collect();
    let now = common::search_time();
    let run_search = |mode: TextMode| -> (f64, f64) {
        let mut micros = Vec::new();
        for text in texts.iter().cycle().take(texts.len() * 2) {
            let request = SearchRequest {
                text: text.clone(),
                mode,
                filters: Filters::default(),
                ..SearchRequest::default()
            };
            let started = Instant::now();
            engine.search(&request, now).expect("search");
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
        summary(micros)
    };
    let run_match = || -> (f64, f64) {
        let mut micros = Vec::new();
        for need in needs.iter().cycle().take(needs.len() * 2) {
            let started = Instant::now();
            engine
                .matches_for(need, &MatchRequest::default(), now)
                .expect("match");
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
        summary(micros)
    };
    let lexical_search = run_search(TextMode::Lexical);
    let lexical_match = run_match();
    eprintln!("embedding {listings} listings with the stand-in model...");
    let started = Instant::now();
    engine
        .embed_pending(&ProjectionEmbedder, None, &|_, _| {})
        .expect("embed");
    let embed_seconds = started.elapsed().as_secs_f64();
    engine.set_embedder(std::sync::Arc::new(ProjectionEmbedder));
    let store_bytes = engine.stats(now).expect("stats").store_bytes;
    let hybrid_search = run_search(TextMode::Hybrid);
    let lexical_again = run_search(TextMode::Lexical);
    let dense_match = run_match();
    let status = engine.dense_status().expect("status");
    println!(
        "engine, {listings} listings ({} with vectors; stand-in embedding took {embed_seconds:.1} s; store now {:.1} MB):",
        status.vectors,
        store_bytes as f64 / 1e6
    );
    println!(
        "  search, words only      p50 {:.2} ms p99 {:.2} ms (again after embedding: p50 {:.2} ms p99 {:.2} ms)",
        lexical_search.0 / 1e3,
        lexical_search.1 / 1e3,
        lexical_again.0 / 1e3,
        lexical_again.1 / 1e3
    );
    println!(
        "  search, words + meaning p50 {:.2} ms p99 {:.2} ms (ratio to words only, same run: p50 {:.2}, p99 {:.2}; query vector cached after its first use)",
        hybrid_search.0 / 1e3,
        hybrid_search.1 / 1e3,
        hybrid_search.0 / lexical_again.0,
        hybrid_search.1 / lexical_again.1
    );
    println!(
        "  match, no vectors       p50 {:.2} ms p99 {:.2} ms",
        lexical_match.0 / 1e3,
        lexical_match.1 / 1e3
    );
    println!(
        "  match, with vectors     p50 {:.2} ms p99 {:.2} ms (ratio p50 {:.2})",
        dense_match.0 / 1e3,
        dense_match.1 / 1e3,
        dense_match.0 / lexical_match.0
    );
}

fn main() {
    let args = args();
    println!("{}", common::machine_description());
    if let Some(path) = &args.vectors {
        let real = read_vectors(path);
        recall_on_real_vectors(&real, args.queries.min(real.len()));
        scan_latency(&real, &args.sizes, args.queries.min(100));
    }
    if args.listings > 0 {
        engine_latency(args.listings, args.queries);
    }
}
