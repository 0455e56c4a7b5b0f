//! `silkmatch match`: partners for a stored listing, or for one given in a file, with reasons.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use silkmatch_core::matching::{Ranker, Weights};
use silkmatch_core::{Kind, Listing, parse_draft, validate};
use silkmatch_index::{Engine, MAX_CANDIDATES, MatchRequest, MatchResults};

/// Arguments of `silkmatch match`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MatchArgs {
    #[command(subcommand)]
    target: Option<MatchTarget>,
    /// Rank partners for a listing that is not stored (a JSON file in the import format).
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    #[command(flatten)]
    options: MatchOptions,
}

#[derive(Debug, Subcommand)]
enum MatchTarget {
    /// Offers that could serve this need.
    Need {
        /// The need's id or external id.
        id: String,
        #[command(flatten)]
        options: MatchOptions,
    },
    /// Needs (and so partners) this offer could serve.
    Offer {
        /// The offer's id or external id.
        id: String,
        #[command(flatten)]
        options: MatchOptions,
    },
}

/// Options shared by every form of `match`.
#[derive(Debug, Args, Clone)]
pub struct MatchOptions {
    /// Matches to show.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Candidates taken from the index before rescoring.
    #[arg(long, default_value_t = 100)]
    candidates: usize,
    /// Which score orders the matches.
    #[arg(long, value_enum, default_value = "reciprocal")]
    direction: DirectionArg,
    /// Show each match's reasons.
    #[arg(long)]
    explain: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// A weights file (TOML) instead of the shipped defaults.
    #[arg(long)]
    weights: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DirectionArg {
    /// How well each candidate serves the listing.
    Forward,
    /// How much each candidate would want the listing.
    Backward,
    /// Both at once (harmonic mean).
    Reciprocal,
    /// Text relevance alone (the baseline).
    Text,
}

impl MatchOptions {
    /// The request these options describe.
    pub fn request(&self) -> anyhow::Result<MatchRequest> {
        if self.k == 0 || self.k > 100 {
            bail!("--k must be between 1 and 100; got {}", self.k);
        }
        if self.candidates == 0 || self.candidates > MAX_CANDIDATES {
            bail!(
                "--candidates must be between 1 and {MAX_CANDIDATES}; got {}",
                self.candidates
            );
        }
        let weights = match &self.weights {
            None => Weights::defaults(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read weights file {}", path.display()))?;
                Weights::from_toml(&text)
                    .with_context(|| format!("weights file {} is not usable", path.display()))?
            }
        };
        let ranker = match self.direction {
            DirectionArg::Forward => Ranker::Forward,
            DirectionArg::Backward => Ranker::Backward,
            DirectionArg::Reciprocal => Ranker::Reciprocal,
            DirectionArg::Text => Ranker::TextOnly,
        };
        Ok(MatchRequest {
            k: self.k,
            candidates: self.candidates.max(self.k),
            ranker,
            weights,
            explain: self.explain || self.json,
            snippets: true,
        })
    }
}

/// Runs `match`.
pub fn run(engine: &Engine, args: MatchArgs) -> anyhow::Result<ExitCode> {
    let now = crate::now();
    let (listing, options) = match (args.target, args.file) {
        (Some(MatchTarget::Need { id, options }), None) => {
            (expect_kind(engine.resolve(&id)?, Kind::Need)?, options)
        }
        (Some(MatchTarget::Offer { id, options }), None) => {
            (expect_kind(engine.resolve(&id)?, Kind::Offer)?, options)
        }
        (None, Some(path)) => (unsaved_listing(&path, now)?, args.options),
        (None, None) => bail!(
            "say what to match: `match need ID`, `match offer ID` or `match --file listing.json`"
        ),
        (Some(_), Some(_)) => bail!("give either a stored listing or --file, not both"),
    };
    let request = options.request()?;
    let results = engine.matches_for(&listing, &request, now)?;
    if options.json {
        println!("{}", serde_json::to_string_pretty(&results_json(&results))?);
    } else {
        print_results(&listing, &results, options.explain);
    }
    Ok(ExitCode::SUCCESS)
}

fn expect_kind(listing: Listing, kind: Kind) -> anyhow::Result<Listing> {
    if listing.body.kind != kind {
        bail!(
            "`{}` is {} {}, not {} {kind}",
            listing.body.external_id.as_deref().unwrap_or(&listing.id),
            article(listing.body.kind),
            listing.body.kind,
            article(kind)
        );
    }
    Ok(listing)
}

fn article(kind: Kind) -> &'static str {
    match kind {
        Kind::Offer => "an",
        Kind::Need => "a",
    }
}

