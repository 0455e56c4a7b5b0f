//! Load bench of the HTTP API, loopback only, bounded in time: with N listings loaded (default
//! 100 000), search throughput and p50/p99 at 1, 16 and 64 concurrent clients, match latency under
//! that load, and a 90/10 read/write mix; beside the same searches run in-process without HTTP in the
//! same run, so the ratio shows what HTTP, JSON and scheduling add.
//!
//! cargo bench -p silkmatch-cli --bench load -- --listings 100000 --seconds 10 --out benches/out/load
//! (`--out` is relative to the repository root; an absolute path works too.)

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use silkmatch_core::{Country, Organisation, OrganisationKind};
use silkmatch_fixtures::{GeneratorConfig, generate};
use silkmatch_http::{App, Config};
use silkmatch_index::{Engine, SearchRequest};

/// Sends a request and reads the whole answer, as a client that uses it would (an unread body
/// also costs the connection its keep-alive); true for a 2xx.
async fn answered(request: reqwest::RequestBuilder) -> bool {
    match request.send().await {
        Ok(response) => {
            let success = response.status().is_success();
            response.bytes().await.is_ok() && success
        }
        Err(_) => false,
    }
}

struct Args {
    listings: usize,
    seconds: u64,
    out: std::path::PathBuf,
}

