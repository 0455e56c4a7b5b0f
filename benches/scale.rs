//! Scale bench: silkmatch against bare tantivy on N generated listings (default 100 000): import
//! throughput, search latency percentiles with and without filters, and index size on disk.
//!
//! ```text
//! cargo bench -p silkmatch-cli --bench scale -- --listings 100000 --queries 300 --out benches/out/scale
//! ```
//! `benches/run_scale.sh` runs it for 100 000 and 1 000 000 listings. Writes `DIR/scale-N.json` and
//! `DIR/scale-N.md` (the printed table).
//!
//! How each number is taken (docs/benchmarks.md explains what each contender includes):
//! 1. The listings (half offers, half needs, seed 1) are generated once into a JSONL file in a
//!    temporary directory, streamed, so memory stays flat; generation is not timed.
//! 2. Import: each contender reads that same file, 2 000 lines at a time, parsed in parallel.
//!    silkmatch validates, writes each batch to SQLite (fsynced) and stages it in the index, and
//!    commits the index at the end; bare tantivy extracts the text and adds documents, and commits.
//!    Throughput is listings over the time to the commit; waiting for background merges afterwards
//!    is reported apart.
//! 3. Size: files on disk after merges finished.
//! 4. Search: English queries of 1, 2 and 5 words drawn from the titles, each set without and with
//!    filters (the source listing's country and first technology field). Every query runs once per
//!    contender to warm up, then the contenders take turns query by query (so a busy moment of the
//!    machine hits all of them alike), one search at a time on one thread; each search is timed
//!    alone and must find something.

#[path = "common/mod.rs"]
mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use common::{BareSearch, QueryCase, QuerySource};
use rayon::prelude::*;
use serde_json::{Value, json};
use silkmatch_core::{Draft, Timestamp, parse_draft};
use silkmatch_fixtures::{GeneratorConfig, generate};
use silkmatch_index::{Engine, SearchRequest};

/// Seed of the listings and of the query draws.
const SEED: u64 = 1;
/// Listings sampled for query sources, at most (every k-th listing, spread over the whole corpus).
const MAX_SAMPLED_SOURCES: usize = 50_000;

