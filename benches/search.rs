//! Criterion benches of search and import, silkmatch side by side with bare tantivy on the same
//! input.
//!
//! `cargo bench -p silkmatch-cli --bench search` (about two minutes). Setup, done once outside the
//! timed part: 20 000 generated listings (seed 1, 10 000 offers and 10 000 needs) imported into an
//! `Engine` in a temporary directory and indexed by the bare tantivy baseline (`common`).
//!
//! Groups (one iteration runs a whole list of queries, so per-query time is the estimate divided by
//! the list length; criterion prints it as throughput):
//! - `search_1_term`, `search_2_terms`, `search_5_terms`, `search_2_terms_filtered`: English
//!   queries drawn from the corpus' titles. `bare_tantivy` is top 20 by BM25 plus a count;
//!   `silkmatch` is `Engine::search` without facets or snippets (top 20 read back from the store,
//!   plus a count); `silkmatch_facets_snippets` is the full public search, for what facets and
//!   snippets cost.
//! - `search_zh_ru`: Chinese and Russian subject names, silkmatch only (the baseline's `en_stem`
//!   cannot segment Chinese or stem Russian, so there is nothing fair to set beside it).
//! - `match_need`: ranking offers for 32 stored needs; `bare_tantivy` is BM25 top 20 of the 32
//!   terms silkmatch's candidate generation chose for each; `silkmatch_warm` is `matches_for` (k 20,
//!   100 candidates, explanations) with the candidates' prepared sides cached from earlier requests,
//!   `silkmatch_cold` the same with that cache emptied before each iteration.
//! - `import_2k`: 2 000 listings from JSON into a fresh directory: silkmatch validates, writes the
//!   SQLite store and the index and commits; the baseline extracts the text and indexes it.
//!
//! Every search asserts inside the timed loop that it found something, so a fast wrong answer
//! cannot win. Ratios are computed from `target/criterion/<group>/<contender>/new/estimates.json`
//! (see docs/benchmarks.md).

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{BareDoc, BareSearch, QueryCase, QuerySource};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use silkmatch_fixtures::{GeneratorConfig, Language, generate, subjects};
use silkmatch_index::{Engine, SearchRequest};
use tempfile::TempDir;

/// Offers (and as many needs) in the searched corpus.
const N_OFFERS: usize = 10_000;
/// Queries per list; one criterion iteration runs them all.
const N_QUERIES: usize = 64;
/// Listings of the import group.
const N_IMPORT: usize = 2_000;
/// Seed of the corpus and of the query draws.
const SEED: u64 = 1;

/// The searched corpus in both contenders.
struct Corpus {
    /// Owns the engine's and the baseline's directories.
    _dir: TempDir,
    engine: Engine,
    bare: BareSearch,
    /// Listings with an English title, for drawing queries.
    query_sources: Vec<QuerySource>,
}

fn build_corpus() -> Corpus {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let engine = Engine::open(&dir.path().join("silkmatch")).expect("the engine opens");
    let (bare_index, mut bare_writer, bare_fields) = common::bare_create(&dir.path().join("bare"));
    let mut query_sources = Vec::new();
    let mut chunk: Vec<Value> = Vec::with_capacity(common::BATCH);
    let mut n_listings = 0;
    let config = GeneratorConfig {
        offers: N_OFFERS,
        needs: N_OFFERS,
        seed: SEED,
    };
    let mut listings = generate(&config).peekable();
    while listings.peek().is_some() {
        chunk.extend(listings.by_ref().take(common::BATCH));
        for listing in &chunk {
            common::bare_add(&bare_writer, &bare_fields, &common::bare_doc(listing));
            query_sources.extend(common::query_source(listing));
        }
        let drafts = chunk
            .drain(..)
            .map(|value| {
                silkmatch_core::draft_from_value(value)
                    .expect("a generated listing reads as a draft")
            })
            .collect();
        n_listings += common::write_batch(&engine, drafts);
    }
    engine.commit_index().expect("the index commits");
    bare_writer.commit().expect("the bare index commits");
    // Let background merges finish on both sides, so they neither steal CPU from the timed searches
    // nor leave one side with more segments than the other by chance.
    let silkmatch_dir = engine.dir().to_owned();
    engine.close().expect("merges finish");
    let engine = Engine::open(&silkmatch_dir).expect("the engine reopens");
    bare_writer
        .wait_merging_threads()
        .expect("bare merges finish");
    let bare = BareSearch::open(&bare_index, bare_fields);
    eprintln!(
        "corpus: {n_listings} listings, {} with an English title; silkmatch {} segments, bare tantivy {} segments",
        query_sources.len(),
        engine
            .stats(common::search_time())
            .expect("stats")
            .index_segments,
        bare.searcher.segment_readers().len()
    );
    Corpus {
        _dir: dir,
        engine,
        bare,
        query_sources,
    }
}