/// A listing from a file, validated like an import, treated as published now and owned by nobody.
fn unsaved_listing(
    path: &std::path::Path,
    now: silkmatch_core::Timestamp,
) -> anyhow::Result<Listing> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let draft = parse_draft(text.trim())
        .map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display()))?;
    let validated = validate(&draft).map_err(|problems| {
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(
            "{} is not a valid listing: {}",
            path.display(),
            listed.join("; ")
        )
    })?;
    Ok(Listing::unsaved(validated.body, "", now))
}

/// `{"matches": [{"id", "external_id", "kind", "title", "score", "explanation"}, …]}` in rank order.
pub fn results_json(results: &MatchResults) -> serde_json::Value {
    // The same shape as the API's match responses: one renderer for both front ends.
    let matches: Vec<_> = results
        .matches
        .iter()
        .map(silkmatch_http::render::found_match)
        .collect();
    json!({ "matches": matches, "candidates_considered": results.candidates_considered, "query_terms": results.query_terms })
}

fn print_results(listing: &Listing, results: &MatchResults, explain: bool) {
    let body = &listing.body;
    println!(
        "Matches for {} [{} {}] {}",
        body.external_id
            .as_deref()
            .unwrap_or(if listing.id.is_empty() {
                "(unsaved)"
            } else {
                &listing.id
            }),
        body.kind,
        body.language,
        body.title
    );
    println!("({} candidates considered)", results.candidates_considered);
    for (rank, found) in results.matches.iter().enumerate() {
        let candidate = &found.listing.body;
        println!(
            "{:>3}. {:.3}  [{} {} {}] {}  ({})",
            rank + 1,
            found.score,
            candidate.kind,
            candidate.language,
            candidate.organisation.country,
            candidate.title,
            candidate
                .external_id
                .as_deref()
                .unwrap_or(&found.listing.id)
        );
        if let (true, Some(explanation)) = (explain, &found.explanation) {
            let signals: Vec<String> = explanation
                .signals
                .iter()
                .map(|signal| match signal.value {
                    Some(value) => {
                        format!("{} {value:.2}→{:.3}", signal.signal, signal.contribution)
                    }
                    None => format!("{} not known", signal.signal),
                })
                .collect();
            println!(
                "       forward {:.3} · backward {:.3} · reciprocal {:.3}",
                explanation.forward, explanation.backward, explanation.reciprocal
            );
            println!("       signals: {}", signals.join(", "));
            let fields: Vec<String> = explanation
                .shared_technology_fields
                .iter()
                .map(|field| format!("{} {}", field.get(), field.name()))
                .collect();
            if !fields.is_empty() {
                println!("       shared technology fields: {}", fields.join("; "));
            }
            if !explanation.shared_sectors.is_empty() {
                println!(
                    "       shared sectors: {}",
                    explanation
                        .shared_sectors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if !explanation.shared_keywords.is_empty() {
                println!(
                    "       shared keywords: {}",
                    explanation.shared_keywords.join(", ")
                );
            }
            println!(
                "       cooperation both accept: {}",
                explanation
                    .cooperation
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if !explanation.matched_terms.is_empty() {
                println!(
                    "       matched terms: {}",
                    explanation.matched_terms.join(", ")
                );
            }
            if let Some(snippet) = found.snippets.first() {
                println!(
                    "       {}: {}",
                    snippet.field,
                    snippet.html.replace("<mark>", "[").replace("</mark>", "]")
                );
            }
            for near_miss in &explanation.near_misses {
                println!("       note: {near_miss}");
            }
        }
    }
}
