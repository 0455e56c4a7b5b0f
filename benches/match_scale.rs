//! Matching bench: how long silkmatch takes to rank the offers for a need, as a ratio to a bare
//! tantivy BM25 query over the same terms in the same run, how that grows with the number of offers,
//! and how many match requests per second one and two cores serve.
//!
//! ```text
//! cargo bench -p silkmatch-cli --bench match_scale -- --offers 100000 --needs 2000 --queries 200 --out benches/out/match_scale
//! cargo bench -p silkmatch-cli --bench match_scale -- --summary --out benches/out/match_scale
//! ```
//! `benches/run_match_scale.sh` runs it for 10 000, 100 000 and 1 000 000 offers, then `--summary`,
//! which prints how latency grows across the `match-N.json` files in the output folder. A run writes
//! `DIR/match-N.json` and `DIR/match-N.md` (the printed tables).
//!
//! How each number is taken (docs/benchmarks.md, "Matching latency", says what each includes):
//! 1. Corpus: `silkmatch_fixtures::generate` with N offers and M needs (seed 1), imported into an
//!    `Engine` in a temporary directory (`common::import_values`: batches of 2 000, one index
//!    commit, then background merges awaited and the engine reopened, as a server would find it).
//!    The same offers' text goes into a bare tantivy index (`common::bare_*`); the needs do not,
//!    since a need's candidates are offers. Imports are not the subject and are only logged.
//! 2. Query needs: Q of the M imported needs, drawn without replacement (seed 1).
//! 3. Latency: every need runs once per contender to warm up, which also records silkmatch's
//!    answer and the query terms its candidate generation used. Then the contenders take turns need
//!    by need (so a busy moment of the machine hits all of them alike), one request at a time from
//!    the bench's main thread, each request timed alone and its answer compared with the warm-up's.
//!    silkmatch runs its own parallel steps on rayon's global pool (two threads here), as the API
//!    does; one row runs it on a one-thread pool instead. The baseline is a disjunction of
//!    `TermQuery`s over the bare index's one text field, built from exactly silkmatch's selected
//!    terms (already analysed), top 20 by BM25, single-threaded.
//! 4. Where the time goes: after the latency loop, each need's match is taken apart into the steps
//!    of `prepare_match` (`analyse_listing` of the need; `Engine::candidate_scan`, the candidate scan
//!    under the hard constraints; document
//!    frequencies; `store::listings::get_many` on a second handle of the store, with the stored
//!    analyses; `analysis_of` the candidates, which decodes them; `MatchSide::new`), `rank`, and `explain` with `snippets_for`, each timed alone.
//!    What the steps do not account for is reported as remainders, so the rows add up to the mean of
//!    `matches_for`; a negative remainder means the steps ran slower alone than inside it.
//! 5. Throughput: the Q needs through `matches_for` (explanations on) with `par_iter` on a rayon
//!    pool of one and of two threads (silkmatch's own parallel steps share that pool), whole passes
//!    until at least a second has gone by, three rounds, median. The baseline is run the same way.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rayon::ThreadPool;
use rayon::prelude::*;
use serde_json::{Value, json};
use silkmatch_core::matching::{CorpusStats, MatchSide, Ranker, TextField, Weights, rank};
use silkmatch_core::{Listing, Timestamp};
use silkmatch_fixtures::{GeneratorConfig, generate};
use silkmatch_index::store::{self, Store};
use silkmatch_index::{Engine, MatchRequest, analyse_listing, analysis_of};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, ReloadPolicy, Score, Searcher, Term};

/// Seed of the listings and of the draw of query needs.
const SEED: u64 = 1;
/// Matches asked for per need, and hits asked of the baseline.
const K: usize = 20;
/// Candidates silkmatch rescores (the API's default).
const CANDIDATES: usize = 100;
/// Rounds of the throughput measurement; the median is reported.
const THROUGHPUT_ROUNDS: usize = 3;
/// A throughput run repeats whole passes over the needs until at least this much time has gone by.
const THROUGHPUT_MIN_RUN: Duration = Duration::from_secs(1);
/// A request whose thread waited longer than this for a CPU was slowed down by another process.
const DELAYED_NS: u64 = 200_000;