/// The side-by-side search groups on English queries.
fn bench_english_search(c: &mut Criterion, corpus: &mut Corpus) {
    let groups: [(&str, usize, bool); 4] = [
        ("search_1_term", 1, false),
        ("search_2_terms", 2, false),
        ("search_5_terms", 5, false),
        ("search_2_terms_filtered", 2, true),
    ];
    for (group_name, n_terms, filtered) in groups {
        let cases: Vec<QueryCase> = common::sample_queries(
            &corpus.query_sources,
            n_terms,
            N_QUERIES,
            SEED,
            &mut corpus.bare.analyzer,
        );
        let like_for_like: Vec<SearchRequest> = cases
            .iter()
            .map(|case| common::silkmatch_request(case, filtered, false))
            .collect();
        let full: Vec<SearchRequest> = cases
            .iter()
            .map(|case| common::silkmatch_request(case, filtered, true))
            .collect();
        report_matches(group_name, corpus, &cases, &like_for_like, filtered);

        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(cases.len() as u64));
        let bare = &mut corpus.bare;
        group.bench_function("bare_tantivy", |b| {
            b.iter(|| {
                for case in &cases {
                    black_box(bare.search(black_box(case), filtered));
                }
            })
        });
        let engine = &corpus.engine;
        group.bench_function("silkmatch", |b| {
            b.iter(|| {
                for request in &like_for_like {
                    black_box(common::silkmatch_search(engine, black_box(request)));
                }
            })
        });
        group.bench_function("silkmatch_facets_snippets", |b| {
            b.iter(|| {
                for request in &full {
                    black_box(common::silkmatch_search(engine, black_box(request)));
                }
            })
        });
        group.finish();
    }
}

/// Prints how many matches each contender finds per query (outside the timed part), so the reader
/// can see both do comparable work: silkmatch also searches keywords and translations' own-language
/// text.
fn report_matches(
    group_name: &str,
    corpus: &mut Corpus,
    cases: &[QueryCase],
    requests: &[SearchRequest],
    filtered: bool,
) {
    let mut bare_total = 0;
    let mut silkmatch_total = 0;
    for (case, request) in cases.iter().zip(requests) {
        bare_total += corpus.bare.search(case, filtered).1;
        silkmatch_total += common::silkmatch_search(&corpus.engine, request).1;
    }
    let n_cases = cases.len().max(1);
    eprintln!(
        "{group_name}: {} queries, e.g. {:?}; mean matches per query: bare tantivy {}, silkmatch {}",
        cases.len(),
        cases
            .first()
            .map(|case| case.text.as_str())
            .unwrap_or_default(),
        bare_total / n_cases,
        silkmatch_total / n_cases
    );
}

/// Chinese and Russian queries: the subject names of the concept model, silkmatch only.
fn bench_zh_ru_search(c: &mut Criterion, corpus: &Corpus) {
    let mut candidates: Vec<&str> = Vec::new();
    for subject in subjects() {
        for language in [Language::Chinese, Language::Russian] {
            candidates.push(subject.phrases(language).name);
        }
    }
    let mut rng = common::SplitMix64::new(SEED);
    let mut requests: Vec<SearchRequest> = Vec::new();
    // Draw in a fixed order and keep names some listing of this corpus uses (a 20 000 listing
    // corpus need not mention every subject in both languages).
    while requests.len() < N_QUERIES && !candidates.is_empty() {
        let text = candidates.swap_remove(rng.below(candidates.len()));
        let request = SearchRequest {
            text: text.to_owned(),
            limit: common::LIMIT,
            facets: false,
            snippets: false,
            ..Default::default()
        };
        if corpus
            .engine
            .search(&request, common::search_time())
            .map(|results| !results.hits.is_empty())
            .unwrap_or(false)
        {
            requests.push(request);
        }
    }
    eprintln!(
        "search_zh_ru: {} queries, e.g. {:?}",
        requests.len(),
        requests
            .first()
            .map(|request| request.text.as_str())
            .unwrap_or_default()
    );
    let mut group = c.benchmark_group("search_zh_ru");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("silkmatch", |b| {
        b.iter(|| {
            for request in &requests {
                black_box(common::silkmatch_search(&corpus.engine, black_box(request)));
            }
        })
    });
    group.finish();
}

/// Needs of the match group.
const N_MATCH_NEEDS: usize = 32;

