//! `silkmatch eval text`: retrieval quality on a public test collection, through the same analysis
//! and query path as user searches. The collection is indexed into a temporary data directory.

use std::collections::BTreeMap;
use std::io::{BufRead, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Deserialize;
use silkmatch_core::fusion::FusionWeights;
use silkmatch_core::metrics::{Qrels, Run, evaluate};
use silkmatch_core::{
    Contact, Cooperation, Country, Ipr, Kind, LanguageTag, ListingBody, Organisation,
    OrganisationKind, Status, TechnologyField, Trl, Validated, detect_language,
};
use silkmatch_embed::Embedder;
use silkmatch_index::{Engine, IndexCommit, Owner, SearchRequest, TextMode, Write};

use super::{Mode, Split, dense, sweep};

#[derive(Deserialize)]
struct CollectionDoc {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    language: Option<String>,
}

#[derive(Deserialize)]
struct CollectionQuery {
    id: String,
    text: String,
    language: Option<String>,
}

/// How `eval text` runs.
pub struct Options {
    /// Which ranking; `None`: what search uses (hybrid with an installed model, else lexical).
    pub mode: Option<Mode>,
    /// Which queries are scored (all are run).
    pub split: Split,
    /// Print JSON.
    pub json: bool,
    /// Also write the TREC run here.
    pub run: Option<PathBuf>,
    /// Hybrid only: fusion constants to try instead of the shipped ones (tuning).
    pub fusion: Option<FusionWeights>,
    /// Hybrid only: write both rankings of every query here, for `eval fusion-sweep`.
    pub save_lists: Option<PathBuf>,
}

/// Runs `eval text` with one retrieval mode.
pub fn run(data: &Path, collection: &Path, options: &Options) -> anyhow::Result<ExitCode> {
    let docs: Vec<CollectionDoc> = read_jsonl(&collection.join("docs.jsonl"))?;
    let queries: Vec<CollectionQuery> = read_jsonl(&collection.join("queries.jsonl"))?;
    let qrels = read_qrels(&collection.join("qrels.tsv"))?;
    if docs.is_empty() || queries.is_empty() {
        bail!("{} has no documents or no queries", collection.display());
    }
    let mode = options.mode.unwrap_or_else(|| default_mode(data));
    let tuning = options.fusion.is_some() || options.save_lists.is_some();
    let results = if mode == Mode::Hybrid && tuning {
        tuning_hybrid(data, collection, &docs, &queries, &qrels, options)?
    } else {
        through_search(data, &docs, &queries, mode)?
    };
    if let Some(path) = &options.run {
        std::fs::write(path, trec(&results))
            .with_context(|| format!("cannot write the run to {}", path.display()))?;
    }
    let qrels = split_qrels(&qrels, queries.iter().map(|q| q.id.as_str()), options.split);
    let metrics = evaluate(&qrels, &results);
    let r1 = dense::recall_at_1(&qrels, &results);
    if options.json {
        let mut value = serde_json::to_value(metrics)?;
        value["r@1"] = r1.into();
        value["mode"] = mode.name().into();
        value["split"] = options.split.name().into();
        println!("{}", serde_json::to_string(&value)?);
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "collection  {}", collection.display())?;
        writeln!(out, "mode        {}", mode.name())?;
        writeln!(out, "split       {}", options.split.name())?;
        writeln!(out, "R@1         {r1:.4}")?;
        writeln!(out, "nDCG@10     {:.4}", metrics.ndcg_at_10)?;
        writeln!(out, "Recall@100  {:.4}", metrics.recall_at_100)?;
        writeln!(out, "MRR@10      {:.4}", metrics.mrr_at_10)?;
        writeln!(out, "queries     {}", metrics.queries)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The judgements of the queries of `split` (positions in queries.jsonl order).
pub(super) fn split_qrels<'a>(
    qrels: &Qrels,
    query_ids: impl Iterator<Item = &'a str>,
    split: Split,
) -> Qrels {
    query_ids
        .enumerate()
        .filter(|(position, _)| split.holds_position(*position))
        .filter_map(|(_, id)| qrels.get_key_value(id))
        .map(|(id, judged)| (id.clone(), judged.clone()))
        .collect()
}

/// Each document's language: its `language`, else English (the convention of the collections,
/// and what [`as_listing`] indexes it as).
fn docs_languages(docs: &[CollectionDoc]) -> Vec<(String, LanguageTag)> {
    docs.iter()
        .map(|doc| (doc.id.clone(), doc_language(doc)))
        .collect()
}

fn doc_language(doc: &CollectionDoc) -> LanguageTag {
    doc.language
        .as_deref()
        .and_then(LanguageTag::new)
        .unwrap_or_else(|| LanguageTag::new("en").expect("en is a tag"))
}

/// Each query's language: its `language`, else what `detect_language` says (as live search will);
/// `None` when neither tells.
fn queries_languages(queries: &[CollectionQuery]) -> Vec<(String, Option<LanguageTag>)> {
    queries
        .iter()
        .map(|q| {
            let declared = q.language.as_deref().and_then(LanguageTag::new);
            (q.id.clone(), declared.or_else(|| detect_language(&q.text)))
        })
        .collect()
}

/// What `eval text` measures without `--mode`: what search gives users with this data directory.
fn default_mode(data: &Path) -> Mode {
    if silkmatch_embed::status(data).installed {
        Mode::Hybrid
    } else {
        eprintln!(
            "note: no embedding model in {}: evaluating lexical search (run `silkmatch model fetch` for hybrid)",
            data.display()
        );
        Mode::Lexical
    }
}

/// The search path users take: the collection indexed into a temporary data directory (and, for
/// dense and hybrid, embedded by the catch-up pass through the model in front of the vector cache
/// of `data`), each query run through `Engine::search`. Scores have the rank folded in so ties keep
/// our order under trec_eval's rules.
fn through_search(
    data: &Path,
    docs: &[CollectionDoc],
    queries: &[CollectionQuery],
    mode: Mode,
) -> anyhow::Result<Run> {
    let scratch = tempfile::tempdir().context("cannot create a temporary data directory")?;
    let engine = Engine::open(scratch.path())?;
    let now = crate::now();
    for chunk in docs.chunks(5_000) {
        let writes = chunk
            .iter()
            .map(|doc| Write::Upsert {
                owner: Owner::FromListing,
                validated: as_listing(doc),
            })
            .collect();
        for outcome in engine.write(writes, now, IndexCommit::Later)? {
            outcome?;
        }
    }
    engine.commit_index()?;
    let text_mode = match mode {
        Mode::Lexical => TextMode::Lexical,
        Mode::Dense => TextMode::Dense,
        Mode::Hybrid => TextMode::Hybrid,
    };
    if text_mode != TextMode::Lexical {
        let embedder = Arc::new(crate::meaning::CachedEmbedder::load(data)?);
        crate::meaning::embed_with_bar(&engine, &*embedder, None)?;
        engine.set_embedder(embedder);
    }
    let bar = crate::progress::bar("searching");
    bar.set_length(queries.len() as u64);
    let mut results = Run::new();
    for query in queries {
        let request = SearchRequest {
            text: query.text.clone(),
            limit: dense::DEPTH,
            facets: false,
            snippets: false,
            mode: text_mode,
            ..SearchRequest::default()
        };
        let hits = engine.search(&request, now)?.hits;
        let ranked = hits
            .into_iter()
            .enumerate()
            .map(|(rank, hit)| {
                let doc = hit.listing.body.external_id.unwrap_or_default();
                (doc, f64::from(hit.score) - rank as f64 * 1e-6)
            })
            .collect();
        results.insert(query.id.clone(), ranked);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(results)
}

/// Hybrid with other fusion constants, or saving both rankings for `eval fusion-sweep`: the fusion
/// of `silkmatch_core::fusion` over the lexical ranking of `Engine::search` and exact cosines of
/// the collection's own vectors, so a sweep can re-fuse the same two lists at every grid point.
fn tuning_hybrid(
    data: &Path,
    collection: &Path,
    docs: &[CollectionDoc],
    queries: &[CollectionQuery],
    qrels: &Qrels,
    options: &Options,
) -> anyhow::Result<Run> {
    let lexical = through_search(data, docs, queries, Mode::Lexical)?;
    let vectors = Vectors::new(data, docs, queries)?;
    // The dense list: the cosine top 100, then the exact cosine of each lexical hit outside it (as
    // search does, having every listing's vector), so a lexical hit the dense top 100 missed is
    // fused with its real cosine rather than with none.
    let dense: Run = queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut ranked = vectors.top(i);
            let empty = Vec::new();
            ranked.extend(vectors.cosines(i, lexical.get(&q.id).unwrap_or(&empty), &ranked));
            (q.id.clone(), ranked)
        })
        .collect();
    let lists = sweep::Lists::new(
        collection,
        &docs_languages(docs),
        &queries_languages(queries),
        &lexical,
        &dense,
        qrels,
    );
    if let Some(path) = &options.save_lists {
        lists.save(path)?;
    }
    Ok(lists.fused(&options.fusion.unwrap_or_default()))
}

