//! What the benches share: importing generated listings into an `Engine`, the bare tantivy baseline
//! built from the same text, the English queries both contenders answer, and latency statistics.
//!
//! The baseline is deliberately what someone would write in an afternoon with tantivy alone: one
//! text field analysed by tantivy's own `en_stem`, two filter fields, a disjunction of term
//! queries. It is given the same text silkmatch indexes, the same writer threads and memory, and
//! asked to count its matches like silkmatch does, so a ratio between the two measures what
//! silkmatch adds.

// Each bench includes this file and uses a different part of it.
#![allow(dead_code)]

use std::path::Path;

use rayon::prelude::*;
use serde_json::Value;
use silkmatch_core::{Country, TechnologyField, Timestamp, Validated, draft_from_value, validate};
use silkmatch_index::{
    AnalysedText, Analysis, Engine, Filters, IndexCommit, Owner, SearchRequest, Write, Written,
    analyse_query,
};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, TantivyDocument,
    Term,
};

/// The allocator the `silkmatch` binary ships with (`crates/cli/src/main.rs`), so the benches time
/// what users run; the bare tantivy baselines get it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Listings per `Engine::write` call, as `silkmatch import` writes them.
pub const BATCH: usize = 2_000;

/// Hits asked for per search, by both contenders.
pub const LIMIT: usize = 20;

/// Memory of the bare tantivy writer: the same arena silkmatch's writer gets.
pub const WRITER_MEMORY_BYTES: usize = 192 * 1024 * 1024;

/// The instant listings are imported at (2026-01-01T00:00:00Z). Publication lasts a year from here.
pub fn import_time() -> Timestamp {
    Timestamp::from_unix(1_767_225_600)
}

/// The instant searches run at: a day after the import, so every listing is published and
/// unexpired.
pub fn search_time() -> Timestamp {
    import_time().plus_days(1)
}

/// Writer threads: the same rule silkmatch's index uses (`available_parallelism` clamped to 1..=4).
pub fn writer_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

// ---------------------------------------------------------------------------------------------
// silkmatch

/// Validates drafts in parallel (as `silkmatch import` does) and writes them as one batch, staged
/// in the index but not committed. Panics on any invalid listing or failed write: the generator's
/// output is valid, so either means the bench no longer measures what it says.
pub fn write_batch(engine: &Engine, drafts: Vec<silkmatch_core::Draft>) -> usize {
    let validated: Vec<Validated> = drafts
        .into_par_iter()
        .map(|draft| {
            validate(&draft)
                .unwrap_or_else(|problems| panic!("a generated listing is invalid: {problems:?}"))
        })
        .collect();
    let writes = validated
        .into_iter()
        .map(|validated| Write::Upsert {
            owner: Owner::FromListing,
            validated,
        })
        .collect();
    let outcomes = engine
        .write(writes, import_time(), IndexCommit::Later)
        .expect("the store accepts the batch");
    let n_created = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Written::Created(_))))
        .count();
    assert_eq!(
        n_created,
        outcomes.len(),
        "every generated listing is new: {:?}",
        outcomes.iter().find(|outcome| outcome.is_err())
    );
    n_created
}

/// Imports JSON listings into `engine` in batches of `BATCH`, then commits the index once.
pub fn import_values(engine: &Engine, values: impl IntoIterator<Item = Value>) -> usize {
    let mut n_imported = 0;
    let mut chunk: Vec<Value> = Vec::with_capacity(BATCH);
    let mut flush = |chunk: &mut Vec<Value>| {
        let drafts = chunk
            .drain(..)
            .map(|value| draft_from_value(value).expect("a generated listing reads as a draft"))
            .collect();
        n_imported += write_batch(engine, drafts);
    };
    for value in values {
        chunk.push(value);
        if chunk.len() == BATCH {
            flush(&mut chunk);
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk);
    }
    engine.commit_index().expect("the index commits");
    n_imported
}

