//! Search profiling and answer-comparison harness. Imports N generated listings once into `--dir`
//! (kept between runs), then either runs the load bench's queries in a loop on one thread
//! (`--seconds S --mode default|hits|facets|snippets`, for `perf record`), or writes every answer
//! of a fixed set of searches, each run twice so the second is served from the caches
//! (`--dump FILE`): two builds whose dumps are byte-identical give the same answers.
//!
//! cargo build --release -p silkmatch-cli --example search_profile
//! target/release/examples/search_profile --dir /tmp/prof-index --dump /tmp/answers.jsonl

#[path = "../../../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use silkmatch_fixtures::{GeneratorConfig, generate};
use silkmatch_index::{Engine, Filters, SearchRequest, Sort};

fn main() {
    let mut listings = 100_000usize;
    let mut seconds = 5u64;
    let mut dir = std::env::temp_dir().join("silkmatch-search-profile");
    let mut dump: Option<String> = None;
    let mut mode = "default".to_string();
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        match flag.as_str() {
            "--listings" => listings = raw.next().unwrap().parse().unwrap(),
            "--seconds" => seconds = raw.next().unwrap().parse().unwrap(),
            "--dir" => dir = raw.next().unwrap().into(),
            "--dump" => dump = raw.next(),
            "--mode" => mode = raw.next().unwrap(),
            _ => {}
        }
    }
    let fresh = !dir.join("store.sqlite3").exists();
    std::fs::create_dir_all(&dir).unwrap();
    let engine = Engine::open(&dir).expect("engine");
    if fresh {
        eprintln!("importing {listings}...");
        let config = GeneratorConfig {
            offers: listings / 2,
            needs: listings - listings / 2,
            seed: 1,
        };
        common::import_values(&engine, generate(&config));
    }
    let now = common::search_time();
    let sample: Vec<serde_json::Value> = generate(&GeneratorConfig {
        offers: 400,
        needs: 0,
        seed: 1,
    })
    .collect();
    let queries: Vec<String> = sample
        .iter()
        .filter(|listing| listing["language"] == "en")
        .filter_map(|listing| {
            listing["title"].as_str().map(|title| {
                title
                    .split_whitespace()
                    .filter(|w| w.len() > 4)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .filter(|q| !q.is_empty())
        .collect();
    if let Some(path) = dump {
        let mut requests: Vec<SearchRequest> = Vec::new();
        for q in &queries {
            requests.push(SearchRequest {
                text: q.clone(),
                ..SearchRequest::default()
            });
        }
        // Every language's whole titles, and summaries, as queries.
        for listing in sample.iter().step_by(3) {
            for key in ["title", "summary"] {
                if let Some(text) = listing[key].as_str() {
                    requests.push(SearchRequest {
                        text: text.to_string(),
                        ..SearchRequest::default()
                    });
                }
            }
        }
        let mut extra = Vec::new();
        for (idx, r) in requests.iter().enumerate().step_by(7) {
            let mut r2 = r.clone();
            r2.limit = 100;
            r2.offset = idx % 3 * 10;
            extra.push(r2);
            let mut r3 = r.clone();
            r3.sort = Sort::Newest;
            r3.filters = Filters {
                countries: vec![silkmatch_core::Country::new("CN").unwrap()],
                ..Filters::default()
            };
            extra.push(r3);
        }
        requests.extend(extra);
        requests.push(SearchRequest::default());
        requests.push(SearchRequest {
            limit: 100,
            sort: Sort::Newest,
            ..SearchRequest::default()
        });
        let mut out = String::new();
        for r in requests.iter().chain(requests.iter()) {
            let results = engine.search(r, now).unwrap();
            out.push_str(&serde_json::to_string(&results).unwrap());
            out.push('\n');
        }
        std::fs::write(&path, out).unwrap();
        eprintln!("dumped {} requests twice", requests.len());
        return;
    }
    let (facets, snippets) = match mode.as_str() {
        "hits" => (false, false),
        "facets" => (true, false),
        "snippets" => (false, true),
        _ => (true, true),
    };
    let started = Instant::now();
    let mut n = 0usize;
    let mut total = 0usize;
    while started.elapsed().as_secs() < seconds {
        let request = SearchRequest {
            text: queries[n % queries.len()].clone(),
            facets,
            snippets,
            ..SearchRequest::default()
        };
        let results = engine.search(&request, now).unwrap();
        total += results.total;
        n += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "mode {mode}: {n} searches in {elapsed:.2}s = {:.0}/s, {:.1} us each; mean total {}",
        n as f64 / elapsed,
        elapsed * 1e6 / n as f64,
        total / n.max(1)
    );
}
