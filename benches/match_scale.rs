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

#[path = "match_scale/corpus.rs"]
mod corpus;
#[path = "match_scale/measure.rs"]
mod measure;
#[path = "match_scale/report.rs"]
mod report;

use corpus::*;
use measure::*;
use report::*;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rayon::ThreadPool;
use rayon::prelude::*;
use serde_json::{Value, json};
use silkmatch_core::matching::{CorpusStats, MatchSide, Ranker, TextField, Weights};
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
                let ranked = prepared.rank(
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