/// What silkmatch is asked for a query. `facets_and_snippets` off is the like-for-like comparison
/// with the baseline (top 20 and a count); on, it is the full public search.
pub fn silkmatch_request(
    case: &QueryCase,
    filtered: bool,
    facets_and_snippets: bool,
) -> SearchRequest {
    let filters = if filtered {
        Filters {
            countries: vec![Country::new(&case.country).expect("a generated country is valid")],
            technology_fields: vec![
                TechnologyField::new(case.technology_field).expect("a generated field is valid"),
            ],
            ..Default::default()
        }
    } else {
        Filters::default()
    };
    SearchRequest {
        text: case.text.clone(),
        filters,
        limit: LIMIT,
        facets: facets_and_snippets,
        snippets: facets_and_snippets,
        ..Default::default()
    }
}

/// Runs one silkmatch search and returns (hits, total matches); panics when nothing is found.
pub fn silkmatch_search(engine: &Engine, request: &SearchRequest) -> (usize, usize) {
    let results = engine
        .search(request, search_time())
        .expect("search succeeds");
    assert!(
        !results.hits.is_empty(),
        "silkmatch found nothing for {:?}",
        request.text
    );
    (results.hits.len(), results.total)
}

// ---------------------------------------------------------------------------------------------
// The bare tantivy baseline

/// A listing as the baseline indexes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BareDoc {
    /// Every text silkmatch indexes, one per line.
    pub text: String,
    /// The organisation's country, packed like silkmatch packs it.
    pub country: u64,
    /// WIPO fields.
    pub technology_fields: Vec<u64>,
}

/// The same text silkmatch puts in its index: title, summary, description, advantages,
/// requirements, partner sought, keywords, and the title, summary and description of every
/// translation.
pub fn bare_doc(listing: &Value) -> BareDoc {
    let mut texts: Vec<&str> = Vec::new();
    for field in [
        "title",
        "summary",
        "description",
        "advantages",
        "requirements",
        "partner_sought",
    ] {
        texts.extend(listing[field].as_str());
    }
    if let Some(keywords) = listing["keywords"].as_array() {
        texts.extend(keywords.iter().filter_map(Value::as_str));
    }
    if let Some(translations) = listing["translations"].as_object() {
        for translation in translations.values() {
            for field in ["title", "summary", "description"] {
                texts.extend(translation[field].as_str());
            }
        }
    }
    BareDoc {
        text: texts.join("\n"),
        country: pack(
            listing["organisation"]["country"]
                .as_str()
                .expect("a generated listing names its country"),
        ),
        technology_fields: listing["technology_fields"]
            .as_array()
            .map(|fields| fields.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default(),
    }
}

/// Packs a short ASCII code into a `u64`, as silkmatch's schema does.
pub fn pack(code: &str) -> u64 {
    code.bytes()
        .take(8)
        .fold(0u64, |packed, byte| (packed << 8) | u64::from(byte))
}

/// Field handles of the baseline's schema.
#[derive(Debug, Clone, Copy)]
pub struct BareFields {
    /// All text, analysed by `en_stem`.
    pub text: Field,
    /// Packed country.
    pub country: Field,
    /// WIPO fields (multi-valued).
    pub technology_field: Field,
}

/// The baseline's schema. The text keeps term frequencies but no positions, like silkmatch's fields
/// (neither runs phrase queries), so neither side pays for what it does not use.
pub fn bare_schema() -> (Schema, BareFields) {
    let mut builder = Schema::builder();
    let text_options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = BareFields {
        text: builder.add_text_field("text", text_options),
        country: builder.add_u64_field("country", INDEXED | FAST),
        technology_field: builder.add_u64_field("technology_field", INDEXED | FAST),
    };
    (builder.build(), fields)
}

/// Creates an empty baseline index in `dir` and its writer (silkmatch's thread count and memory).
pub fn bare_create(dir: &Path) -> (Index, IndexWriter, BareFields) {
    let (schema, fields) = bare_schema();
    std::fs::create_dir_all(dir).expect("the bare index directory can be created");
    let index = Index::create_in_dir(dir, schema).expect("the bare index can be created");
    let writer = index
        .writer_with_num_threads(writer_threads(), WRITER_MEMORY_BYTES)
        .expect("the bare writer opens");
    (index, writer, fields)
}

/// Adds one listing to the baseline.
pub fn bare_add(writer: &IndexWriter, fields: &BareFields, doc: &BareDoc) {
    let mut document = TantivyDocument::default();
    document.add_text(fields.text, &doc.text);
    document.add_u64(fields.country, doc.country);
    for technology_field in &doc.technology_fields {
        document.add_u64(fields.technology_field, *technology_field);
    }
    writer
        .add_document(document)
        .expect("the bare writer accepts documents");
}

/// A searcher over the baseline, with the analyzer its queries are analysed with.
pub struct BareSearch {
    /// Kept so the searcher's segments stay open.
    pub reader: IndexReader,
    /// The searcher of the last commit.
    pub searcher: Searcher,
    /// Field handles.
    pub fields: BareFields,
    /// `en_stem`, as the index analysed the text.
    pub analyzer: TextAnalyzer,
}

impl BareSearch {
    /// Opens a searcher over a committed baseline index.
    pub fn open(index: &Index, fields: BareFields) -> BareSearch {
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .expect("the bare reader opens");
        let analyzer = index
            .tokenizers()
            .get("en_stem")
            .expect("tantivy registers en_stem");
        BareSearch {
            searcher: reader.searcher(),
            reader,
            fields,
            analyzer,
        }
    }

    /// The query: a disjunction of the analysed terms, and when `filtered`, the listing's country
    /// and technology field as unscored required clauses (how silkmatch applies filters too).
    pub fn query(&mut self, case: &QueryCase, filtered: bool) -> Box<dyn Query> {
        let mut terms: Vec<String> = Vec::new();
        let mut stream = self.analyzer.token_stream(&case.text);
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        terms.sort();
        terms.dedup();
        let should: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|term| {
                (
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.text, term),
                        IndexRecordOption::WithFreqs,
                    )) as Box<dyn Query>,
                )
            })
            .collect();
        let text_query: Box<dyn Query> = Box::new(BooleanQuery::new(should));
        if !filtered {
            return text_query;
        }
        let filter = |field: Field, value: u64| -> Box<dyn Query> {
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_u64(field, value),
                    IndexRecordOption::Basic,
                )),
                0.0,
            ))
        };
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, text_query),
            (
                Occur::Must,
                filter(self.fields.country, pack(&case.country)),
            ),
            (
                Occur::Must,
                filter(
                    self.fields.technology_field,
                    u64::from(case.technology_field),
                ),
            ),
        ]))
    }

    /// Top `LIMIT` by BM25 and the number of matches; panics when nothing is found.
    pub fn search(
        &mut self,
        case: &QueryCase,
        filtered: bool,
    ) -> (Vec<(Score, DocAddress)>, usize) {
        let query = self.query(case, filtered);
        let (top, total) = self
            .searcher
            .search(
                &query,
                &(TopDocs::with_limit(LIMIT).order_by_score(), Count),
            )
            .expect("bare search succeeds");
        assert!(
            !top.is_empty(),
            "bare tantivy found nothing for {:?}",
            case.text
        );
        (top, total)
    }
}