const USAGE: &str =
    "usage: match_scale [--offers N] [--needs M] [--queries Q] [--out DIR] [--work DIR]
       match_scale --summary [--out DIR]
  --offers N   offers to generate and import (default 100000)
  --needs M    needs to generate and import; the query needs are drawn from them (default 2000)
  --queries Q  query needs (default 200; at most M)
  --out DIR    where match-N.json and match-N.md go (default <workspace>/benches/out/match_scale)
  --work DIR   where the temporary data directories go (default: the system's temporary directory)
  --summary    only print (and write to DIR/growth.md) how latency grows across DIR/match-*.json";

/// Command line of the bench.
#[derive(Debug)]
struct Args {
    n_offers: usize,
    n_needs: usize,
    n_queries: usize,
    out: PathBuf,
    work: Option<PathBuf>,
    summary: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        n_offers: 100_000,
        n_needs: 2_000,
        n_queries: 200,
        out: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/out/match_scale"),
        work: None,
        summary: false,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = |name: &str| {
            words
                .next()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match word.as_str() {
            "--offers" => {
                args.n_offers = value("--offers")?
                    .parse()
                    .context("--offers takes a number")?
            }
            "--needs" => {
                args.n_needs = value("--needs")?
                    .parse()
                    .context("--needs takes a number")?
            }
            "--queries" => {
                args.n_queries = value("--queries")?
                    .parse()
                    .context("--queries takes a number")?
            }
            "--out" => args.out = PathBuf::from(value("--out")?),
            "--work" => args.work = Some(PathBuf::from(value("--work")?)),
            "--summary" => args.summary = true,
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    if args.n_offers == 0 || args.n_queries == 0 || args.n_queries > args.n_needs {
        bail!("--offers and --queries must be at least 1, and --queries at most --needs\n{USAGE}");
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    if args.summary {
        let growth = growth_table(&args.out)?;
        print!("{growth}");
        std::fs::write(args.out.join("growth.md"), &growth)?;
        return Ok(());
    }
    let work = match &args.work {
        Some(dir) => tempfile::Builder::new()
            .prefix("silkmatch-match-scale-")
            .tempdir_in(dir)?,
        None => tempfile::Builder::new()
            .prefix("silkmatch-match-scale-")
            .tempdir()?,
    };
    let started_at = Timestamp::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64,
    );
    let bench_started = Instant::now();
    let load_at_start = common::load_average();
    let config = GeneratorConfig {
        offers: args.n_offers,
        needs: args.n_needs,
        seed: SEED,
    };
    eprintln!(
        "match_scale: {} offers, {} needs, {} query needs, work directory {}",
        args.n_offers,
        args.n_needs,
        args.n_queries,
        work.path().display()
    );

    // 1. Corpus.
    let silkmatch_dir = work.path().join("silkmatch");
    let silkmatch_import = import_silkmatch(&config, &silkmatch_dir)?;
    let bare_dir = work.path().join("bare");
    let (bare_import, bare_index, bare_fields) = import_bare(&config, &bare_dir)?;
    let engine = Engine::open(&silkmatch_dir)?;
    let bare = common::BareSearch::open(&bare_index, bare_fields);
    // A second reader of silkmatch's own index and a second store handle, for the breakdown.
    let silkmatch_raw = tantivy::Index::open_in_dir(silkmatch_dir.join("search"))?;
    let silkmatch_raw_reader = silkmatch_raw
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let raw_schema = silkmatch_raw.schema();
    let raw = RawIndex {
        store: Store::open(&silkmatch_dir)?,
        searcher: tantivy::IndexReader::searcher(&silkmatch_raw_reader),
        body: raw_schema.get_field("body")?,
    };
    let stats = engine.stats(common::search_time())?;
    assert_eq!(
        stats.index_documents,
        (args.n_offers + args.n_needs) as u64,
        "silkmatch indexed every listing"
    );
    assert_eq!(
        bare.searcher.num_docs(),
        args.n_offers as u64,
        "bare tantivy indexed every offer"
    );
    let segments = (stats.index_segments, bare.searcher.segment_readers().len());

    // 2. Query needs.
    let pool_1 = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|i| format!("match-1-{i}"))
        .build()?;
    let pool_2 = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .thread_name(|i| format!("match-2-{i}"))
        .build()?;
    let ctx = Ctx {
        engine: &engine,
        bare: &bare.searcher,
        bare_text: bare.fields.text,
        raw: &raw,
        pool_1: &pool_1,
        now: common::search_time(),
        with_explanations: MatchRequest {
            k: K,
            candidates: CANDIDATES,
            ..Default::default()
        },
        without_explanations: MatchRequest {
            k: K,
            candidates: CANDIDATES,
            explain: false,
            ..Default::default()
        },
    };
    let load_before_measuring = common::load_average();
    eprintln!(
        "warming up with {} needs ({:.0} s since start)",
        args.n_queries,
        bench_started.elapsed().as_secs_f64()
    );
    let cases = sample_needs(&ctx, args.n_needs, args.n_queries)?;
    let corpus = CorpusFacts::of(&cases);
    let example = &cases[0];
    let not_in_bare: Vec<&String> = example
        .terms
        .iter()
        .filter(|term| {
            ctx.bare
                .doc_freq(&Term::from_field_text(ctx.bare_text, term))
                .is_ok_and(|df| df == 0)
        })
        .collect();
    eprintln!(
        "e.g. {} ({}): {} query terms {:?}; not in the bare index: {:?}",
        example.external_id,
        example.listing.body.language.as_str(),
        example.terms.len(),
        example.terms,
        not_in_bare
    );

    // 3. Latency.
    eprintln!("measuring latency");
    let cpu_before = CpuSample::take();
    let (latencies, english) = measure_latency(&ctx, &cases);
    let others_latency = CpuSample::others_share(cpu_before, CpuSample::take());

    // 4. Where the time goes.
    eprintln!("taking matches apart");
    let breakdown = measure_breakdown(&ctx, &cases);

    // 5. Throughput.
    eprintln!("measuring throughput at 1 and 2 threads");
    let cpu_before = CpuSample::take();
    let throughput = measure_throughput(&ctx, &cases, [&pool_1, &pool_2]);
    let others_throughput = CpuSample::others_share(cpu_before, CpuSample::take());

    let report = Report {
        n_offers: args.n_offers,
        n_needs: args.n_needs,
        n_queries: args.n_queries,
        date: started_at.to_rfc3339(),
        machine: common::machine_description(),
        load: [load_at_start, load_before_measuring, common::load_average()],
        others_cpu: [others_latency, others_throughput],
        imports: [bare_import, silkmatch_import],
        segments,
        corpus,
        latencies,
        english,
        breakdown,
        throughput,
        seconds: bench_started.elapsed().as_secs_f64(),
    };
    let table = report.table();
    println!("{table}");
    let n = args.n_offers;
    let json_path = args.out.join(format!("match-{n}.json"));
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&report.json())? + "\n",
    )?;
    std::fs::write(args.out.join(format!("match-{n}.md")), &table)?;
    eprintln!(
        "wrote {} after {:.0} s",
        json_path.display(),
        bench_started.elapsed().as_secs_f64()
    );
    drop(bare);
    drop(bare_index);
    drop(silkmatch_raw_reader);
    drop(engine);
    work.close()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Corpus

/// How one contender's import went (logged, not the subject).
#[derive(Debug, Clone, Copy)]
struct Import {
    documents: usize,
    /// From the first listing to the committed index.
    to_commit: Duration,
    /// Waiting for background merges afterwards.
    merge_wait: Duration,
}

fn import_silkmatch(config: &GeneratorConfig, dir: &Path) -> anyhow::Result<Import> {
    let engine = Engine::open(dir)?;
    let total = config.offers + config.needs;
    let step = (total / 10).max(1);
    let started = Instant::now();
    let listings = generate(config).enumerate().map(|(listing_idx, listing)| {
        if listing_idx > 0 && listing_idx % step == 0 {
            eprintln!(
                "  silkmatch: {listing_idx}/{total} after {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        listing
    });
    let documents = common::import_values(&engine, listings);
    let to_commit = started.elapsed();
    assert_eq!(documents, total, "silkmatch imported every listing");
    let merging = Instant::now();
    engine.close()?;
    let import = Import {
        documents,
        to_commit,
        merge_wait: merging.elapsed(),
    };
    eprintln!(
        "silkmatch imported {documents} listings in {:.1} s (+{:.1} s of merges)",
        to_commit.as_secs_f64(),
        import.merge_wait.as_secs_f64()
    );
    Ok(import)
}

fn import_bare(
    config: &GeneratorConfig,
    dir: &Path,
) -> anyhow::Result<(Import, tantivy::Index, common::BareFields)> {
    let (index, mut writer, fields) = common::bare_create(dir);
    let started = Instant::now();
    let mut documents = 0;
    let mut chunk: Vec<Value> = Vec::with_capacity(common::BATCH);
    let mut flush = |chunk: &mut Vec<Value>| {
        let docs: Vec<common::BareDoc> = chunk.par_iter().map(common::bare_doc).collect();
        chunk.clear();
        for doc in &docs {
            common::bare_add(&writer, &fields, doc);
        }
        documents += docs.len();
    };
    for listing in generate(config).filter(|listing| listing["kind"] == "offer") {
        chunk.push(listing);
        if chunk.len() == common::BATCH {
            flush(&mut chunk);
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk);
    }
    writer.commit()?;
    let to_commit = started.elapsed();
    assert_eq!(documents, config.offers, "bare tantivy indexed every offer");
    let merging = Instant::now();
    writer.wait_merging_threads()?;
    let import = Import {
        documents,
        to_commit,
        merge_wait: merging.elapsed(),
    };
    eprintln!(
        "bare tantivy indexed {documents} offers in {:.1} s (+{:.1} s of merges)",
        to_commit.as_secs_f64(),
        import.merge_wait.as_secs_f64()
    );
    Ok((import, index, fields))
}

/// silkmatch's own index opened read-only with tantivy alone, to time document-frequency lookups,
/// and a second handle on its store, to time reading candidates.
struct RawIndex {
    store: Store,
    searcher: Searcher,
    body: Field,
}

/// What every measurement needs.
struct Ctx<'a> {
    engine: &'a Engine,
    bare: &'a Searcher,
    bare_text: Field,
    raw: &'a RawIndex,
    pool_1: &'a ThreadPool,
    now: Timestamp,
    /// The API's default path: k 20, 100 candidates, reciprocal, explanations and snippets.
    with_explanations: MatchRequest,
    without_explanations: MatchRequest,
}

/// One query need and the answers its warm-up gave, which every timed run must give again.
struct NeedCase {
    external_id: String,
    listing: Listing,
    /// silkmatch's selected query terms (analysed), the baseline's terms too.
    terms: Vec<String>,
    /// Of those, terms the bare index holds.
    n_terms_in_bare: usize,
    /// Documents the bare disjunction matches.
    bare_matching: usize,
    /// Hits of the baseline at top 20 and top 100.
    bare_hits: [usize; 2],
    /// Hits of the same disjunction, top 20, on silkmatch's own `body` field.
    own_hits: usize,
    /// Candidates silkmatch rescored.
    n_candidates: usize,
    /// Matches silkmatch returned, and the id of the best.
    n_matches: usize,
    best: Option<String>,
}

/// Draws `n_queries` of the needs `gen-need-0000001` ... without replacement, resolves them and
/// runs every contender once on each (the warm-up), recording the answers.
fn sample_needs(ctx: &Ctx, n_needs: usize, n_queries: usize) -> anyhow::Result<Vec<NeedCase>> {
    let mut rng = common::SplitMix64::new(SEED ^ 0x6D61_7463_685F_7363);
    let mut numbers: Vec<usize> = (1..=n_needs).collect();
    for slot in 0..n_queries {
        let pick = slot + rng.below(numbers.len() - slot);
        numbers.swap(slot, pick);
    }
    let mut cases = Vec::with_capacity(n_queries);
    for &number in &numbers[..n_queries] {
        let external_id = format!("gen-need-{number:07}");
        let listing = ctx
            .engine
            .resolve(&external_id)
            .with_context(|| format!("need {external_id} is not in the store"))?;
        let results = ctx
            .engine
            .matches_for(&listing, &ctx.with_explanations, ctx.now)?;
        let terms: Vec<String> = results
            .query_terms
            .iter()
            .map(|query_term| query_term.term.clone())
            .collect();
        let n_terms_in_bare = terms
            .iter()
            .map(|term| {
                ctx.bare
                    .doc_freq(&Term::from_field_text(ctx.bare_text, term))
                    .map(|df| usize::from(df > 0))
            })
            .sum::<tantivy::Result<usize>>()?;
        let bare_matching = ctx
            .bare
            .search(&bare_query(ctx.bare_text, &terms), &Count)?;
        let mut case = NeedCase {
            external_id,
            listing,
            terms,
            n_terms_in_bare,
            bare_matching,
            bare_hits: [0, 0],
            own_hits: 0,
            n_candidates: results.candidates_considered,
            n_matches: results.matches.len(),
            best: results
                .matches
                .first()
                .map(|found| found.listing.id.clone()),
        };
        case.bare_hits = [
            bare_top(ctx, &case.terms, K).len(),
            bare_top(ctx, &case.terms, CANDIDATES).len(),
        ];
        case.own_hits = own_top(ctx, &case.terms, K).len();
        // The rest of the contenders, once each.
        for contender in Contender::ALL {
            contender.run(ctx, &case);
        }
        cases.push(case);
    }
    Ok(cases)
}

/// What the needs and their answers looked like.
#[derive(Debug, Clone, Copy)]
struct CorpusFacts {
    mean_terms: f64,
    min_terms: usize,
    max_terms: usize,
    /// Share of query terms the bare index holds.
    terms_in_bare: f64,
    mean_bare_matching: f64,
    mean_candidates: f64,
    mean_matches: f64,
    needs_without_matches: usize,
}

impl CorpusFacts {
    fn of(cases: &[NeedCase]) -> CorpusFacts {
        let n = cases.len() as f64;
        let n_terms: usize = cases.iter().map(|case| case.terms.len()).sum();
        let mean =
            |value: fn(&NeedCase) -> usize| cases.iter().map(value).sum::<usize>() as f64 / n;
        CorpusFacts {
            mean_terms: n_terms as f64 / n,
            min_terms: cases.iter().map(|case| case.terms.len()).min().unwrap_or(0),
            max_terms: cases.iter().map(|case| case.terms.len()).max().unwrap_or(0),
            terms_in_bare: cases.iter().map(|case| case.n_terms_in_bare).sum::<usize>() as f64
                / n_terms.max(1) as f64,
            mean_bare_matching: mean(|case| case.bare_matching),
            mean_candidates: mean(|case| case.n_candidates),
            mean_matches: mean(|case| case.n_matches),
            needs_without_matches: cases.iter().filter(|case| case.n_matches == 0).count(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The contenders

fn bare_query(text: Field, terms: &[String]) -> BooleanQuery {
    BooleanQuery::new(
        terms
            .iter()
            .map(|term| {
                (
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(text, term),
                        IndexRecordOption::WithFreqs,
                    )) as Box<dyn Query>,
                )
            })
            .collect(),
    )
}

/// The baseline: silkmatch's terms as a BM25 disjunction on the bare index, top `limit`.
fn bare_top(ctx: &Ctx, terms: &[String], limit: usize) -> Vec<(Score, DocAddress)> {
    ctx.bare
        .search(
            &bare_query(ctx.bare_text, terms),
            &TopDocs::with_limit(limit).order_by_score(),
        )
        .expect("bare search succeeds")
}

/// The same disjunction on silkmatch's own index (its `body` field holds every listing's whole text
/// under silkmatch's analyzers, so every query term is there), top `limit`, no filters.
fn own_top(ctx: &Ctx, terms: &[String], limit: usize) -> Vec<(Score, DocAddress)> {
    ctx.raw
        .searcher
        .search(
            &bare_query(ctx.raw.body, terms),
            &TopDocs::with_limit(limit).order_by_score(),
        )
        .expect("bare search of silkmatch's index succeeds")
}

/// Everything timed per need, in the order they take turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    /// The baseline: same terms, BM25 top 20, one field, no filters.
    Bare,
    /// The baseline asked for as many hits as silkmatch takes candidates.
    BareTop100,
    /// The same BM25 disjunction, top 20, on silkmatch's own index (`body`, same analysis): every
    /// query term is in it, so this is the bare query doing the whole work of the terms.
    BareSameAnalysis,
    /// `matches_for`, the API's default path (explanations and snippets), the need asked before:
    /// its candidates' prepared sides are in the engine's cache.
    Silkmatch,
    /// `matches_for` with the cache of prepared candidates emptied first (outside the timing): every
    /// candidate read from the store and analysed, as on a first request after a restart.
    SilkmatchCold,
    /// `matches_for` with `explain: false`.
    SilkmatchNoExplain,
    /// `matches_for` (explanations) on a one-thread rayon pool.
    SilkmatchOneThread,
    /// `prepare_match` alone: candidates and their analysis.
    Prepare,
    /// `prepare_match` and `rank`.
    PrepareRank,
    /// `prepare_match` alone, cache emptied first.
    PrepareCold,
}

impl Contender {
    /// In turn order: the cold ones empty the caches; the last of them answers the need in full,
    /// so the warm ones that follow find its candidates prepared and their texts' analyses for
    /// snippets cached, as for a need asked before. (Until session 6 `PrepareCold` came last: the
    /// warm `matches_for` then analysed its matches' texts for snippets afresh, and the 1-thread
    /// run after it did not, which made that run look faster.)
    const ALL: [Contender; 10] = [
        Contender::Bare,
        Contender::BareTop100,
        Contender::BareSameAnalysis,
        Contender::PrepareCold,
        Contender::SilkmatchCold,
        Contender::Silkmatch,
        Contender::SilkmatchNoExplain,
        Contender::SilkmatchOneThread,
        Contender::Prepare,
        Contender::PrepareRank,
    ];

    /// What must happen before the timing starts.
    fn set_up(self, ctx: &Ctx) {
        if matches!(self, Contender::SilkmatchCold | Contender::PrepareCold) {
            ctx.engine.clear_caches();
        }
    }

    fn key(self) -> &'static str {
        match self {
            Contender::Bare => "bare_tantivy",
            Contender::BareTop100 => "bare_tantivy_top100",
            Contender::BareSameAnalysis => "bare_tantivy_same_analysis",
            Contender::Silkmatch => "silkmatch",
            Contender::SilkmatchCold => "silkmatch_cold",
            Contender::PrepareCold => "silkmatch_prepare_match_cold",
            Contender::SilkmatchNoExplain => "silkmatch_no_explain",
            Contender::SilkmatchOneThread => "silkmatch_one_thread",
            Contender::Prepare => "silkmatch_prepare_match",
            Contender::PrepareRank => "silkmatch_prepare_match_rank",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Contender::Bare => "bare tantivy: BM25 of the same terms, top 20 (baseline)",
            Contender::BareTop100 => "bare tantivy: the same, top 100",
            Contender::BareSameAnalysis => {
                "bare tantivy on silkmatch's own index: the same terms over `body`, top 20"
            }
            Contender::Silkmatch => {
                "**silkmatch `matches_for`** (k 20, 100 candidates, explanations; need asked before)"
            }
            Contender::SilkmatchCold => {
                "silkmatch `matches_for`, cold: cache of prepared candidates emptied first"
            }
            Contender::PrepareCold => "silkmatch `prepare_match` alone, cold",
            Contender::SilkmatchNoExplain => "silkmatch `matches_for`, `explain: false`",
            Contender::SilkmatchOneThread => "silkmatch `matches_for`, on a 1-thread rayon pool",
            Contender::Prepare => "silkmatch `prepare_match` alone",
            Contender::PrepareRank => "silkmatch `prepare_match` + `rank`",
        }
    }

    /// Runs once on `case`, checks the answer against the warm-up's, and returns its size.
    fn run(self, ctx: &Ctx, case: &NeedCase) -> usize {
        match self {
            Contender::Bare | Contender::BareTop100 => {
                let (limit, expected) = if self == Contender::Bare {
                    (K, case.bare_hits[0])
                } else {
                    (CANDIDATES, case.bare_hits[1])
                };
                let top = bare_top(ctx, &case.terms, limit);
                assert_eq!(top.len(), expected, "bare hits for {}", case.external_id);
                assert_eq!(top.len(), case.bare_matching.min(limit));
                top.len()
            }
            Contender::BareSameAnalysis => {
                let top = own_top(ctx, &case.terms, K);
                assert_eq!(
                    top.len(),
                    case.own_hits,
                    "own-index hits for {}",
                    case.external_id
                );
                top.len()
            }
            Contender::Silkmatch
            | Contender::SilkmatchCold
            | Contender::SilkmatchNoExplain
            | Contender::SilkmatchOneThread => {
                let request = if self == Contender::SilkmatchNoExplain {
                    &ctx.without_explanations
                } else {
                    &ctx.with_explanations
                };
                let results = if self == Contender::SilkmatchOneThread {
                    ctx.pool_1
                        .install(|| ctx.engine.matches_for(&case.listing, request, ctx.now))
                } else {
                    ctx.engine.matches_for(&case.listing, request, ctx.now)
                }
                .expect("matching succeeds");
                check_matches(case, &results);
                assert!(
                    results
                        .matches
                        .iter()
                        .all(|found| found.explanation.is_some() == request.explain),
                    "explanations exactly when asked for"
                );
                results.matches.len()
            }
            Contender::Prepare | Contender::PrepareCold => {
                let prepared = ctx
                    .engine
                    .prepare_match(&case.listing, CANDIDATES, ctx.now)
                    .expect("prepare_match succeeds");
                assert_eq!(prepared.candidates.len(), case.n_candidates);
                prepared.candidates.len()
            }
            Contender::PrepareRank => {
                let prepared = ctx
                    .engine
                    .prepare_match(&case.listing, CANDIDATES, ctx.now)
                    .expect("prepare_match succeeds");
                let ranked = rank(
                    &prepared.query,
                    &prepared.candidates,
                    &prepared.similarities,
                    &prepared.meaning_only,
                    &prepared.stats,
                    &ctx.with_explanations.weights,
                    ctx.now,
                    Ranker::Reciprocal,
                    K,
                );
                assert_eq!(ranked.len(), case.n_matches);
                assert_eq!(
                    ranked
                        .first()
                        .map(|found| &prepared.candidates[found.candidate_idx].listing.id),
                    case.best.as_ref()
                );
                ranked.len()
            }
        }
    }
}

fn check_matches(case: &NeedCase, results: &silkmatch_index::MatchResults) {
    assert_eq!(
        results.matches.len(),
        case.n_matches,
        "matches for {}",
        case.external_id
    );
    assert_eq!(
        results.matches.first().map(|found| &found.listing.id),
        case.best.as_ref(),
        "best match for {}",
        case.external_id
    );
    assert_eq!(results.query_terms.len(), case.terms.len());
}

// ---------------------------------------------------------------------------------------------
// Latency

/// Latency statistics of one contender, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    mean: f64,
    /// Requests whose timing thread waited over `DELAYED_NS` for a CPU held by another process.
    n_delayed: usize,
}

impl Percentiles {
    fn of(mut micros: Vec<f64>, n_delayed: usize) -> Percentiles {
        micros.sort_by(f64::total_cmp);
        Percentiles {
            p50: common::percentile(&micros, 0.50),
            p90: common::percentile(&micros, 0.90),
            p99: common::percentile(&micros, 0.99),
            mean: micros.iter().sum::<f64>() / micros.len() as f64,
            n_delayed,
        }
    }

    fn json(&self) -> Value {
        json!({
            "p50_us": round1(self.p50),
            "p90_us": round1(self.p90),
            "p99_us": round1(self.p99),
            "mean_us": round1(self.mean),
            "delayed_by_other_processes": self.n_delayed,
        })
    }
}

/// Times `run` once: (microseconds, whether this thread waited over `DELAYED_NS` for a CPU).
fn timed(run: impl FnOnce()) -> (f64, bool) {
    let waited_before = common::scheduler_wait_ns();
    let started = Instant::now();
    run();
    let micros = started.elapsed().as_secs_f64() * 1e6;
    let waited_ns = match (waited_before, common::scheduler_wait_ns()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => 0,
    };
    (micros, waited_ns > DELAYED_NS)
}

fn measure_latency(
    ctx: &Ctx,
    cases: &[NeedCase],
) -> (Vec<(Contender, Percentiles)>, Option<EnglishSubset>) {
    let mut micros = vec![Vec::with_capacity(cases.len()); Contender::ALL.len()];
    let mut delayed = [0usize; Contender::ALL.len()];
    for case in cases {
        for (contender_idx, contender) in Contender::ALL.into_iter().enumerate() {
            contender.set_up(ctx);
            let (us, was_delayed) = timed(|| {
                std::hint::black_box(contender.run(ctx, std::hint::black_box(case)));
            });
            micros[contender_idx].push(us);
            delayed[contender_idx] += usize::from(was_delayed);
        }
    }
    // The needs written in English: the baseline's `en_stem` index holds most of their terms, so it
    // does the full work of the disjunction (for other languages it finds fewer of the terms).
    let english: Vec<usize> = cases
        .iter()
        .enumerate()
        .filter(|(_, case)| case.listing.body.language.as_str() == "en")
        .map(|(case_idx, _)| case_idx)
        .collect();
    let subset = |contender: Contender| {
        let contender_idx = Contender::ALL
            .iter()
            .position(|c| *c == contender)
            .expect("a contender");
        Percentiles::of(
            english
                .iter()
                .map(|&case_idx| micros[contender_idx][case_idx])
                .collect(),
            0,
        )
    };
    let english = (!english.is_empty()).then(|| EnglishSubset {
        n_needs: english.len(),
        bare: subset(Contender::Bare),
        silkmatch: subset(Contender::Silkmatch),
    });
    let all = Contender::ALL
        .into_iter()
        .zip(micros)
        .zip(delayed)
        .map(|((contender, micros), n_delayed)| (contender, Percentiles::of(micros, n_delayed)))
        .collect();
    (all, english)
}

/// Latency of the baseline and of silkmatch over the needs written in English.
#[derive(Debug, Clone, Copy)]
struct EnglishSubset {
    n_needs: usize,
    bare: Percentiles,
    silkmatch: Percentiles,
}

// ---------------------------------------------------------------------------------------------
// Where the time goes

/// Mean microseconds per need of each piece of a match, each timed alone.
#[derive(Debug, Clone, Copy, Default)]
struct Breakdown {
    query_analysis: f64,
    candidate_search: f64,
    doc_freqs: f64,
    mean_unique_terms: f64,
    store_reads: f64,
    candidate_analysis: f64,
    candidate_sides: f64,
    rank: f64,
    explanations: f64,
}

fn measure_breakdown(ctx: &Ctx, cases: &[NeedCase]) -> Breakdown {
    let mut sum = Breakdown::default();
    let weights: &Weights = &ctx.with_explanations.weights;
    for case in cases {
        let prepared = ctx
            .engine
            .prepare_match(&case.listing, CANDIDATES, ctx.now)
            .expect("prepare_match succeeds");

        // The query side: the need's text through the index's analyzers.
        sum.query_analysis += timed(|| {
            std::hint::black_box(analyse_listing(&case.listing));
        })
        .0;

        // The candidate scan under the hard constraints (`Engine::candidate_scan`).
        sum.candidate_search += timed(|| {
            let top = ctx
                .engine
                .candidate_scan(&case.listing, &prepared.query.query, CANDIDATES, ctx.now)
                .expect("the candidate scan runs");
            std::hint::black_box(top);
        })
        .0;

        // Corpus statistics: a document frequency per distinct term of the need and the candidates
        // (prepare_match looks them up in two parallel passes; one pass over the union here).
        let mut unique: HashSet<&String> = HashSet::new();
        for side in
            std::iter::once(&prepared.query).chain(prepared.candidates.iter().map(|side| &**side))
        {
            unique.extend(
                side.terms
                    .field_terms(TextField::Body)
                    .map(|(term, _)| term),
            );
        }
        sum.mean_unique_terms += unique.len() as f64;
        let mut doc_freqs: Vec<(&String, u64)> = Vec::new();
        sum.doc_freqs += timed(|| {
            doc_freqs = unique
                .par_iter()
                .map(|term| {
                    let doc_freq = ctx
                        .raw
                        .searcher
                        .doc_freq(&Term::from_field_text(ctx.raw.body, term))
                        .expect("doc_freq succeeds");
                    (*term, doc_freq)
                })
                .collect();
        })
        .0;
        // What the candidates' term selection reads (prepare_match builds the same from its cache).
        let side_stats = CorpusStats {
            doc_freq: doc_freqs
                .into_iter()
                .map(|(term, doc_freq)| (term.clone(), doc_freq))
                .collect(),
            ..prepared.stats.clone()
        };

        // Reading the candidates back from SQLite in one statement, with their stored analyses, as
        // prepare_match does.
        let ids: Vec<String> = prepared
            .candidates
            .iter()
            .map(|candidate| candidate.listing.id.clone())
            .collect();
        let mut rows = Vec::new();
        sum.store_reads += timed(|| {
            rows = ctx
                .raw
                .store
                .read(|connection| {
                    store::listings::get_many(connection, &ids, store::Columns::WithAnalysis)
                })
                .expect("the store reads");
        })
        .0;
        assert_eq!(rows.len(), ids.len(), "every candidate is in the store");

        // The candidates' analysed texts, decoded from the store (parallel, as prepare_match does).
        let mut analysed = Vec::new();
        sum.candidate_analysis += timed(|| {
            analysed = rows
                .into_par_iter()
                .map(|row| {
                    let (vector, keywords) = analysis_of(&row.listing, row.analysis.as_deref());
                    (row.listing, vector, keywords)
                })
                .collect();
        })
        .0;

        // Candidate sides: term selection and self score per candidate.
        sum.candidate_sides += timed(|| {
            let sides: Vec<MatchSide> = analysed
                .into_par_iter()
                .map(|(listing, vector, keywords)| {
                    MatchSide::new(listing, vector, keywords, &side_stats, 1)
                })
                .collect();
            assert_eq!(sides.len(), prepared.candidates.len());
        })
        .0;

        // Ranking both directions.
        let mut ranked = Vec::new();
        sum.rank += timed(|| {
            ranked = rank(
                &prepared.query,
                &prepared.candidates,
                &prepared.similarities,
                &prepared.meaning_only,
                &prepared.stats,
                weights,
                ctx.now,
                Ranker::Reciprocal,
                K,
            );
        })
        .0;
        assert_eq!(ranked.len(), case.n_matches);

        // Explanations and snippets of the top k, as matches_for builds them.
        sum.explanations += timed(|| {
            for found in &ranked {
                let idx = found.candidate_idx;
                std::hint::black_box(ctx.engine.found_match(
                    &prepared.query,
                    &prepared.candidates[idx],
                    prepared.seqs[idx],
                    found,
                    &ctx.with_explanations,
                    ctx.now,
                ));
            }
        })
        .0;
    }
    let n = cases.len() as f64;
    Breakdown {
        query_analysis: sum.query_analysis / n,
        candidate_search: sum.candidate_search / n,
        doc_freqs: sum.doc_freqs / n,
        mean_unique_terms: sum.mean_unique_terms / n,
        store_reads: sum.store_reads / n,
        candidate_analysis: sum.candidate_analysis / n,
        candidate_sides: sum.candidate_sides / n,
        rank: sum.rank / n,
        explanations: sum.explanations / n,
    }
}

// ---------------------------------------------------------------------------------------------
// Throughput

/// Requests per second on one pool, and the latency of each request meanwhile.
#[derive(Debug, Clone, Copy)]
struct Rate {
    per_second: f64,
    p50: f64,
    p99: f64,
}

/// Whole passes of `cases` through `run` with `par_iter` on `pool`, until `THROUGHPUT_MIN_RUN`.
fn rate(pool: &ThreadPool, cases: &[NeedCase], run: &(dyn Fn(&NeedCase) + Sync)) -> Rate {
    pool.install(|| {
        let started = Instant::now();
        let mut micros: Vec<f64> = Vec::new();
        while micros.is_empty() || started.elapsed() < THROUGHPUT_MIN_RUN {
            micros.par_extend(cases.par_iter().map(|case| {
                let request_started = Instant::now();
                run(case);
                request_started.elapsed().as_secs_f64() * 1e6
            }));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let per_second = micros.len() as f64 / elapsed;
        micros.sort_by(f64::total_cmp);
        Rate {
            per_second,
            p50: common::percentile(&micros, 0.50),
            p99: common::percentile(&micros, 0.99),
        }
    })
}

/// Median-of-rounds rates: `[contender][threads - 1]`, contender 0 silkmatch, 1 bare tantivy.
type Throughput = [[Rate; 2]; 2];

fn measure_throughput(ctx: &Ctx, cases: &[NeedCase], pools: [&ThreadPool; 2]) -> Throughput {
    let silkmatch = |case: &NeedCase| {
        std::hint::black_box(Contender::Silkmatch.run(ctx, case));
    };
    let bare = |case: &NeedCase| {
        std::hint::black_box(Contender::Bare.run(ctx, case));
    };
    let runs: [&(dyn Fn(&NeedCase) + Sync); 2] = [&silkmatch, &bare];
    let mut rounds: Vec<[[Rate; 2]; 2]> = Vec::with_capacity(THROUGHPUT_ROUNDS);
    for _ in 0..THROUGHPUT_ROUNDS {
        // Alternate pools and contenders inside a round so a busy moment hits all of them.
        rounds.push(runs.map(|run| pools.map(|pool| rate(pool, cases, run))));
    }
    let median = |contender: usize, threads: usize| -> Rate {
        let mut of_rounds: Vec<Rate> = rounds
            .iter()
            .map(|round| round[contender][threads])
            .collect();
        of_rounds.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
        of_rounds[of_rounds.len() / 2]
    };
    [[median(0, 0), median(0, 1)], [median(1, 0), median(1, 1)]]
}

// ---------------------------------------------------------------------------------------------
// Other processes on the machine

/// Busy CPU ticks of the whole machine and of this process (Linux `/proc`, 100 ticks a second).
#[derive(Debug, Clone, Copy)]
struct CpuSample {
    machine_busy: u64,
    own: u64,
    at: Instant,
}

impl CpuSample {
    fn take() -> Option<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .map(|field| field.parse().unwrap_or(0))
            .collect();
        // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy
        // (steal is time another guest of the host had our CPU).
        let machine_busy = cpu.iter().take(8).sum::<u64>() - cpu.get(3)? - cpu.get(4)?;
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after_name = &own_stat[own_stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line; field 3 is the first after the name.
        let own = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(CpuSample {
            machine_busy,
            own,
            at: Instant::now(),
        })
    }

    /// Share of the machine's CPUs other processes used between two samples.
    fn others_share(before: Option<CpuSample>, after: Option<CpuSample>) -> Option<f64> {
        let (before, after) = (before?, after?);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let ticks = 100.0 * after.at.duration_since(before.at).as_secs_f64() * cores;
        let others = after.machine_busy.saturating_sub(before.machine_busy) as f64
            - after.own.saturating_sub(before.own) as f64;
        Some((others / ticks).clamp(0.0, 1.0))
    }
}

// ---------------------------------------------------------------------------------------------
// The report

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Everything one run measured.
struct Report {
    n_offers: usize,
    n_needs: usize,
    n_queries: usize,
    date: String,
    machine: String,
    /// 1-minute load average at start, before measuring, at the end.
    load: [Option<f64>; 3],
    /// Share of the CPUs other processes used during the latency and throughput measurements.
    others_cpu: [Option<f64>; 2],
    /// Bare tantivy, then silkmatch.
    imports: [Import; 2],
    /// Segments: silkmatch, bare tantivy.
    segments: (usize, usize),
    corpus: CorpusFacts,
    latencies: Vec<(Contender, Percentiles)>,
    english: Option<EnglishSubset>,
    breakdown: Breakdown,
    throughput: Throughput,
    seconds: f64,
}

impl Report {
    fn latency(&self, contender: Contender) -> Percentiles {
        self.latencies
            .iter()
            .find(|(measured, _)| *measured == contender)
            .map(|(_, percentiles)| *percentiles)
            .unwrap_or_default()
    }

    /// The steps of a cold `matches_for` with explanations (every candidate prepared afresh), mean
    /// µs per need; the two remainders are what the steps timed alone do not account for. A warm
    /// request skips the candidates' store reads, analysis, sides and most document frequencies.
    fn steps(&self) -> Vec<(String, f64)> {
        let b = &self.breakdown;
        let prepare = self.latency(Contender::PrepareCold).mean;
        let total = self.latency(Contender::SilkmatchCold).mean;
        let timed_in_prepare = b.query_analysis
            + b.candidate_search
            + b.doc_freqs
            + b.store_reads
            + b.candidate_analysis
            + b.candidate_sides;
        vec![
            (
                "analysis of the need (`analyse_listing`)".to_owned(),
                b.query_analysis,
            ),
            (
                format!(
                    "candidate search: the need's terms ({:.0}) and technology fields \
                     scanned under its hard constraints, top {CANDIDATES} (`candidate_scan`)",
                    self.corpus.mean_terms
                ),
                b.candidate_search,
            ),
            (
                format!(
                    "document frequencies of the need's and candidates' terms ({:.0} distinct, parallel)",
                    b.mean_unique_terms
                ),
                b.doc_freqs,
            ),
            (
                format!(
                    "candidates read back from SQLite ({:.0}, one statement)",
                    self.corpus.mean_candidates
                ),
                b.store_reads,
            ),
            (
                "candidates' analysed texts decoded from the store (`analysis_of`, parallel)"
                    .to_owned(),
                b.candidate_analysis,
            ),
            (
                "candidate sides (`MatchSide::new`: term selection, self score; parallel)"
                    .to_owned(),
                b.candidate_sides,
            ),
            (
                "the rest of `prepare_match`: hit ids, the need's own side \
                 (remainder)"
                    .to_owned(),
                prepare - timed_in_prepare,
            ),
            (
                "`rank` (both directions, reciprocal, parallel)".to_owned(),
                b.rank,
            ),
            (
                "answer: explanations and snippets of the top 20".to_owned(),
                b.explanations,
            ),
            (
                "answer: the rest (listings copied, contacts removed; remainder)".to_owned(),
                total - prepare - b.rank - b.explanations,
            ),
        ]
    }

    fn table(&self) -> String {
        let fmt_opt = |value: Option<f64>, scale: f64, digits: usize| {
            value.map_or_else(|| "?".to_owned(), |v| format!("{:.digits$}", v * scale))
        };
        let bare = self.latency(Contender::Bare);
        let silkmatch = self.latency(Contender::Silkmatch);
        let corpus = &self.corpus;
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            "### Matching: {} offers (+{} needs), {} query needs",
            self.n_offers, self.n_needs, self.n_queries
        ));
        line(String::new());
        line(format!(
            "{}; {}; 1-minute load average {} at start, {} before measuring, {} at the end; other \
             processes used {}% of the CPUs while latency was measured and {}% during throughput; \
             run took {:.0} s.",
            self.date,
            self.machine,
            fmt_opt(self.load[0], 1.0, 2),
            fmt_opt(self.load[1], 1.0, 2),
            fmt_opt(self.load[2], 1.0, 2),
            fmt_opt(self.others_cpu[0], 100.0, 0),
            fmt_opt(self.others_cpu[1], 100.0, 0),
            self.seconds,
        ));
        line(String::new());
        line(format!(
            "Corpus: silkmatch imported {} listings in {:.1} s, bare tantivy {} offers in {:.1} s; \
             {} / {} segments (silkmatch / bare). Per need: {:.1} query terms ({}–{}), {:.0}% of \
             them in the bare index; the bare disjunction matches {:.0} offers; silkmatch rescored \
             {:.1} candidates and returned {:.1} matches ({} needs had none).",
            self.imports[1].documents,
            self.imports[1].to_commit.as_secs_f64(),
            self.imports[0].documents,
            self.imports[0].to_commit.as_secs_f64(),
            self.segments.0,
            self.segments.1,
            corpus.mean_terms,
            corpus.min_terms,
            corpus.max_terms,
            corpus.terms_in_bare * 100.0,
            corpus.mean_bare_matching,
            corpus.mean_candidates,
            corpus.mean_matches,
            corpus.needs_without_matches,
        ));
        line(String::new());
        line("| need → offers, one request at a time (µs) | p50 | p90 | p99 | mean | ratio to baseline p50 | ratio p99 |".to_owned());
        line("|---|---:|---:|---:|---:|---:|---:|".to_owned());
        for (contender, percentiles) in &self.latencies {
            line(format!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} |",
                contender.label(),
                percentiles.p50,
                percentiles.p90,
                percentiles.p99,
                percentiles.mean,
                percentiles.p50 / bare.p50,
                percentiles.p99 / bare.p99,
            ));
        }
        line(String::new());
        line(format!(
            "Goal: silkmatch ≤ 1.5× the baseline at p50. Measured: **{:.2}×** at p50, {:.2}× at p99. \
             Requests whose timing thread waited over {} ms for a CPU held by another process: \
             baseline {}, silkmatch {} of {}.",
            silkmatch.p50 / bare.p50,
            silkmatch.p99 / bare.p99,
            DELAYED_NS as f64 / 1e6,
            bare.n_delayed,
            silkmatch.n_delayed,
            self.n_queries,
        ));
        let same_analysis = self.latency(Contender::BareSameAnalysis);
        line(String::new());
        line(format!(
            "Against the same terms on silkmatch's own index (`body`, its analyzers, so every term \
             is there; {:.0}% of them are in the bare `en_stem` index): baseline p50 {:.0} / p99 \
             {:.0} µs, ratio **{:.2}×** at p50, {:.2}× at p99.",
            corpus.terms_in_bare * 100.0,
            same_analysis.p50,
            same_analysis.p99,
            silkmatch.p50 / same_analysis.p50,
            silkmatch.p99 / same_analysis.p99,
        ));
        if let Some(english) = &self.english {
            line(String::new());
            line(format!(
                "Needs written in English only ({} of {}; the baseline's `en_stem` index holds most \
                 of their terms): baseline p50 {:.0} / p99 {:.0} µs, silkmatch p50 {:.0} / p99 {:.0} \
                 µs, ratio **{:.2}×** at p50, {:.2}× at p99.",
                english.n_needs,
                self.n_queries,
                english.bare.p50,
                english.bare.p99,
                english.silkmatch.p50,
                english.silkmatch.p99,
                english.silkmatch.p50 / english.bare.p50,
                english.silkmatch.p99 / english.bare.p99,
            ));
        }
        line(String::new());
        line(
            "| where a cold `matches_for` spends its time (each step timed alone) | mean µs | share |"
                .to_owned(),
        );
        line("|---|---:|---:|".to_owned());
        let cold = self.latency(Contender::SilkmatchCold);
        for (step, micros) in self.steps() {
            line(format!(
                "| {step} | {micros:.0} | {:.0}% |",
                100.0 * micros / cold.mean
            ));
        }
        line(format!(
            "| cold `matches_for` with explanations | {:.0} | 100% |",
            cold.mean
        ));
        line(String::new());
        line("| throughput, the query needs in parallel (`par_iter`) | 1 thread | 2 threads | 2 threads / 1 thread |".to_owned());
        line("|---|---:|---:|---:|".to_owned());
        for (name, rates) in [
            (
                "silkmatch `matches_for` (explanations): match requests/s",
                self.throughput[0],
            ),
            ("bare tantivy baseline: queries/s", self.throughput[1]),
        ] {
            line(format!(
                "| {name} | {:.1} | {:.1} | {:.2} |",
                rates[0].per_second,
                rates[1].per_second,
                rates[1].per_second / rates[0].per_second
            ));
        }
        for (name, rates) in [
            ("silkmatch", self.throughput[0]),
            ("bare tantivy", self.throughput[1]),
        ] {
            line(format!(
                "| {name}: p50 / p99 latency meanwhile (µs) | {:.0} / {:.0} | {:.0} / {:.0} | |",
                rates[0].p50, rates[0].p99, rates[1].p50, rates[1].p99
            ));
        }
        line(format!(
            "| silkmatch / bare, throughput | {:.3} | {:.3} | |",
            self.throughput[0][0].per_second / self.throughput[1][0].per_second,
            self.throughput[0][1].per_second / self.throughput[1][1].per_second,
        ));
        out
    }

    fn json(&self) -> Value {
        let bare = self.latency(Contender::Bare);
        let import = |import: &Import| {
            json!({
                "documents": import.documents,
                "seconds_to_commit": round3(import.to_commit.as_secs_f64()),
                "merge_wait_seconds": round3(import.merge_wait.as_secs_f64()),
            })
        };
        let rate = |rate: &Rate| {
            json!({
                "per_second": round1(rate.per_second),
                "p50_us": round1(rate.p50),
                "p99_us": round1(rate.p99),
            })
        };
        let rates = |rates: &[Rate; 2]| {
            json!({
                "threads_1": rate(&rates[0]),
                "threads_2": rate(&rates[1]),
                "scaling_2_over_1": round3(rates[1].per_second / rates[0].per_second),
            })
        };
        let corpus = &self.corpus;
        let b = &self.breakdown;
        json!({
            "offers": self.n_offers,
            "needs": self.n_needs,
            "queries": self.n_queries,
            "k": K,
            "candidates": CANDIDATES,
            "date": self.date,
            "machine": self.machine,
            "seconds": round1(self.seconds),
            "load_average_1min": {
                "start": self.load[0],
                "before_measuring": self.load[1],
                "end": self.load[2],
            },
            "other_processes_cpu_share": {
                "latency": self.others_cpu[0].map(round3),
                "throughput": self.others_cpu[1].map(round3),
            },
            "import": {
                "silkmatch": import(&self.imports[1]),
                "bare_tantivy": import(&self.imports[0]),
                "segments": { "silkmatch": self.segments.0, "bare_tantivy": self.segments.1 },
            },
            "per_need": {
                "query_terms_mean": round1(corpus.mean_terms),
                "query_terms_min": corpus.min_terms,
                "query_terms_max": corpus.max_terms,
                "query_terms_in_bare_index_share": round3(corpus.terms_in_bare),
                "bare_matching_offers_mean": round1(corpus.mean_bare_matching),
                "candidates_mean": round1(corpus.mean_candidates),
                "matches_mean": round1(corpus.mean_matches),
                "needs_without_matches": corpus.needs_without_matches,
            },
            "latency": self.latencies.iter().map(|(contender, percentiles)| {
                (contender.key().to_owned(), percentiles.json())
            }).collect::<serde_json::Map<String, Value>>(),
            "ratio_to_bare": self.latencies.iter().map(|(contender, percentiles)| {
                (contender.key().to_owned(), json!({
                    "p50": round3(percentiles.p50 / bare.p50),
                    "p99": round3(percentiles.p99 / bare.p99),
                }))
            }).collect::<serde_json::Map<String, Value>>(),
            "ratio_to_bare_same_analysis": self.latencies.iter().map(|(contender, percentiles)| {
                let same_analysis = self.latency(Contender::BareSameAnalysis);
                (contender.key().to_owned(), json!({
                    "p50": round3(percentiles.p50 / same_analysis.p50),
                    "p99": round3(percentiles.p99 / same_analysis.p99),
                }))
            }).collect::<serde_json::Map<String, Value>>(),
            "english_needs": self.english.map(|english| json!({
                "needs": english.n_needs,
                "bare_tantivy": english.bare.json(),
                "silkmatch": english.silkmatch.json(),
                "ratio_p50": round3(english.silkmatch.p50 / english.bare.p50),
                "ratio_p99": round3(english.silkmatch.p99 / english.bare.p99),
            })),
            "breakdown_mean_us": {
                "query_analysis": round1(b.query_analysis),
                "candidate_query_replica_without_filters": round1(b.candidate_search),
                "doc_freqs": round1(b.doc_freqs),
                "doc_freq_distinct_terms_mean": round1(b.mean_unique_terms),
                "store_reads": round1(b.store_reads),
                "candidate_analysis": round1(b.candidate_analysis),
                "candidate_sides": round1(b.candidate_sides),
                "rank": round1(b.rank),
                "explanations_and_snippets": round1(b.explanations),
                "steps": self.steps().into_iter().map(|(step, micros)| json!({
                    "step": step,
                    "mean_us": round1(micros),
                })).collect::<Vec<_>>(),
            },
            "throughput": {
                "silkmatch": rates(&self.throughput[0]),
                "bare_tantivy": rates(&self.throughput[1]),
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Growth across sizes

/// A table of every `match-N.json` in `out`, smallest N first, with growth from the size before.
fn growth_table(out: &Path) -> anyhow::Result<String> {
    let mut runs: Vec<(u64, Value)> = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let Some(n) = name
            .strip_prefix("match-")
            .and_then(|rest| rest.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        runs.push((n, report));
    }
    if runs.is_empty() {
        bail!("no match-N.json in {}", out.display());
    }
    runs.sort_by_key(|(n, _)| *n);
    let number = |report: &Value, pointer: &str| report.pointer(pointer).and_then(Value::as_f64);
    let cell = |value: Option<f64>, digits: usize| {
        value.map_or_else(|| "?".to_owned(), |v| format!("{v:.digits$}"))
    };
    let mut table = String::new();
    table.push_str("### Matching latency as the offers grow\n\n");
    table.push_str("| offers | date | bare p50 / p99 (µs) | silkmatch p50 / p99 (µs) | ratio p50 / p99 | same-analysis bare p50 (µs) | ratio to it p50 / p99 | silkmatch p50 × previous size | bare p50 × previous size | `explain: false` p50 (µs) | match requests/s, 1 / 2 threads | load at start |\n");
    table.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut previous: Option<&Value> = None;
    for (n, report) in &runs {
        let growth = |pointer: &str| match previous {
            Some(before) => cell(
                number(report, pointer)
                    .zip(number(before, pointer))
                    .map(|(now, then)| now / then),
                2,
            ),
            None => "".to_owned(),
        };
        table.push_str(&format!(
            "| {n} | {} | {} / {} | {} / {} | {} / {} | {} | {} / {} | {} | {} | {} | {} / {} | {} |\n",
            report["date"].as_str().unwrap_or("?"),
            cell(number(report, "/latency/bare_tantivy/p50_us"), 0),
            cell(number(report, "/latency/bare_tantivy/p99_us"), 0),
            cell(number(report, "/latency/silkmatch/p50_us"), 0),
            cell(number(report, "/latency/silkmatch/p99_us"), 0),
            cell(number(report, "/ratio_to_bare/silkmatch/p50"), 2),
            cell(number(report, "/ratio_to_bare/silkmatch/p99"), 2),
            cell(number(report, "/latency/bare_tantivy_same_analysis/p50_us"), 0),
            cell(number(report, "/ratio_to_bare_same_analysis/silkmatch/p50"), 2),
            cell(number(report, "/ratio_to_bare_same_analysis/silkmatch/p99"), 2),
            growth("/latency/silkmatch/p50_us"),
            growth("/latency/bare_tantivy/p50_us"),
            cell(number(report, "/latency/silkmatch_no_explain/p50_us"), 0),
            cell(
                number(report, "/throughput/silkmatch/threads_1/per_second"),
                1
            ),
            cell(
                number(report, "/throughput/silkmatch/threads_2/per_second"),
                1
            ),
            cell(number(report, "/load_average_1min/start"), 2),
        ));
        previous = Some(report);
    }
    Ok(table)
}
