//! `silkmatch eval`: quality measured through the same paths users hit.

mod dense;
mod labelled_set;
mod matchset;
mod sweep;
mod text;
mod tune;

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
        /// Ranking, each through `Engine::search` as users' queries go: `lexical` (BM25), `dense`
        /// (multilingual embeddings; needs `silkmatch model fetch`) or `hybrid` (both, fused by
        /// `silkmatch_core::fusion`). Default: what search uses here (hybrid when the model is
        /// installed, else lexical).
        #[arg(long, value_enum)]
        mode: Option<Mode>,
        /// Which queries to score: `all` (default), `dev` (even positions in queries.jsonl, counting
        /// from 0: the half the fusion constants were tuned on) or `test` (odd positions, held out).
        #[arg(long, value_enum, default_value = "all")]
        split: Split,
        /// Print `{"ndcg@10", "recall@100", "mrr@10", "r@1", "queries", "mode", "split"}` as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the TREC run here (for ../shared/eval/score.py).
        #[arg(long)]
        run: Option<PathBuf>,
        /// Hybrid only: fusion constants `SAME,CROSS,FLOOR` instead of the shipped ones.
        #[arg(long, hide = true, value_parser = sweep::parse_weights)]
        fusion: Option<silkmatch_core::fusion::FusionWeights>,
        /// Hybrid only: also write both rankings of every query (JSON) for `eval fusion-sweep`.
        #[arg(long, hide = true)]
        save_lists: Option<PathBuf>,
    },
    /// Sweeps the fusion constants over lists saved by `eval text --mode hybrid --save-lists`:
    /// scores every grid point on the dev queries of each collection and prints the best.
    #[command(hide = true)]
    FusionSweep {
        /// Files written by `--save-lists`, one per collection.
        #[arg(required = true)]
        lists: Vec<PathBuf>,
        /// Print every grid point (TSV) instead of the best ones.
        #[arg(long)]
        all: bool,
        /// Instead of sweeping, print lexical, dense and hybrid (these constants, `SAME,CROSS,FLOOR`,
        /// or the shipped ones with `--report default`) on the dev, test and all queries (markdown).
        #[arg(long, value_parser = sweep::parse_report)]
        report: Option<silkmatch_core::fusion::FusionWeights>,
    },
    /// Matching quality on labelled match sets, per direction: the model's rankers and two
    /// baselines (plain BM25 of the whole text; meaning alone, with `--meaning`), traps, violations.
    Match {
        /// A set's folder: the per-direction layout of fixtures/matchset (fixtures/README.md) or the
        /// flat one of ../shared/data/sbir-match (listings.jsonl, queries.txt, qrels.tsv, optional
        /// traps.txt). Repeat to evaluate (and `--tune` on) several sets in one run.
        #[arg(long, default_value = "fixtures/matchset")]
        set: Vec<PathBuf>,
        /// Which queries to score: the held-out `test` split (default), the `dev` split weights are tuned on, or `all`.
        #[arg(long, value_enum, default_value = "test")]
        split: Split,
        /// A weights file (TOML) instead of the shipped defaults.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Tune the weights on the dev splits of all the sets together (coordinate ascent; no set may
        /// fall below its own text-only ranker or BM25) and print the best weights file.
        #[arg(long)]
        tune: bool,
        /// A set that tuning must not push below a floor but does not tune for, as `DIR=FLOOR`
        /// (its dev nDCG@10 of the full and reciprocal rankers); reported like `--set`. For
        /// generated sets, which test rules and must not choose weights.
        #[arg(long, value_parser = parse_hold)]
        hold: Vec<(PathBuf, f64)>,
        /// Also match by meaning: embed the set's listings with the model installed in the data
        /// directory (`silkmatch model fetch`; vectors cached under <data>/cache/embeddings/).
        #[arg(long)]
        meaning: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `DIR=FLOOR` of `eval match --hold`.
fn parse_hold(text: &str) -> Result<(PathBuf, f64), String> {
    let (dir, floor) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("expected DIR=FLOOR, e.g. fixtures/matchset=0.75; got `{text}`"))?;
    let floor: f64 = floor
        .parse()
        .ok()
        .filter(|floor: &f64| (0.0..=1.0).contains(floor))
        .ok_or_else(|| format!("FLOOR must be a number in [0, 1]; got `{floor}`"))?;
    Ok((PathBuf::from(dir), floor))
}

/// Retrieval modes of `eval text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// BM25 through `Engine::search`.
    Lexical,
    /// The nearest listings by multilingual-e5-small embeddings.
    Dense,
    /// Lexical and dense top 100 fused by `silkmatch_core::fusion::fuse`: what search uses.
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

/// Query splits: of a labelled match set (its `split` field), or of a text collection (dev = even
/// positions in queries.jsonl, test = odd positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Split {
    /// Queries weights are tuned on.
    Dev,
    /// Held-out queries that report quality.
    Test,
    /// Both.
    All,
}

impl Split {
    /// The name printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Split::Dev => "dev",
            Split::Test => "test",
            Split::All => "all",
        }
    }

    /// Whether the query at `position` (from 0) of a text collection belongs to this split.
    pub fn holds_position(self, position: usize) -> bool {
        match self {
            Split::Dev => position.is_multiple_of(2),
            Split::Test => !position.is_multiple_of(2),
            Split::All => true,
        }
    }
}

/// Runs an eval subcommand.
pub fn run(data: &Path, command: EvalCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvalCommand::Text {
            collection,
            mode,
            split,
            json,
            run,
            fusion,
            save_lists,
        } => text::run(
            data,
            &collection,
            &text::Options {
                mode,
                split,
                json,
                run,
                fusion,
                save_lists,
            },
        ),
        EvalCommand::FusionSweep { lists, all, report } => match report {
            Some(weights) => sweep::report(&lists, &weights),
            None => sweep::run(&lists, all),
        },
        EvalCommand::Match {
            set,
            split,
            weights,
            tune,
            hold,
            meaning,
            json,
        } => matchset::run(
            &set,
            &hold,
            &matchset::Options {
                split,
                weights_file: weights.as_deref(),
                tune,
                meaning: meaning.then_some(data),
                json,
            },
        ),
    }
}