// ---------------------------------------------------------------------------------------------
// Queries

/// A listing queries are drawn from: its English title, its country and first technology field.
#[derive(Debug, Clone)]
pub struct QuerySource {
    /// The title if the listing is in English, otherwise its English translation's title.
    pub english_title: String,
    /// ISO country of the organisation.
    pub country: String,
    /// First WIPO field.
    pub technology_field: u8,
}

/// The query source of a listing with an English title, if it has one.
pub fn query_source(listing: &Value) -> Option<QuerySource> {
    let english_title = if listing["language"] == "en" {
        listing["title"].as_str()
    } else {
        listing["translations"]["en"]["title"].as_str()
    }?;
    Some(QuerySource {
        english_title: english_title.to_owned(),
        country: listing["organisation"]["country"].as_str()?.to_owned(),
        technology_field: u8::try_from(listing["technology_fields"][0].as_u64()?).ok()?,
    })
}

/// One query of a benchmark: text, and the filters used when the query set is filtered.
#[derive(Debug, Clone)]
pub struct QueryCase {
    /// Free text.
    pub text: String,
    /// Country filter (the source listing's).
    pub country: String,
    /// Technology field filter (the source listing's first).
    pub technology_field: u8,
}

/// A small deterministic generator (SplitMix64); benches need reproducible draws, not good ones.
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The words of a title both contenders search on: alphabetic ASCII of three letters or more that
/// `en_stem` turns into one term and silkmatch's query analysis keeps as its English analyzer
/// indexes it (not a stop word or request word), at most one word per `en_stem` stem so no term is
/// asked for twice.
pub fn query_words(title: &str, en_stem: &mut TextAnalyzer) -> Vec<String> {
    let mut stems: Vec<String> = Vec::new();
    let mut words = Vec::new();
    // Split like tantivy's `SimpleTokenizer`, so a word is a whole token of the indexed text.
    for token in title.split(|c: char| !c.is_alphanumeric()) {
        if token.len() < 3 || !token.bytes().all(|byte| byte.is_ascii_alphabetic()) {
            continue;
        }
        let word = token.to_ascii_lowercase();
        let mut bare_terms = Vec::new();
        let mut stream = en_stem.token_stream(&word);
        while stream.advance() {
            bare_terms.push(stream.token().text.clone());
        }
        drop(stream);
        let [stem] = bare_terms.as_slice() else {
            continue;
        };
        // silkmatch indexes English text with its English analyzer; the word is usable when the
        // query keeps that analyzer's term (stop words and request words are dropped from queries,
        // and the fallback analyzer's unstemmed form of them would match no English listing).
        let [english_term] = Analysis::English
            .terms(&word)
            .try_into()
            .unwrap_or_default();
        let silkmatch_terms: AnalysedText = analyse_query(&word, &[]);
        if english_term.is_empty()
            || !silkmatch_terms.terms.contains_key(&english_term)
            || stems.contains(stem)
        {
            continue;
        }
        stems.push(stem.clone());
        words.push(word);
    }
    words
}