const USAGE: &str = "usage: scale [--listings N] [--queries Q] [--out DIR] [--work DIR]
  --listings N  listings to generate, half offers and half needs (default 100000)
  --queries Q   queries per query set (default 300)
  --out DIR     where scale-N.json and scale-N.md go (default <workspace>/benches/out/scale)
  --work DIR    where the temporary data directories go (default: the system's temporary directory)";

/// Command line of the bench.
#[derive(Debug)]
struct Args {
    n_listings: usize,
    n_queries: usize,
    out: PathBuf,
    work: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        n_listings: 100_000,
        n_queries: 300,
        out: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/out/scale"),
        work: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = |name: &str| {
            words
                .next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match word.as_str() {
            "--listings" => {
                args.n_listings = value("--listings")?
                    .parse()
                    .context("--listings takes a number")?
            }
            "--queries" => {
                args.n_queries = value("--queries")?
                    .parse()
                    .context("--queries takes a number")?
            }
            "--out" => args.out = PathBuf::from(value("--out")?),
            "--work" => args.work = Some(PathBuf::from(value("--work")?)),
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    if args.n_listings < 2 || args.n_queries == 0 {
        bail!("--listings must be at least 2 and --queries at least 1");
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let work = match &args.work {
        Some(dir) => tempfile::Builder::new()
            .prefix("silkmatch-scale-")
            .tempdir_in(dir)?,
        None => tempfile::Builder::new()
            .prefix("silkmatch-scale-")
            .tempdir()?,
    };
    let started_at = Timestamp::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64,
    );
    let load_at_start = common::load_average();
    let n = args.n_listings;
    eprintln!(
        "scale: {n} listings, {} queries per set, work directory {}",
        args.n_queries,
        work.path().display()
    );

    let listings_path = work.path().join("listings.jsonl");
    let (query_sources, generate_time) = generate_listings(n, &listings_path)?;
    eprintln!(
        "generated {n} listings in {:.1} s ({} query sources)",
        generate_time.as_secs_f64(),
        query_sources.len()
    );

    let silkmatch_dir = work.path().join("silkmatch");
    let silkmatch_import = import_silkmatch(&listings_path, &silkmatch_dir, n)?;
    let bare_dir = work.path().join("bare");
    let (bare_import, bare_index, bare_fields) = import_bare(&listings_path, &bare_dir, n)?;
    std::fs::remove_file(&listings_path)?;

    let engine = Engine::open(&silkmatch_dir)?;
    let stats = engine.stats(common::search_time())?;
    let mut bare = BareSearch::open(&bare_index, bare_fields);
    let sizes = Sizes {
        silkmatch_index: stats.index_bytes,
        silkmatch_store_db: common::file_bytes_with_prefix(&silkmatch_dir, "store.sqlite3")
            - common::file_bytes_with_prefix(&silkmatch_dir, "store.sqlite3-"),
        silkmatch_store_wal: common::file_bytes_with_prefix(&silkmatch_dir, "store.sqlite3-"),
        bare_index: common::dir_bytes(&bare_dir),
    };
    let segments = (stats.index_segments, bare.searcher.segment_readers().len());
    assert_eq!(
        stats.index_documents, n as u64,
        "silkmatch indexed every listing"
    );
    assert_eq!(
        bare.searcher.num_docs(),
        n as u64,
        "bare tantivy indexed every listing"
    );

    let query_sets = [
        (1, false),
        (2, false),
        (5, false),
        (1, true),
        (2, true),
        (5, true),
    ];
    let mut latencies = Vec::new();
    for (n_terms, filtered) in query_sets {
        let cases = common::sample_queries(
            &query_sources,
            n_terms,
            args.n_queries,
            SEED,
            &mut bare.analyzer,
        );
        eprintln!(
            "searching: {n_terms} term(s){}, e.g. {:?}",
            if filtered { ", filtered" } else { "" },
            cases[0].text
        );
        latencies.push(measure_queries(
            &engine, &mut bare, &cases, n_terms, filtered,
        ));
    }

    let report = Report {
        n_listings: n,
        n_queries: args.n_queries,
        date: started_at.to_rfc3339(),
        machine: common::machine_description(),
        load: (load_at_start, common::load_average()),
        imports: [bare_import, silkmatch_import],
        segments,
        sizes,
        latencies,
    };
    let table = report.table();
    println!("{table}");
    let json_path = args.out.join(format!("scale-{n}.json"));
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&report.json())? + "\n",
    )?;
    std::fs::write(args.out.join(format!("scale-{n}.md")), &table)?;
    eprintln!("wrote {}", json_path.display());
    drop(engine);
    drop(bare);
    drop(bare_index);
    work.close()?;
    Ok(())
}

/// Writes the listings as JSONL and samples query sources from them.
fn generate_listings(
    n_listings: usize,
    path: &Path,
) -> anyhow::Result<(Vec<QuerySource>, Duration)> {
    let started = Instant::now();
    let mut sink = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let stride = n_listings.div_ceil(MAX_SAMPLED_SOURCES).max(1);
    let mut query_sources = Vec::new();
    let config = GeneratorConfig {
        offers: n_listings / 2,
        needs: n_listings - n_listings / 2,
        seed: SEED,
    };
    for (listing_idx, listing) in generate(&config).enumerate() {
        if listing_idx % stride == 0 {
            query_sources.extend(common::query_source(&listing));
        }
        serde_json::to_writer(&mut sink, &listing)?;
        sink.write_all(b"\n")?;
    }
    sink.flush()?;
    Ok((query_sources, started.elapsed()))
}

/// Calls `each_chunk` with up to `common::BATCH` lines of the file at a time.
fn for_each_chunk(
    path: &Path,
    mut each_chunk: impl FnMut(&[String]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut chunk: Vec<String> = Vec::with_capacity(common::BATCH);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        chunk.push(line);
        if chunk.len() == common::BATCH {
            each_chunk(&chunk)?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        each_chunk(&chunk)?;
    }
    Ok(())
}

/// How one contender's import went.
#[derive(Debug, Clone)]
struct Import {
    contender: &'static str,
    /// From opening the file to the committed index.
    to_commit: Duration,
    /// Waiting for background merges after the commit.
    merge_wait: Duration,
}

impl Import {
    fn listings_per_second(&self, n_listings: usize) -> f64 {
        n_listings as f64 / self.to_commit.as_secs_f64()
    }
}

fn progress(contender: &str, done: usize, total: usize, started: Instant) {
    let step = (total / 10).max(1);
    if done % step < common::BATCH && done > 0 {
        eprintln!(
            "  {contender}: {done}/{total} after {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
}

fn import_silkmatch(listings_path: &Path, dir: &Path, n_listings: usize) -> anyhow::Result<Import> {
    let engine = Engine::open(dir)?;
    let started = Instant::now();
    let mut n_imported = 0;
    for_each_chunk(listings_path, |lines| {
        let drafts: Vec<Draft> = lines
            .par_iter()
            .map(|line| parse_draft(line).expect("a generated listing reads as a draft"))
            .collect();
        n_imported += common::write_batch(&engine, drafts);
        progress("silkmatch", n_imported, n_listings, started);
        Ok(())
    })?;
    engine.commit_index()?;
    let to_commit = started.elapsed();
    assert_eq!(n_imported, n_listings);
    let merging = Instant::now();
    engine.close()?;
    let import = Import {
        contender: "silkmatch",
        to_commit,
        merge_wait: merging.elapsed(),
    };
    eprintln!(
        "silkmatch imported {n_listings} in {:.1} s",
        to_commit.as_secs_f64()
    );
    Ok(import)
}

fn import_bare(
    listings_path: &Path,
    dir: &Path,
    n_listings: usize,
) -> anyhow::Result<(Import, tantivy::Index, common::BareFields)> {
    let (index, mut writer, fields) = common::bare_create(dir);
    let started = Instant::now();
    let mut n_indexed = 0;
    for_each_chunk(listings_path, |lines| {
        let docs: Vec<common::BareDoc> = lines
            .par_iter()
            .map(|line| {
                common::bare_doc(
                    &serde_json::from_str::<Value>(line).expect("a generated listing is JSON"),
                )
            })
            .collect();
        for doc in &docs {
            common::bare_add(&writer, &fields, doc);
        }
        n_indexed += docs.len();
        progress("bare tantivy", n_indexed, n_listings, started);
        Ok(())
    })?;
    writer.commit()?;
    let to_commit = started.elapsed();
    let merging = Instant::now();
    writer.wait_merging_threads()?;
    let import = Import {
        contender: "bare tantivy",
        to_commit,
        merge_wait: merging.elapsed(),
    };
    eprintln!(
        "bare tantivy indexed {n_listings} in {:.1} s",
        to_commit.as_secs_f64()
    );
    Ok((import, index, fields))
}

/// Bytes on disk after merges.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    silkmatch_index: u64,
    silkmatch_store_db: u64,
    silkmatch_store_wal: u64,
    bare_index: u64,
}

/// Latency percentiles of one contender on one query set, in microseconds.
#[derive(Debug, Clone, Copy)]
struct Percentiles {
    p50: f64,
    p99: f64,
    /// p50 and p99 of the same searches minus the time each spent waiting for a CPU while another
    /// process had it (Linux schedstat); equal to the above on a quiet machine.
    p50_on_cpu: f64,
    p99_on_cpu: f64,
    /// Searches that waited more than `DELAYED_NS` for a CPU.
    n_delayed: usize,
    mean_matches: f64,
}

/// A search that waited longer than this for a CPU was slowed down by another process.
const DELAYED_NS: u64 = 200_000;

/// Timings of one contender's searches.
#[derive(Debug, Default)]
struct Timings {
    micros: Vec<f64>,
    on_cpu_micros: Vec<f64>,
    n_delayed: usize,
    total_matches: usize,
}

impl Timings {
    /// Runs `search` once, timed; it returns the number of matches.
    fn time(&mut self, search: &mut dyn FnMut() -> usize) {
        let waited_before = common::scheduler_wait_ns();
        let started = Instant::now();
        let n_matches = search();
        let elapsed = started.elapsed();
        let waited_ns = match (waited_before, common::scheduler_wait_ns()) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => 0,
        };
        let micros = elapsed.as_secs_f64() * 1e6;
        self.micros.push(micros);
        self.on_cpu_micros
            .push((micros - waited_ns as f64 / 1e3).max(0.0));
        self.n_delayed += usize::from(waited_ns > DELAYED_NS);
        self.total_matches += n_matches;
    }

    fn percentiles(mut self) -> Percentiles {
        let n_queries = self.micros.len();
        self.micros.sort_by(f64::total_cmp);
        self.on_cpu_micros.sort_by(f64::total_cmp);
        Percentiles {
            p50: common::percentile(&self.micros, 0.50),
            p99: common::percentile(&self.micros, 0.99),
            p50_on_cpu: common::percentile(&self.on_cpu_micros, 0.50),
            p99_on_cpu: common::percentile(&self.on_cpu_micros, 0.99),
            n_delayed: self.n_delayed,
            mean_matches: self.total_matches as f64 / n_queries as f64,
        }
    }
}

impl Percentiles {
    fn json(&self) -> Value {
        json!({
            "p50_us": round1(self.p50),
            "p99_us": round1(self.p99),
            "p50_on_cpu_us": round1(self.p50_on_cpu),
            "p99_on_cpu_us": round1(self.p99_on_cpu),
            "searches_delayed_by_other_processes": self.n_delayed,
            "mean_matches": round1(self.mean_matches),
        })
    }
}

/// One query set measured for the three contenders.
#[derive(Debug, Clone)]
struct QuerySetLatency {
    n_terms: usize,
    filtered: bool,
    example: String,
    bare: Percentiles,
    /// Top 20 and a count, like the baseline.
    silkmatch: Percentiles,
    /// The full public search: also facets and snippets.
    silkmatch_full: Percentiles,
}

impl QuerySetLatency {
    fn name(&self) -> String {
        format!(
            "{} term{}{}",
            self.n_terms,
            if self.n_terms == 1 { "" } else { "s" },
            if self.filtered { ", filtered" } else { "" }
        )
    }
}

fn measure_queries(
    engine: &Engine,
    bare: &mut BareSearch,
    cases: &[QueryCase],
    n_terms: usize,
    filtered: bool,
) -> QuerySetLatency {
    let like_for_like: Vec<SearchRequest> = cases
        .iter()
        .map(|case| common::silkmatch_request(case, filtered, false))
        .collect();
    let full: Vec<SearchRequest> = cases
        .iter()
        .map(|case| common::silkmatch_request(case, filtered, true))
        .collect();
    for ((case, request), full_request) in cases.iter().zip(&like_for_like).zip(&full) {
        bare.search(case, filtered);
        common::silkmatch_search(engine, request);
        common::silkmatch_search(engine, full_request);
    }
    let mut bare_timings = Timings::default();
    let mut silkmatch_timings = Timings::default();
    let mut full_timings = Timings::default();
    for ((case, request), full_request) in cases.iter().zip(&like_for_like).zip(&full) {
        bare_timings.time(&mut || bare.search(case, filtered).1);
        silkmatch_timings.time(&mut || common::silkmatch_search(engine, request).1);
        full_timings.time(&mut || common::silkmatch_search(engine, full_request).1);
    }
    QuerySetLatency {
        n_terms,
        filtered,
        example: cases[0].text.clone(),
        bare: bare_timings.percentiles(),
        silkmatch: silkmatch_timings.percentiles(),
        silkmatch_full: full_timings.percentiles(),
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Everything one run measured.
struct Report {
    n_listings: usize,
    n_queries: usize,
    date: String,
    machine: String,
    load: (Option<f64>, Option<f64>),
    /// Bare tantivy, then silkmatch.
    imports: [Import; 2],
    /// Segments after merges: silkmatch, bare tantivy.
    segments: (usize, usize),
    sizes: Sizes,
    latencies: Vec<QuerySetLatency>,
}

impl Report {
    fn import_ratio(&self) -> f64 {
        self.imports[1].listings_per_second(self.n_listings)
            / self.imports[0].listings_per_second(self.n_listings)
    }

    fn per_listing(&self, bytes: u64) -> f64 {
        bytes as f64 / self.n_listings as f64
    }

    fn table(&self) -> String {
        let n = self.n_listings;
        let load =
            |load: Option<f64>| load.map_or_else(|| "?".to_owned(), |load| format!("{load:.2}"));
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            "### Scale: {n} listings, {} queries per set",
            self.n_queries
        ));
        line(String::new());
        line(format!(
            "{}; {}; 1-minute load average {} at start, {} at end.",
            self.date,
            self.machine,
            load(self.load.0),
            load(self.load.1)
        ));
        line(String::new());
        line("| import | to commit (s) | listings/s | merge wait after commit (s) | segments after merges |".to_owned());
        line("|---|---:|---:|---:|---:|".to_owned());
        for (import, segments) in self.imports.iter().zip([self.segments.1, self.segments.0]) {
            line(format!(
                "| {} | {:.1} | {:.0} | {:.1} | {segments} |",
                import.contender,
                import.to_commit.as_secs_f64(),
                import.listings_per_second(n),
                import.merge_wait.as_secs_f64()
            ));
        }
        line(format!(
            "| ratio silkmatch/bare (throughput) | | {:.3} | | |",
            self.import_ratio()
        ));
        line(String::new());
        line("| query set (latency µs) | bare p50 | bare p99 | silkmatch p50 | silkmatch p99 | ratio p50 | ratio p99 | +facets+snippets p50 | p99 | ratio p50 | ratio p99 | mean matches bare / silkmatch |".to_owned());
        line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".to_owned());
        for set in &self.latencies {
            line(format!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} / {:.0} |",
                set.name(),
                set.bare.p50,
                set.bare.p99,
                set.silkmatch.p50,
                set.silkmatch.p99,
                set.silkmatch.p50 / set.bare.p50,
                set.silkmatch.p99 / set.bare.p99,
                set.silkmatch_full.p50,
                set.silkmatch_full.p99,
                set.silkmatch_full.p50 / set.bare.p50,
                set.silkmatch_full.p99 / set.bare.p99,
                set.bare.mean_matches,
                set.silkmatch.mean_matches,
            ));
        }
        let delayed = |select: fn(&QuerySetLatency) -> &Percentiles| -> usize {
            self.latencies.iter().map(|set| select(set).n_delayed).sum()
        };
        line(String::new());
        line(format!(
            "Searches that waited over {} ms for a CPU held by another process, of {} per contender: \
             bare {}, silkmatch {}, silkmatch with facets and snippets {} (the JSON has p50/p99 \
             without those waits).",
            DELAYED_NS as f64 / 1e6,
            self.latencies.len() * self.n_queries,
            delayed(|set| &set.bare),
            delayed(|set| &set.silkmatch),
            delayed(|set| &set.silkmatch_full),
        ));
        line(String::new());
        line("| on disk after merges | bytes | bytes per listing |".to_owned());
        line("|---|---:|---:|".to_owned());
        let sizes = self.sizes;
        for (name, bytes) in [
            ("bare tantivy index", sizes.bare_index),
            ("silkmatch index", sizes.silkmatch_index),
            (
                "silkmatch store (SQLite database)",
                sizes.silkmatch_store_db,
            ),
            ("silkmatch store (SQLite WAL)", sizes.silkmatch_store_wal),
        ] {
            line(format!(
                "| {name} | {bytes} | {:.0} |",
                self.per_listing(bytes)
            ));
        }
        line(format!(
            "| ratio silkmatch index / bare index | | {:.2} |",
            sizes.silkmatch_index as f64 / sizes.bare_index as f64
        ));
        out
    }

    fn json(&self) -> Value {
        let n = self.n_listings;
        let import = |import: &Import| {
            json!({
                "seconds_to_commit": round3(import.to_commit.as_secs_f64()),
                "listings_per_second": round1(import.listings_per_second(n)),
                "merge_wait_seconds": round3(import.merge_wait.as_secs_f64()),
            })
        };
        let sizes = self.sizes;
        json!({
            "listings": n,
            "queries_per_set": self.n_queries,
            "date": self.date,
            "machine": self.machine,
            "load_average_1min": { "start": self.load.0, "end": self.load.1 },
            "import": {
                "bare_tantivy": import(&self.imports[0]),
                "silkmatch": import(&self.imports[1]),
                "ratio_silkmatch_over_bare_throughput": round3(self.import_ratio()),
            },
            "segments_after_merges": { "silkmatch": self.segments.0, "bare_tantivy": self.segments.1 },
            "search": self.latencies.iter().map(|set| json!({
                "query_set": set.name(),
                "terms": set.n_terms,
                "filtered": set.filtered,
                "example": set.example,
                "bare_tantivy": set.bare.json(),
                "silkmatch": set.silkmatch.json(),
                "silkmatch_facets_snippets": set.silkmatch_full.json(),
                "ratio_p50": round3(set.silkmatch.p50 / set.bare.p50),
                "ratio_p99": round3(set.silkmatch.p99 / set.bare.p99),
                "ratio_facets_snippets_p50": round3(set.silkmatch_full.p50 / set.bare.p50),
                "ratio_facets_snippets_p99": round3(set.silkmatch_full.p99 / set.bare.p99),
            })).collect::<Vec<_>>(),
            "bytes": {
                "bare_tantivy_index": sizes.bare_index,
                "silkmatch_index": sizes.silkmatch_index,
                "silkmatch_store_database": sizes.silkmatch_store_db,
                "silkmatch_store_wal": sizes.silkmatch_store_wal,
            },
            "bytes_per_listing": {
                "bare_tantivy_index": round1(self.per_listing(sizes.bare_index)),
                "silkmatch_index": round1(self.per_listing(sizes.silkmatch_index)),
                "silkmatch_store_database": round1(self.per_listing(sizes.silkmatch_store_db)),
                "silkmatch_store_wal": round1(self.per_listing(sizes.silkmatch_store_wal)),
            },
        })
    }
}