/// Ranking offers for stored needs: the bare baseline runs BM25 of the 32 terms silkmatch's candidate
/// generation chose (as `match_scale` does, top 20); silkmatch runs `matches_for` (k 20, 100
/// candidates, explanations) warm (the needs asked before, candidates' prepared sides cached) and
/// cold (the cache emptied before each iteration over the needs, outside the timing).
fn bench_matching(c: &mut Criterion, corpus: &Corpus) {
    let now = common::search_time();
    let engine = &corpus.engine;
    let request = silkmatch_index::MatchRequest {
        k: 20,
        ..Default::default()
    };
    let candidates: Vec<silkmatch_core::Listing> = generate(&GeneratorConfig {
        offers: N_OFFERS,
        needs: N_OFFERS,
        seed: SEED,
    })
    .filter(|listing| listing["kind"] == "need")
    .step_by(N_OFFERS / (4 * N_MATCH_NEEDS))
    .map(|listing| {
        let external_id = listing["external_id"].as_str().expect("an external id");
        engine.resolve(external_id).expect("the need is stored")
    })
    .collect();
    // Needs whose constraints leave offers to rank (a few rule out every offer of this corpus), and
    // for each, BM25 of its selected terms on the bare index.
    let mut needs = Vec::with_capacity(N_MATCH_NEEDS);
    let mut bare_queries: Vec<tantivy::query::BooleanQuery> = Vec::with_capacity(N_MATCH_NEEDS);
    for need in candidates {
        if needs.len() == N_MATCH_NEEDS {
            break;
        }
        let results = engine
            .matches_for(&need, &request, now)
            .expect("matching succeeds");
        if results.matches.is_empty() {
            continue;
        }
        let clauses = results
            .query_terms
            .iter()
            .map(|term| {
                let query: Box<dyn tantivy::query::Query> =
                    Box::new(tantivy::query::TermQuery::new(
                        tantivy::Term::from_field_text(corpus.bare.fields.text, &term.term),
                        tantivy::schema::IndexRecordOption::WithFreqs,
                    ));
                (tantivy::query::Occur::Should, query)
            })
            .collect();
        bare_queries.push(tantivy::query::BooleanQuery::new(clauses));
        needs.push(need);
    }
    assert_eq!(needs.len(), N_MATCH_NEEDS, "enough needs find offers");
    let mut group = c.benchmark_group("match_need");
    group.throughput(Throughput::Elements(needs.len() as u64));
    group.bench_function("bare_tantivy", |b| {
        b.iter(|| {
            for query in &bare_queries {
                let top = corpus
                    .bare
                    .searcher
                    .search(
                        query,
                        &tantivy::collector::TopDocs::with_limit(20).order_by_score(),
                    )
                    .expect("the bare query runs");
                black_box(top);
            }
        })
    });
    let rank_all = || {
        for need in &needs {
            let results = engine
                .matches_for(black_box(need), &request, now)
                .expect("matching succeeds");
            assert!(!results.matches.is_empty());
            black_box(results);
        }
    };
    group.bench_function("silkmatch_warm", |b| b.iter(rank_all));
    group.bench_function("silkmatch_cold", |b| {
        b.iter_batched(
            || engine.clear_caches(),
            |()| rank_all(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Import of 2 000 listings into a fresh directory, per contender.
fn bench_import(c: &mut Criterion) {
    let listings: Vec<Value> = generate(&GeneratorConfig {
        offers: N_IMPORT / 2,
        needs: N_IMPORT / 2,
        seed: SEED,
    })
    .collect();
    let mut group = c.benchmark_group("import_2k");
    group.throughput(Throughput::Elements(listings.len() as u64));
    // An iteration takes a good fraction of a second: ten samples of one iteration each, not
    // criterion's 55+ iterations of linear sampling.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("bare_tantivy", |b| {
        b.iter_batched(
            || {
                (
                    tempfile::tempdir().expect("a temporary directory"),
                    listings.clone(),
                )
            },
            |(dir, listings)| {
                let (index, mut writer, fields) = common::bare_create(dir.path());
                for listing in &listings {
                    let doc: BareDoc = common::bare_doc(listing);
                    common::bare_add(&writer, &fields, &doc);
                }
                writer.commit().expect("the bare index commits");
                let reader: tantivy::IndexReader = index
                    .reader_builder()
                    .reload_policy(tantivy::ReloadPolicy::Manual)
                    .try_into()
                    .expect("the bare reader opens");
                let n_docs = reader.searcher().num_docs();
                assert_eq!(n_docs, listings.len() as u64);
                // Dropping the writer joins its threads and the directory deletes files: not timed.
                (dir, index, writer)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("silkmatch", |b| {
        b.iter_batched(
            || {
                (
                    tempfile::tempdir().expect("a temporary directory"),
                    listings.clone(),
                )
            },
            |(dir, listings)| {
                let n_listings = listings.len();
                let engine = Engine::open(dir.path()).expect("the engine opens");
                let n_imported = common::import_values(&engine, listings);
                assert_eq!(n_imported, n_listings);
                (dir, engine)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let mut corpus = build_corpus();
    bench_english_search(c, &mut corpus);
    bench_zh_ru_search(c, &corpus);
    bench_matching(c, &corpus);
    drop(corpus);
    bench_import(c);
}

criterion_group! {
    name = search;
    // Short runs keep the whole bench near two minutes; each estimate still rests on 20 samples.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = benches
}
criterion_main!(search);