/// `n_queries` queries of `n_terms` words each, every one taken from the English title of a listing
/// drawn at random from `sources` (words kept in title order), so each query matches at least its
/// source listing in both contenders, filtered or not. The same arguments give the same queries.
pub fn sample_queries(
    sources: &[QuerySource],
    n_terms: usize,
    n_queries: usize,
    seed: u64,
    en_stem: &mut TextAnalyzer,
) -> Vec<QueryCase> {
    assert!(
        !sources.is_empty(),
        "no listing with an English title to draw queries from"
    );
    let mut rng = SplitMix64::new(seed ^ (n_terms as u64).wrapping_mul(0x51_7CC1_B727_220A));
    let mut cases = Vec::with_capacity(n_queries);
    let mut n_attempts = 0;
    while cases.len() < n_queries {
        n_attempts += 1;
        assert!(
            n_attempts < 1_000 * n_queries.max(1),
            "too few titles with {n_terms} usable words"
        );
        let source = &sources[rng.below(sources.len())];
        let words = query_words(&source.english_title, en_stem);
        if words.len() < n_terms {
            continue;
        }
        // Partial Fisher-Yates over word positions, then back to title order.
        let mut positions: Vec<usize> = (0..words.len()).collect();
        for slot in 0..n_terms {
            let pick = slot + rng.below(positions.len() - slot);
            positions.swap(slot, pick);
        }
        let mut chosen = positions[..n_terms].to_vec();
        chosen.sort_unstable();
        let text = chosen
            .iter()
            .map(|&position| words[position].as_str())
            .collect::<Vec<_>>()
            .join(" ");
        cases.push(QueryCase {
            text,
            country: source.country.clone(),
            technology_field: source.technology_field,
        });
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Statistics and the machine

/// Nearest-rank percentile (`fraction` in 0..=1) of sorted values.
pub fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of nothing");
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Bytes of every file under `path`.
pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Bytes of the files in `dir` whose name starts with `prefix`.
pub fn file_bytes_with_prefix(dir: &Path, prefix: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|entry| entry.metadata().ok())
        .map(|meta| meta.len())
        .sum()
}

/// The CPU model, core count and memory, for reports.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kib| kib / (1024.0 * 1024.0));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut description = format!("{cores} cores");
    if let Some(memory_gib) = memory_gib {
        description.push_str(&format!(", {memory_gib:.0} GiB"));
    }
    if let Some(model) = model {
        description.push_str(&format!(", {model}"));
    }
    description
}

/// Nanoseconds this thread has spent runnable but waiting for a CPU (Linux schedstat), to tell a
/// slow search from one another process pushed off the CPU.
pub fn scheduler_wait_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The 1-minute load average, to tell a quiet machine from a busy one in the report.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
