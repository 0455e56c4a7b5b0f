//! `silkmatch eval`: quality measured through the same paths users hit.

mod matchset;
mod text;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

/// Subcommands of `silkmatch eval`.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Text relevance on a collection folder (docs.jsonl, queries.jsonl, qrels.tsv).
    Text {
        /// The collection folder, e.g. ../shared/eval/cranfield.
        #[arg(long)]
        collection: PathBuf,
        /// Print `{"ndcg@10", "recall@100", "mrr@10", "queries"}` as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the TREC run here (for ../shared/eval/score.py).
        #[arg(long)]
        run: Option<PathBuf>,
    },
    /// Matching quality on a labelled match set, per direction, for three rankers.
    Match {
        /// The set's folder (format: fixtures/matchset/README.md).
        #[arg(long, default_value = "fixtures/matchset")]
        set: PathBuf,
        /// Which queries to score: the held-out `test` split (default), the `dev` split weights are tuned on, or `all`.
        #[arg(long, value_enum, default_value = "test")]
        split: Split,
        /// A weights file (TOML) instead of the shipped defaults.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Tune the weights on the dev split by coordinate ascent and print the best weights file.
        #[arg(long)]
        tune: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Query splits of a labelled match set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Split {
    /// Queries weights are tuned on.
    Dev,
    /// Held-out queries that report quality.
    Test,
    /// Both.
    All,
}

/// Runs an eval subcommand.
pub fn run(command: EvalCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvalCommand::Text {
            collection,
            json,
            run,
        } => text::run(collection, json, run),
        EvalCommand::Match {
            set,
            split,
            weights,
            tune,
            json,
        } => matchset::run(&set, split, weights.as_deref(), tune, json),
    }
}
