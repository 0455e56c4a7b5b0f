//! `silkmatch eval match`: nDCG@10, Recall@100 and MRR@10 per direction for three rankers (text only,
//! the full model, the reciprocal score) on a labelled match set, plus the count of hard-constraint
//! violations in every top-100. The set is imported into a temporary data directory and every query
//! goes through `Engine::prepare_match` and `silkmatch_core::matching::rank`, as `silkmatch match` does.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use silkmatch_core::matching::{Ranker, Weights, check_hard_constraints, rank};
use silkmatch_core::metrics::{Metrics, Qrels, Run, evaluate};
use silkmatch_core::{Kind, Listing, Timestamp, draft_from_value, validate};
use silkmatch_index::{Engine, IndexCommit, Owner, Prepared, Write};

use super::Split;
use super::text::{read_jsonl, read_qrels};

/// Candidates rescored per query: above 100 so Recall@100 is not capped by candidate generation alone.
const CANDIDATES: usize = 300;
/// Rankers reported, with their JSON names.
const RANKERS: [(&str, Ranker); 3] = [
    ("text_only", Ranker::TextOnly),
    ("full", Ranker::Forward),
    ("reciprocal", Ranker::Reciprocal),
];
/// Directions, with the judgement file of each.
const DIRECTIONS: [(&str, Kind); 2] = [
    ("need_to_offer", Kind::Need),
    ("offer_to_need", Kind::Offer),
];

struct Query {
    direction: &'static str,
    external_id: String,
    split: String,
}

/// One query, prepared once: candidate generation does not depend on the weights.
struct PreparedQuery {
    direction: &'static str,
    external_id: String,
    split: String,
    prepared: Prepared,
}

