//! `silkmatch eval match`: nDCG@10, Recall@100 and MRR@10 per direction for the model's rankers (text
//! only, the full model, the reciprocal score) and two baselines computed in the same run (a plain
//! BM25 of the whole text, and meaning alone), on one or more labelled match sets; hard-constraint
//! violations in every top-100; and what trap queries return (their right answer is nothing).
//! Each set is imported into a temporary data directory and every query goes through
//! `Engine::prepare_match` and `silkmatch_core::matching::rank`, as `silkmatch match` does.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};
use silkmatch_core::matching::{Ranker, Weights, check_hard_constraints};
use silkmatch_core::metrics::{Metrics, Qrels, Run, evaluate};
use silkmatch_core::{Listing, Timestamp, draft_from_value, validate};
use silkmatch_index::{Baseline, Engine, IndexCommit, Owner, Prepared, Write};

use super::Split;
use super::labelled_set::{DIRECTIONS, LabelledSet};

/// Candidates per query: what `silkmatch match` and the API take by default (the lexical top 100,
/// and as many nearest in meaning when there are vectors), so Recall@100 is what users get.
fn candidates() -> usize {
    silkmatch_index::MatchRequest::default().candidates
}
/// The model's rankers, with their JSON names.
const RANKERS: [(&str, Ranker); 3] = [
    ("text_only", Ranker::TextOnly),
    ("full", Ranker::Forward),
    ("reciprocal", Ranker::Reciprocal),
];

/// One query, prepared once: candidate generation does not depend on the weights.
pub(super) struct PreparedQuery {
    pub(super) direction: &'static str,
    pub(super) external_id: String,
    pub(super) split: String,
    /// The query listing's language.
    language: String,
    pub(super) prepared: Prepared,
    /// The baselines' top 100, as (external id, score).
    baselines: BTreeMap<&'static str, Vec<(String, f64)>>,
}

/// A set imported and its queries prepared.
pub(super) struct LoadedSet {
    pub(super) name: String,
    pub(super) queries: Vec<PreparedQuery>,
    pub(super) qrels: BTreeMap<&'static str, Qrels>,
    /// For a set given with `--hold`: the floor tuning must keep it above, instead of tuning for it.
    pub(super) hold: Option<f64>,
    cross: BTreeMap<&'static str, Qrels>,
    traps: Vec<(String, Prepared)>,
    /// Kept alive for the prepared candidates' lifetime.
    _engine: Engine,
    _scratch: tempfile::TempDir,
}

/// Options of `eval match`.
pub struct Options<'a> {
    pub split: Split,
    pub weights_file: Option<&'a Path>,
    pub tune: bool,
    pub meaning: Option<&'a Path>,
    pub json: bool,
}