/// multilingual-e5-small's vectors of a collection (`passage: ` documents, `query: ` queries).
struct Vectors {
    ids: Vec<String>,
    index: std::collections::HashMap<String, usize>,
    docs: Vec<silkmatch_embed::Embedding>,
    queries: Vec<silkmatch_embed::Embedding>,
}

impl Vectors {
    fn new(
        data: &Path,
        docs: &[CollectionDoc],
        queries: &[CollectionQuery],
    ) -> anyhow::Result<Vectors> {
        let embedder = Embedder::load(&silkmatch_embed::model_dir(data))?;
        let passages: Vec<String> = docs
            .iter()
            .map(|d| dense::passage(&d.title, &d.text))
            .collect();
        let doc_vectors = dense::doc_embeddings(&embedder, data, &passages)?;
        let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
        let query_vectors = embedder.embed_queries(&texts)?;
        Ok(Vectors {
            ids,
            index,
            docs: doc_vectors,
            queries: query_vectors,
        })
    }

    /// Exact cosine search: the top [`dense::DEPTH`] of query `i`, best first.
    fn top(&self, i: usize) -> Vec<(String, f64)> {
        dense::exact_top(&self.queries[i], &self.docs, &self.ids)
    }

    /// The cosines of query `i` with the `hits` not already in `ranked`, best first.
    fn cosines(
        &self,
        i: usize,
        hits: &[(String, f64)],
        ranked: &[(String, f64)],
    ) -> Vec<(String, f64)> {
        let known: std::collections::HashSet<&str> =
            ranked.iter().map(|(d, _)| d.as_str()).collect();
        let mut extra: Vec<(String, f64)> = hits
            .iter()
            .filter(|(d, _)| !known.contains(d.as_str()))
            .filter_map(|(d, _)| {
                let doc = self.index.get(d)?;
                let cosine = silkmatch_embed::cosine(&self.queries[i], &self.docs[*doc]);
                Some((d.clone(), f64::from(cosine)))
            })
            .collect();
        extra.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        extra
    }
}

