//! `silkmatch batch`: overnight ranking of every open listing (see docs/batch.md), and the two small
//! commands a cluster scheduler needs to run it in pieces (`plan` lists ids, `rank-stdin` ranks ids
//! read from stdin).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use silkmatch_core::Timestamp;
use silkmatch_index::Engine;
use silkmatch_index::batch::{self, BatchOptions, Direction, Partition, Summary};

/// `silkmatch batch …`.
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Rank every open listing's top-k candidates into --out (JSONL, CSV, summary.json) and the store.
    Rank(RankArgs),
    /// Print the ids a run would rank, one per line, in output order.
    Plan {
        /// Which listings.
        #[arg(long, value_enum, default_value = "needs")]
        direction: DirectionArg,
        /// Reference time (RFC 3339 or unix seconds); now when absent.
        #[arg(long)]
        now: Option<String>,
        /// Only shard I of N.
        #[arg(long)]
        partition: Option<String>,
    },
    /// Rank the listing ids read from stdin (one per line); print one JSONL line each, in order.
    RankStdin {
        /// Candidates per listing.
        #[arg(long, default_value_t = 20)]
        k: usize,
        /// Reference time (RFC 3339 or unix seconds); give the same to every worker.
        #[arg(long)]
        now: String,
        /// Rank with the listing vectors as embedding had them at this change (`silkmatch stats --json`:
        /// `meaning.reached_seq`) instead of as stored now: give every shard of one run the same.
        #[arg(long)]
        vectors_seq: Option<u64>,
    },
}

/// Arguments of `batch rank`.
#[derive(Debug, Args)]
pub struct RankArgs {
    /// Which listings get recommendations.
    #[arg(long, value_enum, default_value = "both")]
    direction: DirectionArg,
    /// Candidates per listing (1 to 100).
    #[arg(long, default_value_t = 20)]
    k: usize,
    /// Output directory: empty or new, or the directory of an interrupted run to continue it.
    #[arg(long)]
    out: PathBuf,
    /// Rank only shard I of N (0-based); shards concatenated in order are the whole output.
    #[arg(long)]
    partition: Option<String>,
    /// Re-rank only listings whose list can have changed since the last finished run.
    #[arg(long)]
    since_last_run: bool,
    /// Reference time of the ranking (RFC 3339 or unix seconds); now when absent. Every listing is
    /// ranked as of this instant, so shards and resumed runs agree.
    #[arg(long)]
    now: Option<String>,
    /// Share of needs whose best candidate reaches this score is reported.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Listings per checkpointed chunk.
    #[arg(long, default_value_t = 256)]
    chunk_size: usize,
    /// Do not store the recommendations for the API (files only).
    #[arg(long)]
    no_store: bool,
    /// Prepared match candidates kept in memory (about 18 KB each, measured): a candidate shared by many
    /// listings is prepared once per run instead of once per listing. 0 keeps none. Default: 65 536
    /// while the listings candidates come from are at most twice that, else none (it would hold too
    /// small a share of them to pay).
    #[arg(long)]
    match_cache: Option<usize>,
    /// Rank with the listing vectors as embedding had them at this change (`silkmatch stats --json`:
    /// `meaning.reached_seq`) instead of as stored now: give every shard of one run the same.
    #[arg(long)]
    vectors_seq: Option<u64>,
}

/// `--direction` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    /// Needs get offers.
    Needs,
    /// Offers get needs.
    Offers,
    /// Both.
    Both,
}

impl From<DirectionArg> for Direction {
    fn from(direction: DirectionArg) -> Direction {
        match direction {
            DirectionArg::Needs => Direction::Needs,
            DirectionArg::Offers => Direction::Offers,
            DirectionArg::Both => Direction::Both,
        }
    }
}

fn parse_now(text: &str) -> anyhow::Result<Timestamp> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(Timestamp::from_unix(seconds));
    }
    Timestamp::parse_rfc3339(text).with_context(|| {
        format!("--now `{text}` is neither unix seconds nor an RFC 3339 time such as 2026-01-31T02:00:00Z")
    })
}

/// Most prepared candidates `batch rank` keeps unless told (`--match-cache`): about 1.2 GB.
const BATCH_MATCH_CACHE: usize = 65_536;