/// Runs `eval match`.
pub fn run(
    set: &Path,
    split: Split,
    weights_file: Option<&Path>,
    tune: bool,
    meaning: Option<&Path>,
    json_output: bool,
) -> anyhow::Result<ExitCode> {
    let weights = match weights_file {
        None => Weights::defaults(),
        Some(path) => Weights::from_toml(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read weights file {}", path.display()))?,
        )?,
    };
    let queries = read_queries(&set.join("queries.tsv"))?;
    let mut qrels: BTreeMap<&str, Qrels> = BTreeMap::new();
    for (direction, _) in DIRECTIONS {
        qrels.insert(
            direction,
            read_qrels(&set.join(format!("{direction}.tsv")))?,
        );
    }
    let listings: Vec<Value> = read_jsonl(&set.join("listings.jsonl"))?;
    let scratch = tempfile::tempdir().context("cannot create a temporary data directory")?;
    let engine = Engine::open(scratch.path())?;
    let now = crate::now();
    for (chunk_idx, chunk) in listings.chunks(2_000).enumerate() {
        let mut writes = Vec::with_capacity(chunk.len());
        for (idx, value) in chunk.iter().enumerate() {
            let line = chunk_idx * 2_000 + idx + 1;
            let draft = draft_from_value(value.clone())
                .map_err(|problem| anyhow::anyhow!("listings.jsonl:{line}: {problem}"))?;
            let validated = validate(&draft)
                .map_err(|problems| anyhow::anyhow!("listings.jsonl:{line}: {problems:?}"))?;
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
    if let Some(data) = meaning {
        let embedder = crate::meaning::CachedEmbedder::load(data)?;
        crate::meaning::embed_with_bar(&engine, &embedder, None)?;
    }
    let cross = cross_language_qrels(&listings, &qrels);

    let bar = crate::progress::bar("preparing queries");
    bar.set_length(queries.len() as u64);
    let mut prepared = Vec::with_capacity(queries.len());
    for query in queries {
        let listing = engine
            .resolve(&query.external_id)
            .with_context(|| format!("query {} is not in listings.jsonl", query.external_id))?;
        let expected = DIRECTIONS
            .iter()
            .find(|(name, _)| *name == query.direction)
            .map(|(_, kind)| *kind);
        if Some(listing.body.kind) != expected {
            bail!(
                "query {} is a {} but is listed under {}",
                query.external_id,
                listing.body.kind,
                query.direction
            );
        }
        prepared.push(PreparedQuery {
            direction: query.direction,
            external_id: query.external_id,
            split: query.split,
            prepared: engine.prepare_match(&listing, CANDIDATES, now)?,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();

    let weights = if tune {
        tune_weights(&prepared, &qrels, weights, now)
    } else {
        weights
    };
    let wanted = |query: &PreparedQuery| match split {
        Split::Dev => query.split == "dev",
        Split::Test => query.split == "test",
        Split::All => true,
    };
    let selected: Vec<&PreparedQuery> = prepared.iter().filter(|query| wanted(query)).collect();
    let (report, violations) = score(&selected, &qrels, &weights, now);
    let (cross_report, _) = score(&selected, &cross, &weights, now);
    let cross_pairs: usize = cross
        .values()
        .flat_map(|by_query| by_query.values())
        .flat_map(|docs| docs.values())
        .filter(|grade| **grade >= 2.0)
        .count();
    if tune {
        println!(
            "# tuned on the dev split ({} queries)\n{}",
            prepared.iter().filter(|query| query.split == "dev").count(),
            weights.to_toml()
        );
    }
    if json_output {
        let mut out = serde_json::Map::new();
        for (direction, rankers) in &report {
            out.insert(direction.to_string(), json!(rankers));
        }
        out.insert(
            "cross_language".into(),
            json!({"pairs_graded_2_or_3": cross_pairs, "metrics": cross_report}),
        );
        out.insert("violations".into(), json!(violations));
        out.insert("queries".into(), json!(selected.len()));
        println!("{}", Value::Object(out));
    } else {
        println!(
            "split: {split:?} ({} queries); hard-constraint violations in every top-100: {violations}",
            selected.len()
        );
        println!(
            "{:<15} {:<11} {:>8} {:>10} {:>8}",
            "direction", "ranker", "nDCG@10", "Recall@100", "MRR@10"
        );
        for (direction, rankers) in &report {
            for (ranker, metrics) in rankers {
                println!(
                    "{direction:<15} {ranker:<11} {:>8.4} {:>10.4} {:>8.4}",
                    metrics.ndcg_at_10, metrics.recall_at_100, metrics.mrr_at_10
                );
            }
        }
        println!(
            "cross-language judgements only (need and offer share no language; {cross_pairs} pairs graded 2 or 3 in all splits):"
        );
        for (direction, rankers) in &cross_report {
            for (ranker, metrics) in rankers {
                println!(
                    "{direction:<15} {ranker:<11} {:>8.4} {:>10.4} {:>8.4}",
                    metrics.ndcg_at_10, metrics.recall_at_100, metrics.mrr_at_10
                );
            }
        }
    }
    Ok(if violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

type Report = BTreeMap<&'static str, BTreeMap<&'static str, Metrics>>;

/// The judgements of pairs whose two listings share no language (translations included): the cases
/// only meaning can connect. Queries left with no such judgement are dropped.
fn cross_language_qrels<'a>(
    listings: &[Value],
    qrels: &BTreeMap<&'a str, Qrels>,
) -> BTreeMap<&'a str, Qrels> {
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

/// Metrics per direction and ranker, and hard-constraint violations in any top-100.
fn score(
    queries: &[&PreparedQuery],
    qrels: &BTreeMap<&str, Qrels>,
    weights: &Weights,
    now: Timestamp,
) -> (Report, usize) {
    let mut report = Report::new();
    let mut violations = 0;
    for (direction, _) in DIRECTIONS {
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
        for (name, ranker) in RANKERS {
            let mut run = Run::new();
            for query in &in_direction {
                let Prepared {
                    query: side,
                    candidates,
                    seqs: _,
                    similarities,
                    meaning_only,
                    stats,
                } = &query.prepared;
                let ranked = rank(
                    side,
                    candidates,
                    similarities,
                    meaning_only,
                    stats,
                    weights,
                    now,
                    ranker,
                    100,
                );
                let mut results = Vec::with_capacity(ranked.len());
                for (position, found) in ranked.iter().enumerate() {
                    let candidate: &Listing = &candidates[found.candidate_idx].listing;
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
    }
    (report, violations)
}

/// Coordinate ascent on the dev split: each weight in turn is scaled by a few factors and kept where
/// the mean nDCG@10 of the reciprocal ranker over both directions is best; four rounds.
fn tune_weights(
    prepared: &[PreparedQuery],
    qrels: &BTreeMap<&str, Qrels>,
    start: Weights,
    now: Timestamp,
) -> Weights {
    let dev: Vec<&PreparedQuery> = prepared
        .iter()
        .filter(|query| query.split == "dev")
        .collect();
    let objective = |weights: &Weights| {
        let (report, _) = score(&dev, qrels, weights, now);
        report
            .values()
            .map(|rankers| rankers["reciprocal"].ndcg_at_10)
            .sum::<f64>()
            / report.len().max(1) as f64
    };
    let mut best = start;
    let mut best_value = objective(&best);
    for _round in 0..4 {
        for signal_idx in 0..7 {
            for factor in [0.0, 0.25, 0.5, 0.75, 1.25, 1.5, 2.0, 3.0] {
                let mut candidate = best;
                let slot = match signal_idx {
                    0 => &mut candidate.text,
                    1 => &mut candidate.technology,
                    2 => &mut candidate.keywords,
                    3 => &mut candidate.sector,
                    4 => &mut candidate.readiness,
                    5 => &mut candidate.partner,
                    _ => &mut candidate.freshness,
                };
                *slot = (*slot * factor).max(if factor == 0.0 { 0.0 } else { 0.01 });
                if candidate.total() <= 0.0 {
                    continue;
                }
                let value = objective(&candidate);
                if value > best_value + 1e-6 {
                    best = candidate;
                    best_value = value;
                }
            }
        }
    }
    // How meaning enters the text signal, when there are embeddings.
    if prepared
        .iter()
        .any(|query| !query.prepared.similarities.is_empty())
    {
        for _round in 0..2 {
            for floor in [0.70, 0.75, 0.78, 0.80, 0.82, 0.84, 0.86, 0.88] {
                for share in [0.0, 0.25, 0.5, 0.75, 1.0] {
                    let mut candidate = best;
                    candidate.meaning.floor = floor;
                    candidate.meaning.share = share;
                    let value = objective(&candidate);
                    if value > best_value + 1e-6 {
                        best = candidate;
                        best_value = value;
                    }
                }
            }
        }
    }
    eprintln!("tuned: dev mean nDCG@10 (reciprocal) {best_value:.4}");
    best
}

fn read_queries(path: &Path) -> anyhow::Result<Vec<Query>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut queries = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('\t').collect();
        let direction = match parts.first().copied() {
            Some("need_to_offer") => "need_to_offer",
            Some("offer_to_need") => "offer_to_need",
            _ => bail!(
                "{}:{}: the first column must be need_to_offer or offer_to_need",
                path.display(),
                idx + 1
            ),
        };
        let (Some(external_id), Some(split)) = (parts.get(1), parts.get(2)) else {
            bail!(
                "{}:{}: expected direction, query external id and split",
                path.display(),
                idx + 1
            );
        };
        if !matches!(*split, "dev" | "test") {
            bail!(
                "{}:{}: split must be dev or test; got `{split}`",
                path.display(),
                idx + 1
            );
        }
        queries.push(Query {
            direction,
            external_id: external_id.to_string(),
            split: split.to_string(),
        });
    }
    if queries.is_empty() {
        bail!("{} lists no queries", path.display());
    }
    Ok(queries)
}