/// The run in TREC format (for ../shared/eval/score.py).
fn trec(results: &Run) -> String {
    let mut out = String::new();
    for (query, ranked) in results {
        for (rank, (doc, score)) in ranked.iter().enumerate() {
            out.push_str(&format!(
                "{query} Q0 {doc} {} {score:.9} silkmatch\n",
                rank + 1
            ));
        }
    }
    out
}

/// A collection document as a published offer. Validation limits do not apply: the point is to score
/// text relevance on the collection as it is, so the text goes in whole.
fn as_listing(doc: &CollectionDoc) -> Validated {
    let language = doc_language(doc);
    let body = ListingBody {
        kind: Kind::Offer,
        external_id: Some(doc.id.clone()),
        language,
        language_detected: false,
        title: doc.title.clone(),
        summary: String::new(),
        description: Some(doc.text.clone()),
        advantages: None,
        requirements: None,
        partner_sought: None,
        translations: BTreeMap::new(),
        keywords: Vec::new(),
        technology_fields: vec![TechnologyField::new(1).expect("valid field")],
        sectors: Vec::new(),
        sdgs: Vec::new(),
        trl: Trl::new(5),
        trl_min: None,
        ipr: Some(Ipr::None),
        patents: Vec::new(),
        cooperation: [Cooperation::Licence].into(),
        organisation: Organisation {
            name: "evaluation collection".into(),
            kind: OrganisationKind::Other,
            size: None,
            country: Country::new("US").expect("valid"),
        },
        target_countries: Vec::new(),
        budget: None,
        price_negotiable: None,
        contact: Some(Contact {
            name: "evaluation".into(),
            email: "eval@example.org".into(),
            phone: None,
        }),
    };
    Validated {
        body,
        status: Some(Status::Published),
    }
}

pub(super) fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Vec<T>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut out = Vec::new();
    for (idx, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{}:{}: not a valid record", path.display(), idx + 1))?,
        );
    }
    Ok(out)
}

pub(super) fn read_qrels(path: &Path) -> anyhow::Result<Qrels> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut qrels = Qrels::new();
    for (idx, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (query, doc, gain) = match parts.as_slice() {
            [] => continue,
            [query, doc, gain] | [query, _, doc, gain] => (query, doc, gain),
            _ => bail!("{}:{}: expected `query doc gain`", path.display(), idx + 1),
        };
        let gain: f64 = gain.parse().with_context(|| {
            format!(
                "{}:{}: gain `{gain}` is not a number",
                path.display(),
                idx + 1
            )
        })?;
        qrels
            .entry(query.to_string())
            .or_default()
            .insert(doc.to_string(), gain);
    }
    Ok(qrels)
}