fn args() -> Args {
    // cargo runs benches in the package folder (crates/cli); outputs go to the repository's benches/out.
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut parsed = Args {
        listings: 100_000,
        seconds: 10,
        out: repo.join("benches/out/load"),
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        match flag.as_str() {
            "--listings" => {
                parsed.listings = raw
                    .next()
                    .and_then(|value| value.parse().ok())
                    .expect("--listings N")
            }
            "--seconds" => {
                parsed.seconds = raw
                    .next()
                    .and_then(|value| value.parse().ok())
                    .expect("--seconds S")
            }
            "--out" => parsed.out = repo.join(raw.next().expect("--out DIR")),
            _ => {} // cargo bench passes --bench
        }
    }
    parsed
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
struct Summary {
    requests: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

fn summarise(mut latencies: Vec<f64>, elapsed: Duration, errors: usize) -> Summary {
    latencies.sort_by(f64::total_cmp);
    Summary {
        requests: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: common::percentile(&latencies, 0.50) * 1e3,
        p99_ms: common::percentile(&latencies, 0.99) * 1e3,
        errors,
    }
}

/// Runs `clients` loops of `request` for `seconds`, each waiting for its answer before the next.
async fn closed_loop<F, Fut>(clients: usize, seconds: u64, request: F) -> Summary
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (request, stop, errors) =
            (Arc::clone(&request), Arc::clone(&stop), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = client * 7919;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                // Only answered requests count towards throughput and latency; refusals (429) and
                // failures are counted apart, so fast refusals cannot pass for throughput.
                if request(n).await {
                    latencies.push(sent.elapsed().as_secs_f64());
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client task"));
    }
    summarise(latencies, started.elapsed(), errors.load(Ordering::Relaxed))
}

fn main() {
    let args = args();
    std::fs::create_dir_all(&args.out).expect("output folder");
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(dir.path()).expect("engine");
    eprintln!("importing {} listings...", args.listings);
    let config = GeneratorConfig {
        offers: args.listings / 2,
        needs: args.listings - args.listings / 2,
        seed: 1,
    };
    common::import_values(&engine, generate(&config));
    let queries: Arc<Vec<String>> = Arc::new(
        generate(&GeneratorConfig {
            offers: 400,
            needs: 0,
            seed: 1,
        })
        .filter(|listing| listing["language"] == "en")
        .filter_map(|listing| {
            listing["title"].as_str().map(|title| {
                title
                    .split_whitespace()
                    .filter(|word| word.len() > 4)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .filter(|query| !query.is_empty())
        .collect(),
    );
    let need_ids: Vec<String> = (1..=200)
        .filter_map(|n| engine.resolve(&format!("gen-need-{n:07}")).ok())
        .map(|listing| listing.id)
        .collect();
    let now = silkmatch_http::now();
    let centre = Organisation {
        name: "Load Test Centre".into(),
        kind: OrganisationKind::PublicBody,
        size: None,
        country: Country::new("CN").expect("valid"),
    };
    let organisation = engine
        .create_organisation(&centre, now)
        .expect("organisation");
    let (_, token) = engine
        .create_token(&organisation.id, "load", false, now)
        .expect("token");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(async move {
        let app = App::new(engine, Config::default()).expect("app");
        let in_process = app.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(silkmatch_http::serve(listener, app, async move {
            stopped.await.ok();
        }));
        let client = reqwest::Client::builder().pool_max_idle_per_host(128).build().expect("client");
        let mut report = serde_json::Map::new();
        let mut lines = vec![format!("### Load: {} listings, {} s per phase\n\n{}; loopback HTTP, server and clients share the machine.\n", args.listings, args.seconds, common::machine_description())];
        lines.push("| phase | clients | answered/s | p50 ms | p99 ms | refused or failed |\n|---|---:|---:|---:|---:|---:|".into());
        for (label, query_suffix) in [("search (facets, snippets)", ""), ("search (hits only)", "&facets=false&snippets=false")] {
            // In process, no HTTP: the same engine call the handler makes, on the same CPU pool.
            for clients in [1usize, 16] {
                let (app, queries) = (in_process.clone(), Arc::clone(&queries));
                let facets = query_suffix.is_empty();
                let summary = closed_loop(clients, args.seconds, move |n| {
                    let (app, text) = (app.clone(), queries[n % queries.len()].clone());
                    async move {
                        let request = SearchRequest { text, facets, snippets: facets, ..SearchRequest::default() };
                        app.on_cpu(move |engine| engine.search(&request, now).is_ok()).await.unwrap_or(false)
                    }
                })
                .await;
                lines.push(format!("| {label}, in process | {clients} | {:.0} | {:.2} | {:.2} | {} |", summary.per_second, summary.p50_ms, summary.p99_ms, summary.errors));
                report.insert(format!("{label} in-process {clients}"), json!(summary));
            }
            for clients in [1usize, 16, 64] {
                let (client, base, queries) = (client.clone(), base.clone(), Arc::clone(&queries));
                let suffix = query_suffix.to_owned();
                let summary = closed_loop(clients, args.seconds, move |n| {
                    let url = format!("{base}/v1/search?q={}{suffix}", queries[n % queries.len()].replace(' ', "+"));
                    let client = client.clone();
                    async move { answered(client.get(url)).await }
                })
                .await;
                lines.push(format!("| {label}, HTTP | {clients} | {:.0} | {:.2} | {:.2} | {} |", summary.per_second, summary.p50_ms, summary.p99_ms, summary.errors));
                report.insert(format!("{label} http {clients}"), json!(summary));
            }
        }
        // Match latency while 16 clients search.
        {
            let (search_client, search_base, queries) = (client.clone(), base.clone(), Arc::clone(&queries));
            let background = tokio::spawn(closed_loop(16, args.seconds, move |n| {
                let url = format!("{search_base}/v1/search?q={}", queries[n % queries.len()].replace(' ', "+"));
                let client = search_client.clone();
                async move { answered(client.get(url)).await }
            }));
            // Liveness while the CPU is busy with searches and matches: the probe must not queue
            // behind them (it never touches the CPU pool).
            let (probe_client, probe_base) = (client.clone(), base.clone());
            let health = tokio::spawn(closed_loop(1, args.seconds, move |_| {
                let client = probe_client.clone();
                let url = format!("{probe_base}/healthz");
                async move { answered(client.get(url)).await }
            }));
            let (client, base, ids) = (client.clone(), base.clone(), Arc::new(need_ids));
            let matches = closed_loop(1, args.seconds, move |n| {
                let url = format!("{base}/v1/needs/{}/matches?k=20", ids[n % ids.len()]);
                let client = client.clone();
                async move { answered(client.get(url)).await }
            })
            .await;
            let health = health.await.expect("health probes");
            let searches = background.await.expect("background searches");
            lines.push(format!("| matches under 16 searching clients | 1 | {:.0} | {:.2} | {:.2} | {} |", matches.per_second, matches.p50_ms, matches.p99_ms, matches.errors));
            lines.push(format!("| searches beside the matches | 16 | {:.0} | {:.2} | {:.2} | {} |", searches.per_second, searches.p50_ms, searches.p99_ms, searches.errors));
            lines.push(format!("| `/healthz` beside the matches and searches | 1 | {:.0} | {:.2} | {:.2} | {} |", health.per_second, health.p50_ms, health.p99_ms, health.errors));
            report.insert("healthz under load".into(), json!(health));
            report.insert("matches under load".into(), json!(matches));
        }
        // 90 % searches, 10 % creations, 16 clients.
        {
            let (client, base, queries, token) = (client.clone(), base.clone(), Arc::clone(&queries), token.clone());
            let summary = closed_loop(16, args.seconds, move |n| {
                let client = client.clone();
                let (base, token) = (base.clone(), token.clone());
                let query = queries[n % queries.len()].replace(' ', "+");
                async move {
                    if n % 10 == 0 {
                        let body = json!({
                            "kind": "offer", "language": "en", "title": format!("Load test offer {n}"), "summary": "An offer written by the load bench.",
                            "technology_fields": [1], "trl": 5, "ipr": "none", "cooperation": ["licence"],
                            "organisation": {"name": "Load Test Centre", "kind": "public_body", "country": "CN"}, "contact": {"name": "L", "email": "l@example.org"}, "status": "published"
                        });
                        answered(client.post(format!("{base}/v1/offers")).bearer_auth(token).json(&body)).await
                    } else {
                        answered(client.get(format!("{base}/v1/search?q={query}"))).await
                    }
                }
            })
            .await;
            lines.push(format!("| 90/10 search/create | 16 | {:.0} | {:.2} | {:.2} | {} |", summary.per_second, summary.p50_ms, summary.p99_ms, summary.errors));
            report.insert("mixed 90/10".into(), json!(summary));
        }
        let _ = stop.send(());
        server.await.expect("server task").expect("server");
        (Value::Object(report), lines.join("\n"))
    });
    let (json_report, table) = report;
    println!("{table}");
    std::fs::write(
        args.out.join(format!("load-{}.json", args.listings)),
        serde_json::to_string_pretty(&json_report).expect("json"),
    )
    .expect("write report");
    std::fs::write(args.out.join(format!("load-{}.md", args.listings)), &table)
        .expect("write table");
}
