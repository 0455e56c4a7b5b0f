//! `silkmatch search`: the public search from the terminal.

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde_json::json;
use silkmatch_core::{
    Cooperation, Country, Ipr, Kind, LanguageTag, OrganisationKind, Sdg, Sector, TechnologyField,
    Trl,
};
use silkmatch_index::{
    Engine, Filters, MAX_LIMIT, MAX_WINDOW, SearchRequest, SearchResults, Sort, TextMode,
};

/// Arguments of `silkmatch search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Free text in any language (may be empty to browse by filters).
    #[arg(default_value = "")]
    query: String,
    /// Offers or needs only.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Organisation countries, ISO 3166-1 alpha-2 (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    country: Vec<String>,
    /// WIPO technology fields, 1 to 35.
    #[arg(long = "technology-field", value_delimiter = ',')]
    technology_field: Vec<u8>,
    /// NACE sections, A to U.
    #[arg(long, value_delimiter = ',')]
    sector: Vec<String>,
    /// Cooperation types (licence, joint_development, ...).
    #[arg(long, value_delimiter = ',')]
    cooperation: Vec<String>,
    /// Lowest readiness level.
    #[arg(long)]
    trl_min: Option<u8>,
    /// Highest readiness level.
    #[arg(long)]
    trl_max: Option<u8>,
    /// Languages of the listing text.
    #[arg(long, value_delimiter = ',')]
    language: Vec<String>,
    /// IPR protection of offers (none, secret_know_how, applied, granted).
    #[arg(long, value_delimiter = ',')]
    ipr: Vec<String>,
    /// Kinds of the owning organisation (sme, university, ...).
    #[arg(long = "organisation-kind", value_delimiter = ',')]
    organisation_kind: Vec<String>,
    /// UN Sustainable Development Goals, 1 to 17.
    #[arg(long, value_delimiter = ',')]
    sdg: Vec<u8>,
    /// Only listings open to partners from these countries (their target countries include one, or are empty).
    #[arg(long = "open-to", value_delimiter = ',')]
    open_to: Vec<String>,
    /// Order of results.
    #[arg(long, value_enum, default_value = "relevance")]
    sort: SortArg,
    /// How text is matched: `hybrid` (words and meaning, when the model is installed and
    /// listings are embedded; words alone otherwise), `lexical` or `dense`.
    #[arg(long, value_enum, default_value = "hybrid")]
    pub(crate) mode: ModeArg,
    /// Results per page (1 to 100).
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Results to skip (offset + limit at most 10000).
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Offer,
    Need,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SortArg {
    Relevance,
    Newest,
}

