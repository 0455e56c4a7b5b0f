//! Embeddings per second on listing-length passages (title, summary, description of the demo
//! listings), the model's load time and the process's peak memory.
//!
//! `RAYON_NUM_THREADS=1 cargo run --release -p silkmatch-embed --example throughput -- DATA [N]`
//! (candle's CPU kernels size their thread pool from `RAYON_NUM_THREADS`).

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let data = std::path::PathBuf::from(args.next().unwrap_or_else(|| "index".into()));
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(256);
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo.jsonl");
    let listings: Vec<String> = std::fs::read_to_string(fixtures)
        .expect("fixtures/demo.jsonl")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            let field = |k: &str| v[k].as_str().unwrap_or("").to_owned();
            format!(
                "{}\n{}\n{}",
                field("title"),
                field("summary"),
                field("description")
            )
        })
        .collect();
    let passages: Vec<&str> = listings
        .iter()
        .cycle()
        .take(n)
        .map(String::as_str)
        .collect();
    let started = Instant::now();
    let embedder =
        silkmatch_embed::Embedder::load(&silkmatch_embed::model_dir(&data)).expect("model");
    let load = started.elapsed().as_secs_f64();
    let mean_chars =
        passages.iter().map(|p| p.chars().count()).sum::<usize>() / passages.len().max(1);
    let started = Instant::now();
    let out = embedder.embed_passages(&passages).expect("embed");
    let seconds = started.elapsed().as_secs_f64();
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    println!(
        "threads={} passages={} mean_chars={mean_chars} load_s={load:.2} embed_s={seconds:.2} per_s={:.1} 1M_hours={:.1} {peak}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into()),
        out.len(),
        out.len() as f64 / seconds,
        1e6 / (out.len() as f64 / seconds) / 3600.0
    );
}
