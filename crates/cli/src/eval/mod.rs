//! `silkmatch eval`: quality measured through the same paths users hit.

mod dense;
mod matchset;
mod text;

use std::path::{Path, PathBuf};
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
        /// Ranking: `lexical` (BM25, what search uses today), `dense` (multilingual embeddings,
        /// exact cosine; needs `silkmatch model fetch`) or `hybrid` (reciprocal-rank fusion of both).
        #[arg(long, value_enum, default_value = "lexical")]
        mode: Mode,
        /// Print `{"ndcg@10", "recall@100", "mrr@10", "r@1", "queries", "mode"}` as JSON.
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
        /// Also match by meaning: embed the set's listings with the model installed in the data
        /// directory (`silkmatch model fetch`; vectors cached under <data>/cache/embeddings/).
        #[arg(long)]
        meaning: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Retrieval modes of `eval text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// BM25 through `Engine::search`.
    Lexical,
    /// Exact cosine over multilingual-e5-small embeddings.
    Dense,
    /// Reciprocal-rank fusion of the lexical and dense top 100.
    Hybrid,
}

impl Mode {
    /// The name printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Lexical => "lexical",
            Mode::Dense => "dense",
            Mode::Hybrid => "hybrid",
        }
    }
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
pub fn run(data: &Path, command: EvalCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvalCommand::Text {
            collection,
            mode,
            json,
            run,
        } => text::run(data, collection, mode, json, run),
        EvalCommand::Match {
            set,
            split,
            weights,
            tune,
            meaning,
            json,
        } => matchset::run(
            &set,
            split,
            weights.as_deref(),
            tune,
            meaning.then_some(data),
            json,
        ),
    }
}
