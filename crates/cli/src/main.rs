//! The `silkmatch` command. The only crate that prints to a terminal; every rule lives below it.

mod admin;
mod batch;
mod demo;
mod eval;
mod fixtures;
mod import;
mod matching;
mod meaning;
mod model;
mod progress;
mod search;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use silkmatch_core::Timestamp;
use silkmatch_index::Engine;

/// Technology-transfer matchmaking: search, submit and match technology offers and needs.
#[derive(Debug, Parser)]
#[command(name = "silkmatch", version, about, propagate_version = true)]
struct Cli {
    /// Data directory (record store and search index).
    #[arg(long, global = true, default_value = "index", env = "SILKMATCH_DATA")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the demo listings from fixtures/ into the data directory and run sample searches.
    Demo(demo::DemoArgs),
    /// Import listings from a JSONL or CSV file (all-or-nothing unless --skip-invalid).
    Import(import::ImportArgs),
    /// Search published listings.
    Search(search::SearchArgs),
    /// Rank partners for a need, an offer, or a listing in a file, with the reasons.
    Match(matching::MatchArgs),
    /// Overnight batch ranking of every open listing.
    Batch {
        #[command(subcommand)]
        command: batch::BatchCommand,
    },
    /// Serve the HTTP API (graceful shutdown on SIGINT/SIGTERM).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Prepared match candidates kept in memory (about 18 KB each with the decoded listing),
        /// so repeated and overlapping match requests skip re-reading and re-analysing them.
        #[arg(long, default_value_t = silkmatch_index::DEFAULT_SIDE_CACHE_ENTRIES)]
        match_cache: usize,
        /// Mark web session cookies `Secure` on every request (behind a TLS proxy that does not
        /// send `X-Forwarded-Proto: https`; with that header they are marked anyway).
        #[arg(long)]
        secure_cookies: bool,
    },
    /// Manage organisations.
    Org {
        #[command(subcommand)]
        command: admin::OrgCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: admin::TokenCommand,
    },
    /// Print one listing (by id or external id) as JSON, contact included.
    Show {
        /// Listing id or external id.
        id: String,
    },
    /// Rebuild the search index, and the listings' stored analyses, from the record store.
    Reindex,
    /// Counts of the store and the index.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate synthetic listings.
    Fixtures {
        #[command(subcommand)]
        command: fixtures::FixturesCommand,
    },
    /// Embed every listing changed since embedding last stopped (the server does this in the
    /// background; this runs it to the end, with progress).
    Embed {
        /// Stop after this many changed listings.
        #[arg(long)]
        limit: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install or inspect the multilingual embedding model (cross-lingual search).
    Model {
        #[command(subcommand)]
        command: model::ModelCommand,
    },
    /// Measure retrieval quality.
    Eval {
        #[command(subcommand)]
        command: eval::EvalCommand,
    },
}

/// Matching and the batch allocate many small, short-lived values (analysed terms, candidate sides)
/// from several threads at once, where the system allocator spent a fifth of a batch run's time
/// (perf, 1M offers); mimalloc's per-thread heaps make that a few percent.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SILKMATCH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // One sentence per cause, outermost first; never a backtrace.
            let mut message = format!("error: {err}");
            for cause in err.chain().skip(1) {
                message.push_str(&format!(": {cause}"));
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The wall clock, read once per command: core never reads it.
fn now() -> Timestamp {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    Timestamp::from_unix(seconds)
}

fn open(data: &std::path::Path) -> anyhow::Result<Engine> {
    let bar = progress::bar("catching up the search index");
    let engine =
        Engine::open_with_progress(data, &|done, total| progress::update(&bar, done, total))
            .with_context(|| format!("cannot open data directory {}", data.display()))?;
    bar.finish_and_clear();
    Ok(engine)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::run(&cli.data, args),
        Command::Import(args) => import::run(&cli.data, args),
        Command::Search(args) => {
            let engine = open(&cli.data)?;
            // The query needs the model only when there are listing vectors to compare it with.
            if args.mode != search::ModeArg::Lexical && engine.has_vectors() {
                meaning::attach_if_installed(&engine, &cli.data);
            }
            search::run(&engine, args)
        }
        Command::Match(args) => {
            let engine = open(&cli.data)?;
            // Stored listings use their stored vectors; a listing from a file needs the model.
            if args.file.is_some() && engine.has_vectors() {
                meaning::attach_if_installed(&engine, &cli.data);
            }
            matching::run(&engine, args)
        }
        Command::Batch { command } => batch::run(&cli.data, command),
        Command::Serve {
            addr,
            match_cache,
            secure_cookies,
        } => {
            let mut engine = open(&cli.data)?;
            engine.set_match_cache_entries(match_cache);
            meaning::attach_if_installed(&engine, &cli.data);
            serve::run(engine, addr, secure_cookies)
        }
        Command::Org { command } => admin::org(&open(&cli.data)?, command),
        Command::Token { command } => admin::token(&open(&cli.data)?, command),
        Command::Show { id } => {
            let listing = open(&cli.data)?.resolve(&id)?;
            println!("{}", serde_json::to_string_pretty(&listing)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Embed { limit, json } => meaning::run(&open(&cli.data)?, &cli.data, limit, json),
        Command::Reindex => {
            let bar = progress::bar("reindexing");
            let engine = Engine::reindex(&cli.data, &|done, total| {
                progress::update(&bar, done, total)
            })
            .with_context(|| format!("cannot rebuild the index in {}", cli.data.display()))?;
            bar.finish_and_clear();
            let bar = progress::bar("analysing");
            let analysed = engine
                .fill_analyses(&|done, total| progress::update(&bar, done, total))
                .with_context(|| format!("cannot store analyses in {}", cli.data.display()))?;
            bar.finish_and_clear();
            let stats = engine.stats(now())?;
            engine.close()?;
            println!(
                "reindexed {} listings; stored the analysis of {analysed}",
                stats.index_documents
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { json } => {
            let stats = open(&cli.data)?.stats(now())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                println!("listings      {}", stats.store.listings);
                for (key, count) in &stats.store.by_kind_and_status {
                    println!("  {key:<20} {count}");
                }
                println!("live by language");
                for (language, count) in &stats.store.live_by_language {
                    println!("  {language:<20} {count}");
                }
                println!("organisations {}", stats.store.organisations);
                println!(
                    "index         {} documents, {} segments, at change {} of {}",
                    stats.index_documents,
                    stats.index_segments,
                    stats.index_seq,
                    stats.store.last_seq
                );
                match &stats.meaning.model {
                    Some(model) => println!(
                        "meaning       {} listings with vectors ({model}), embedded up to change {} of {}, {:.1} MiB in memory",
                        stats.meaning.vectors,
                        stats.meaning.reached_seq,
                        stats.meaning.last_seq,
                        stats.meaning.memory_bytes as f64 / 1048576.0
                    ),
                    None => println!(
                        "meaning       no listing vectors (words only; see `silkmatch embed`)"
                    ),
                }
                println!(
                    "disk          store {:.1} MiB, index {:.1} MiB",
                    mib(stats.store_bytes),
                    mib(stats.index_bytes)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fixtures { command } => fixtures::run(command),
        Command::Model { command } => model::run(&cli.data, command),
        Command::Eval { command } => eval::run(&cli.data, command),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
