//! `silkmatch demo`: the quick start's main job. Loads the committed demo listings into the data
//! directory (idempotently: a second run changes nothing), sets up the multilingual model (installs
//! it when missing, embeds what is not embedded yet; without it, everything runs by words) and shows
//! searches in several languages.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use silkmatch_index::SearchRequest;

/// Arguments of `silkmatch demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The listings to load.
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Address to serve the API on afterwards.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// Load and show the sample searches, then exit instead of serving.
    #[arg(long)]
    no_serve: bool,
    /// Words only: neither install nor use the embedding model.
    #[arg(long)]
    lexical: bool,
}

/// Queries shown by the demo: one per main language of the network.
const DEMO_QUERIES: [&str; 4] = [
    "battery energy storage",
    "太阳能",
    "солнечные насосы",
    "الطاقة الشمسية",
];

/// Runs the demo.
pub fn run(data: &Path, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let fixtures = args.fixtures.unwrap_or_else(default_fixtures);
    let imported = crate::import::run(data, crate::import::ImportArgs::for_file(fixtures.clone()))
        .with_context(|| format!("cannot load the demo listings from {}", fixtures.display()))?;
    if imported != ExitCode::SUCCESS {
        return Ok(imported);
    }
    let engine = crate::open(data)?;
    if !args.lexical {
        crate::meaning::set_up(&engine, data)?;
    }
    for query in DEMO_QUERIES {
        println!("\n$ silkmatch search {query:?}");
        let request = SearchRequest {
            text: query.into(),
            limit: 5,
            ..SearchRequest::default()
        };
        crate::search::print_results(&engine.search(&request, crate::now())?);
    }
    println!(
        "\nData is in {}; try `silkmatch search \"your words\" --data {}`.",
        data.display(),
        data.display()
    );
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    crate::serve::run(engine, args.addr, false)
}

/// `fixtures/demo.jsonl` of the working directory, or of the source tree this binary was built from.
fn default_fixtures() -> PathBuf {
    let local = PathBuf::from("fixtures/demo.jsonl");
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo.jsonl")
}