/// Runs `eval match` on each of `sets`.
pub fn run(
    sets: &[std::path::PathBuf],
    held: &[(std::path::PathBuf, f64)],
    options: &Options<'_>,
) -> anyhow::Result<ExitCode> {
    let weights = match options.weights_file {
        None => Weights::defaults(),
        Some(path) => Weights::from_toml(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read weights file {}", path.display()))?,
        )?,
    };
    let embedder = match options.meaning {
        Some(data) => Some(crate::meaning::CachedEmbedder::load(data)?),
        None => None,
    };
    let now = crate::now();
    let mut loaded = Vec::with_capacity(sets.len() + held.len());
    for dir in sets {
        loaded.push(load(dir, embedder.as_ref(), now)?);
    }
    for (dir, floor) in held {
        let mut set = load(dir, embedder.as_ref(), now)?;
        set.hold = Some(*floor);
        loaded.push(set);
    }
    let weights = if options.tune {
        let tuned = super::tune::tune(&loaded, weights, now);
        println!(
            "# tuned on the dev splits of {} set(s)\n{}",
            loaded.len(),
            tuned.to_toml()
        );
        tuned
    } else {
        weights
    };
    let mut failed = false;
    let mut reports = serde_json::Map::new();
    for set in &loaded {
        let report = set_report(set, options.split, &weights, now);
        failed |= report.violations > 0 || report.trap_matches > 0;
        if options.json {
            reports.insert(set.name.clone(), report.to_json());
        } else {
            report.print(&set.name, options.split);
        }
    }
    if options.json {
        let out = if loaded.len() == 1 {
            reports
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .unwrap_or_default()
        } else {
            Value::Object(reports)
        };
        println!("{out}");
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Imports a set into a fresh data directory (embedding it when there is a model) and prepares
/// its queries and traps.
fn load(
    dir: &Path,
    embedder: Option<&crate::meaning::CachedEmbedder>,
    now: Timestamp,
) -> anyhow::Result<LoadedSet> {
    let set = LabelledSet::read(dir)?;
    let name = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let scratch = tempfile::tempdir().context("cannot create a temporary data directory")?;
    let engine = Engine::open(scratch.path())?;
    let listings_path = dir.join("listings.jsonl");
    for (chunk_idx, chunk) in set.listings.chunks(2_000).enumerate() {
        let mut writes = Vec::with_capacity(chunk.len());
        for (idx, value) in chunk.iter().enumerate() {
            let at = format!(
                "{}:{}",
                listings_path.display(),
                chunk_idx * 2_000 + idx + 1
            );
            let draft = draft_from_value(value.clone())
                .map_err(|problem| anyhow::anyhow!("{at}: {problem}"))?;
            let validated = validate(&draft).map_err(|problems| {
                let first = problems
                    .first()
                    .map(|problem| format!("{}: {}", problem.field, problem.message))
                    .unwrap_or_default();
                anyhow::anyhow!(
                    "{at}: invalid listing ({} problems; first: {first})",
                    problems.len()
                )
            })?;
            writes.push(Write::Upsert {
                owner: Owner::FromListing,
                validated,
            });
        }
        for outcome in engine.write(writes, now, IndexCommit::Later)? {
            outcome?;
        }
    }
    engine.commit_index()?;
    if let Some(embedder) = embedder {
        crate::meaning::embed_with_bar(&engine, embedder, None)?;
    }
    let mut external: HashMap<String, String> = HashMap::with_capacity(set.listings.len());
    for value in &set.listings {
        let id = value["external_id"].as_str().unwrap_or_default();
        if let Ok(listing) = engine.resolve(id) {
            external.insert(listing.id, id.to_string());
        }
    }
    let cross = cross_language_qrels(&set.listings, &set.qrels);

    let bar = crate::progress::bar("preparing queries");
    bar.set_length((set.queries.len() + set.traps.len()) as u64);
    let mut queries = Vec::with_capacity(set.queries.len());
    for query in set.queries {
        let listing = engine
            .resolve(&query.external_id)
            .with_context(|| format!("query {} was not imported", query.external_id))?;
        let mut baselines = BTreeMap::new();
        for (name, baseline) in [("bm25", Baseline::Bm25), ("dense", Baseline::Dense)] {
            let ranked = engine.baseline_ranking(&listing, baseline, 100, now)?;
            if baseline == Baseline::Dense && ranked.is_empty() && embedder.is_none() {
                continue;
            }
            let run = ranked
                .into_iter()
                .enumerate()
                .map(|(position, (id, score))| {
                    let id = external.get(&id).cloned().unwrap_or(id);
                    (id, f64::from(score) - position as f64 * 1e-7)
                })
                .collect();
            baselines.insert(name, run);
        }
        queries.push(PreparedQuery {
            language: listing.body.language.as_str().to_string(),
            direction: query.direction,
            prepared: engine.prepare_match(&listing, candidates(), now)?,
            external_id: query.external_id,
            split: query.split,
            baselines,
        });
        bar.inc(1);
    }
    let mut traps = Vec::with_capacity(set.traps.len());
    for id in set.traps {
        let listing = engine
            .resolve(&id)
            .with_context(|| format!("trap {id} was not imported"))?;
        traps.push((id, engine.prepare_match(&listing, candidates(), now)?));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(LoadedSet {
        name,
        queries,
        qrels: set.qrels,
        hold: None,
        cross,
        traps,
        _engine: engine,
        _scratch: scratch,
    })
}

/// Metrics per direction and ranker.
pub(super) type Report = BTreeMap<&'static str, BTreeMap<&'static str, Metrics>>;

/// Everything `eval match` says about one set.
struct SetReport {
    queries: usize,
    metrics: Report,
    /// The same per language of the query, when the queries are in more than one.
    by_language: BTreeMap<String, Report>,
    cross: Report,
    cross_pairs: usize,
    violations: usize,
    traps: usize,
    trap_matches: usize,
}

fn set_report(set: &LoadedSet, split: Split, weights: &Weights, now: Timestamp) -> SetReport {
    let selected: Vec<&PreparedQuery> = set
        .queries
        .iter()
        .filter(|query| match split {
            Split::Dev => query.split == "dev",
            Split::Test => query.split == "test",
            Split::All => true,
        })
        .collect();
    let (metrics, violations) = score(&selected, &set.qrels, weights, now, true);
    let languages: std::collections::BTreeSet<&str> = selected
        .iter()
        .map(|query| query.language.as_str())
        .collect();
    let by_language = if languages.len() > 1 {
        languages
            .iter()
            .map(|language| {
                let subset: Vec<&PreparedQuery> = selected
                    .iter()
                    .copied()
                    .filter(|query| query.language == *language)
                    .collect();
                (
                    language.to_string(),
                    score(&subset, &set.qrels, weights, now, true).0,
                )
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    let (cross, _) = score(&selected, &set.cross, weights, now, true);
    let cross_pairs = set
        .cross
        .values()
        .flat_map(|by_query| by_query.values())
        .flat_map(|docs| docs.values())
        .filter(|grade| **grade >= 2.0)
        .count();
    let trap_matches = set
        .traps
        .iter()
        .map(|(_, prepared)| prepared.rank(weights, now, Ranker::Reciprocal, 100).len())
        .sum();
    SetReport {
        queries: selected.len(),
        metrics,
        by_language,
        cross,
        cross_pairs,
        violations,
        traps: set.traps.len(),
        trap_matches,
    }
}

impl SetReport {
    fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (direction, rankers) in &self.metrics {
            out.insert(direction.to_string(), json!(rankers));
        }
        out.insert(
            "cross_language".into(),
            json!({"pairs_graded_2_or_3": self.cross_pairs, "metrics": self.cross}),
        );
        if !self.by_language.is_empty() {
            out.insert("by_query_language".into(), json!(self.by_language));
        }
        out.insert("violations".into(), json!(self.violations));
        out.insert(
            "traps".into(),
            json!({"queries": self.traps, "matches_returned": self.trap_matches}),
        );
        out.insert("queries".into(), json!(self.queries));
        Value::Object(out)
    }

    fn print(&self, name: &str, split: Split) {
        println!(
            "{name}: split {} ({} queries); hard-constraint violations in every top-100: {}; traps: {} queries, {} matches returned",
            split.name(),
            self.queries,
            self.violations,
            self.traps,
            self.trap_matches
        );
        println!(
            "{:<15} {:<11} {:>8} {:>10} {:>8}",
            "direction", "ranker", "nDCG@10", "Recall@100", "MRR@10"
        );
        let table = |report: &Report| {
            for (direction, rankers) in report {
                for (ranker, metrics) in rankers {
                    println!(
                        "{direction:<15} {ranker:<11} {:>8.4} {:>10.4} {:>8.4}",
                        metrics.ndcg_at_10, metrics.recall_at_100, metrics.mrr_at_10
                    );
                }
            }
        };
        table(&self.metrics);
        for (language, report) in &self.by_language {
            println!("queries in {language}:");
            table(report);
        }
        if self.cross_pairs > 0 {
            println!(
                "cross-language judgements only (the two listings share no language; {} pairs graded 2 or 3 in all splits):",
                self.cross_pairs
            );
            table(&self.cross);
        }
    }
}

/// The judgements of pairs whose two listings share no language (translations included): the cases
/// only meaning can connect. Queries left with no such judgement are dropped.
fn cross_language_qrels(
    listings: &[Value],
    qrels: &BTreeMap<&'static str, Qrels>,
) -> BTreeMap<&'static str, Qrels> {
    let languages: BTreeMap<&str, Vec<&str>> = listings
        .iter()
        .filter_map(|listing| {
            let id = listing["external_id"].as_str()?;
            let mut languages: Vec<&str> = listing["language"].as_str().into_iter().collect();
            if let Some(translations) = listing["translations"].as_object() {
                languages.extend(translations.keys().map(String::as_str));
            }
            Some((id, languages))
        })
        .collect();
    let share = |a: &str, b: &str| match (languages.get(a), languages.get(b)) {
        (Some(a), Some(b)) => a.iter().any(|language| b.contains(language)),
        _ => true,
    };
    qrels
        .iter()
        .map(|(direction, by_query)| {
            let kept: Qrels = by_query
                .iter()
                .filter_map(|(query, docs)| {
                    let docs: BTreeMap<String, f64> = docs
                        .iter()
                        .filter(|(doc, _)| !share(query, doc))
                        .map(|(doc, grade)| (doc.clone(), *grade))
                        .collect();
                    docs.values()
                        .any(|grade| *grade > 0.0)
                        .then(|| (query.clone(), docs))
                })
                .collect();
            (*direction, kept)
        })
        .collect()
}

/// Metrics per direction and ranker (with the baselines when `baselines`), and hard-constraint
/// violations in any top-100. Directions without judged queries are left out.
pub(super) fn score(
    queries: &[&PreparedQuery],
    qrels: &BTreeMap<&'static str, Qrels>,
    weights: &Weights,
    now: Timestamp,
    baselines: bool,
) -> (Report, usize) {
    let mut report = Report::new();
    let mut violations = 0;
    for direction in DIRECTIONS {
        let in_direction: Vec<&&PreparedQuery> = queries
            .iter()
            .filter(|query| query.direction == direction)
            .collect();
        let judged: Qrels = qrels[direction]
            .iter()
            .filter(|(query, _)| {
                in_direction
                    .iter()
                    .any(|prepared| &prepared.external_id == *query)
            })
            .map(|(q, docs)| (q.clone(), docs.clone()))
            .collect();
        if judged.is_empty() {
            continue;
        }
        for (name, ranker) in RANKERS {
            let mut run = Run::new();
            for query in &in_direction {
                let side = &query.prepared.query;
                let mut results = Vec::new();
                for (position, found) in query
                    .prepared
                    .rank(weights, now, ranker, 100)
                    .iter()
                    .enumerate()
                {
                    let candidate: &Listing =
                        &query.prepared.candidates[found.candidate_idx].listing;
                    violations +=
                        usize::from(check_hard_constraints(&side.listing, candidate, now).is_err());
                    // Rank folded into the score so trec_eval's tie-breaking keeps our order.
                    results.push((
                        candidate.body.external_id.clone().unwrap_or_default(),
                        f64::from(found.score) - position as f64 * 1e-7,
                    ));
                }
                run.insert(query.external_id.clone(), results);
            }
            report
                .entry(direction)
                .or_default()
                .insert(name, evaluate(&judged, &run));
        }
        if baselines {
            for name in ["bm25", "dense"] {
                if in_direction
                    .iter()
                    .any(|query| !query.baselines.contains_key(name))
                {
                    continue;
                }
                let run: Run = in_direction
                    .iter()
                    .map(|query| (query.external_id.clone(), query.baselines[name].clone()))
                    .collect();
                report
                    .entry(direction)
                    .or_default()
                    .insert(name, evaluate(&judged, &run));
            }
        }
    }
    (report, violations)
}