fn parse_all<T>(
    flag: &str,
    values: &[String],
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> anyhow::Result<Vec<T>> {
    values
        .iter()
        .map(|value| {
            parse(value.trim())
                .ok_or_else(|| anyhow::anyhow!("--{flag} `{value}` is not {expected}"))
        })
        .collect()
}

fn trl(flag: &str, value: Option<u8>) -> anyhow::Result<Option<Trl>> {
    value
        .map(|level| {
            Trl::new(level)
                .ok_or_else(|| anyhow::anyhow!("--{flag} must be between 1 and 9; got {level}"))
        })
        .transpose()
}

impl SearchArgs {
    /// Turns flags into a request, rejecting bad values with the flag's name.
    pub fn request(&self) -> anyhow::Result<SearchRequest> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            bail!(
                "--limit must be between 1 and {MAX_LIMIT}; got {}",
                self.limit
            );
        }
        if self.offset.saturating_add(self.limit) > MAX_WINDOW {
            bail!(
                "--offset plus --limit must be at most {MAX_WINDOW}; got {}",
                self.offset.saturating_add(self.limit)
            );
        }
        let filters = Filters {
            kind: self.kind.map(|kind| match kind {
                KindArg::Offer => Kind::Offer,
                KindArg::Need => Kind::Need,
            }),
            countries: parse_all(
                "country",
                &self.country,
                Country::new,
                "an ISO 3166-1 alpha-2 code such as CN",
            )?,
            technology_fields: self
                .technology_field
                .iter()
                .map(|field| {
                    TechnologyField::new(*field).ok_or_else(|| {
                        anyhow::anyhow!("--technology-field must be between 1 and 35; got {field}")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            sectors: parse_all(
                "sector",
                &self.sector,
                Sector::new,
                "a NACE section letter A to U",
            )?,
            cooperation: parse_all(
                "cooperation",
                &self.cooperation,
                Cooperation::parse,
                &format!("one of {}", Cooperation::allowed()),
            )?,
            trl_min: trl("trl-min", self.trl_min)?,
            trl_max: trl("trl-max", self.trl_max)?,
            languages: parse_all(
                "language",
                &self.language,
                LanguageTag::new,
                "a language tag such as en or zh",
            )?,
            ipr: parse_all(
                "ipr",
                &self.ipr,
                Ipr::parse,
                &format!("one of {}", Ipr::allowed()),
            )?,
            organisation_kinds: parse_all(
                "organisation-kind",
                &self.organisation_kind,
                OrganisationKind::parse,
                &format!("one of {}", OrganisationKind::allowed()),
            )?,
            sdgs: self
                .sdg
                .iter()
                .map(|goal| {
                    Sdg::new(*goal).ok_or_else(|| {
                        anyhow::anyhow!("--sdg must be between 1 and 17; got {goal}")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            open_to_countries: parse_all(
                "open-to",
                &self.open_to,
                Country::new,
                "an ISO 3166-1 alpha-2 code such as CN",
            )?,
            ..Filters::default()
        };
        let sort = match self.sort {
            SortArg::Relevance => Sort::Relevance,
            SortArg::Newest => Sort::Newest,
        };
        Ok(SearchRequest {
            text: self.query.clone(),
            filters,
            sort,
            limit: self.limit,
            offset: self.offset,
            facets: true,
            snippets: true,
            mode: match self.mode {
                ModeArg::Hybrid => TextMode::Hybrid,
                ModeArg::Lexical => TextMode::Lexical,
                ModeArg::Dense => TextMode::Dense,
            },
        })
    }
}

/// Runs a search and prints it.
pub fn run(engine: &Engine, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let request = args.request()?;
    let results = engine.search(&request, crate::now())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results_json(&results))?);
    } else {
        print_results(&results);
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON shape of `search --json`: hits carry `id`, `external_id`, `kind`, `title`, `score`.
pub fn results_json(results: &SearchResults) -> serde_json::Value {
    let hits: Vec<_> = results
        .hits
        .iter()
        .map(|hit| {
            let body = &hit.listing.body;
            json!({
                "id": hit.listing.id,
                "external_id": body.external_id,
                "kind": body.kind,
                "title": body.title,
                "language": body.language,
                "country": body.organisation.country,
                "score": hit.score,
                "snippets": hit.snippets,
            })
        })
        .collect();
    json!({ "total": results.total, "hits": hits, "facets": results.facets })
}

/// Human-readable results: one block per hit.
pub fn print_results(results: &SearchResults) {
    println!("{} matching listings", results.total);
    for (rank, hit) in results.hits.iter().enumerate() {
        let body = &hit.listing.body;
        println!(
            "{:>3}. [{} {} {}] {}  (score {:.2}, id {})",
            rank + 1,
            body.kind,
            body.language,
            body.organisation.country,
            body.title,
            hit.score,
            body.external_id.as_deref().unwrap_or(&hit.listing.id)
        );
        if let Some(snippet) = hit.snippets.iter().find(|snippet| snippet.field != "title") {
            println!(
                "     {}: {}",
                snippet.field,
                snippet.html.replace("<mark>", "[").replace("</mark>", "]")
            );
        }
    }
}

/// `--mode` of `silkmatch search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Words and meaning fused.
    Hybrid,
    /// Words only.
    Lexical,
    /// Meaning only.
    Dense,
}