/// Runs `batch`. Parameters are checked before the data directory is opened.
pub fn run(data: &Path, command: BatchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BatchCommand::Rank(args) => rank(data, args),
        BatchCommand::Plan {
            direction,
            now,
            partition,
        } => {
            let now = now
                .as_deref()
                .map(parse_now)
                .transpose()?
                .unwrap_or_else(crate::now);
            let partition = partition.as_deref().map(Partition::parse).transpose()?;
            let engine = open_shared(data)?;
            let ids = batch::plan_ids(&engine, direction.into(), partition, now)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let written = ids
                .iter()
                .try_for_each(|id| writeln!(out, "{id}"))
                .and_then(|()| out.flush());
            match written {
                // `batch plan | head` is fine: the reader had what it wanted.
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
                _ => Ok(ExitCode::SUCCESS),
            }
        }
        BatchCommand::RankStdin {
            k,
            now,
            vectors_seq,
        } => {
            if !(1..=100).contains(&k) {
                bail!("--k must be between 1 and 100; got {k}");
            }
            let now = parse_now(&now)?;
            let engine = open_shared(data)?;
            // One set of vectors for the whole stream, whatever is embedded meanwhile.
            let vectors = batch::vectors_for_run(&engine, vectors_seq)?;
            let _pinned = engine.pin_vectors(vectors.as_ref())?;
            let stdin = std::io::stdin().lock();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut block = Vec::new();
            let mut lines = stdin.lines();
            loop {
                let line = lines
                    .next()
                    .transpose()
                    .context("cannot read ids from stdin")?;
                if let Some(id) = &line {
                    let id = id.trim();
                    if !id.is_empty() {
                        block.push(id.to_owned());
                    }
                }
                if block.len() >= 64 || (line.is_none() && !block.is_empty()) {
                    for ranked in batch::rank_ids(&engine, &block, k, now)? {
                        writeln!(out, "{}", batch::jsonl_line(&ranked))?;
                    }
                    block.clear();
                }
                if line.is_none() {
                    break;
                }
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the data directory so that a running server (which holds the index writer) and batch
/// commands can work on it at the same time: the batch then reads the index read-only.
fn open_shared(data: &Path) -> anyhow::Result<Engine> {
    let bar = crate::progress::bar("catching up the search index");
    let engine = Engine::open_shared(data, &|done, total| {
        crate::progress::update(&bar, done, total)
    })
    .with_context(|| format!("cannot open data directory {}", data.display()))?;
    bar.finish_and_clear();
    Ok(engine)
}

fn rank(data: &Path, args: RankArgs) -> anyhow::Result<ExitCode> {
    let partition = args
        .partition
        .as_deref()
        .map(Partition::parse)
        .transpose()?;
    let now = args.now.as_deref().map(parse_now).transpose()?;
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!(
            "--threshold must be between 0 and 1; got {}",
            args.threshold
        );
    }
    let options = BatchOptions {
        direction: args.direction.into(),
        k: args.k,
        out: args.out,
        partition,
        since_last_run: args.since_last_run,
        now,
        wall_clock: crate::now(),
        chunk_size: args.chunk_size,
        threshold: args.threshold,
        publish: !args.no_store,
        vectors_seq: args.vectors_seq,
    };
    if !(1..=100).contains(&options.k) {
        bail!("--k must be between 1 and 100; got {}", options.k);
    }
    let mut engine = open_shared(data)?;
    let match_cache = match args.match_cache {
        Some(entries) => entries,
        None => batch::match_cache_entries(
            &engine,
            options.direction,
            options.now.unwrap_or(options.wall_clock),
            BATCH_MATCH_CACHE,
        )?,
    };
    engine.set_match_cache_entries(match_cache);
    let bar = crate::progress::bar("ranking");
    let outcome = batch::run(&engine, &options, &|done, total| {
        crate::progress::update(&bar, done, total)
    })
    .with_context(|| format!("batch ranking into {} failed", options.out.display()))?;
    bar.finish_and_clear();
    if outcome.already_complete {
        println!(
            "{} already holds this finished run ({}); nothing to do",
            options.out.display(),
            outcome.summary.run_id
        );
    }
    print_summary(&options.out, &outcome.summary);
    Ok(ExitCode::SUCCESS)
}

fn print_summary(out: &Path, summary: &Summary) {
    if summary.dropped > 0 {
        eprintln!(
            "warning: {} planned listings were withdrawn or edited to close after the run was planned; they are not in the output",
            summary.dropped
        );
    }
    if summary.expired_since_ranked_at > 0 {
        eprintln!(
            "warning: {} listings in the output expired after the run's reference time {}; their lists are as of that time and the API no longer serves them",
            summary.expired_since_ranked_at, summary.ranked_at
        );
    }
    let scores = &summary.scores;
    println!(
        "ranked {} listings ({} needs, {} offers; {} re-ranked, {} carried over) as of {}",
        summary.listings,
        summary.needs,
        summary.offers,
        summary.ranked,
        summary.carried_over,
        summary.ranked_at
    );
    println!(
        "needs with a candidate scoring >= {}: {} of {} ({:.1}%)",
        summary.threshold,
        summary.needs_above_threshold,
        summary.needs,
        100.0 * summary.share_of_needs_above_threshold
    );
    println!(
        "scores of {} candidates: min {:.3} p10 {:.3} p50 {:.3} p90 {:.3} max {:.3}",
        scores.count, scores.min, scores.p10, scores.p50, scores.p90, scores.max
    );
    println!(
        "{:.1} s, {:.1} listings/s{}; output in {}",
        summary.duration_seconds,
        summary.listings_per_second,
        if summary.resumed {
            " (resumed run)"
        } else {
            ""
        },
        out.display()
    );
}
