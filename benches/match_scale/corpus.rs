//! The corpora: silkmatch's and the bare index's imports, the query needs and their facts.

use super::*;

/// How one contender's import went (logged, not the subject).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Import {
    pub(crate) documents: usize,
    /// From the first listing to the committed index.
    pub(crate) to_commit: Duration,
    /// Waiting for background merges afterwards.
    pub(crate) merge_wait: Duration,
}

pub(crate) fn import_silkmatch(config: &GeneratorConfig, dir: &Path) -> anyhow::Result<Import> {
    let engine = Engine::open(dir)?;
    let total = config.offers + config.needs;
    let step = (total / 10).max(1);
    let started = Instant::now();
    let listings = generate(config).enumerate().map(|(listing_idx, listing)| {
        if listing_idx > 0 && listing_idx % step == 0 {
            eprintln!(
                "  silkmatch: {listing_idx}/{total} after {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        listing
    });
    let documents = common::import_values(&engine, listings);
    let to_commit = started.elapsed();
    assert_eq!(documents, total, "silkmatch imported every listing");
    let merging = Instant::now();
    engine.close()?;
    let import = Import {
        documents,
        to_commit,
        merge_wait: merging.elapsed(),
    };
    eprintln!(
        "silkmatch imported {documents} listings in {:.1} s (+{:.1} s of merges)",
        to_commit.as_secs_f64(),
        import.merge_wait.as_secs_f64()
    );
    Ok(import)
}

pub(crate) fn import_bare(
    config: &GeneratorConfig,
    dir: &Path,
) -> anyhow::Result<(Import, tantivy::Index, common::BareFields)> {
    let (index, mut writer, fields) = common::bare_create(dir);
    let started = Instant::now();
    let mut documents = 0;
    let mut chunk: Vec<Value> = Vec::with_capacity(common::BATCH);
    let mut flush = |chunk: &mut Vec<Value>| {
        let docs: Vec<common::BareDoc> = chunk.par_iter().map(common::bare_doc).collect();
        chunk.clear();
        for doc in &docs {
            common::bare_add(&writer, &fields, doc);
        }
        documents += docs.len();
    };
    for listing in generate(config).filter(|listing| listing["kind"] == "offer") {
        chunk.push(listing);
        if chunk.len() == common::BATCH {
            flush(&mut chunk);
        }
    }
    if !chunk.is_empty() {
        flush(&mut chunk);
    }
    writer.commit()?;
    let to_commit = started.elapsed();
    assert_eq!(documents, config.offers, "bare tantivy indexed every offer");
    let merging = Instant::now();
    writer.wait_merging_threads()?;
    let import = Import {
        documents,
        to_commit,
        merge_wait: merging.elapsed(),
    };
    eprintln!(
        "bare tantivy indexed {documents} offers in {:.1} s (+{:.1} s of merges)",
        to_commit.as_secs_f64(),
        import.merge_wait.as_secs_f64()
    );
    Ok((import, index, fields))
}

/// silkmatch's own index opened read-only with tantivy alone, to time document-frequency lookups,
/// and a second handle on its store, to time reading candidates.
pub(crate) struct RawIndex {
    pub(crate) store: Store,
    pub(crate) searcher: Searcher,
    pub(crate) body: Field,
}

/// What every measurement needs.
pub(crate) struct Ctx<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) bare: &'a Searcher,
    pub(crate) bare_text: Field,
    pub(crate) raw: &'a RawIndex,
    pub(crate) pool_1: &'a ThreadPool,
    pub(crate) now: Timestamp,
    /// The API's default path: k 20, 100 candidates, reciprocal, explanations and snippets.
    pub(crate) with_explanations: MatchRequest,
    pub(crate) without_explanations: MatchRequest,
}

/// One query need and the answers its warm-up gave, which every timed run must give again.
pub(crate) struct NeedCase {
    pub(crate) external_id: String,
    pub(crate) listing: Listing,
    /// silkmatch's selected query terms (analysed), the baseline's terms too.
    pub(crate) terms: Vec<String>,
    /// Of those, terms the bare index holds.
    pub(crate) n_terms_in_bare: usize,
    /// Documents the bare disjunction matches.
    pub(crate) bare_matching: usize,
    /// Hits of the baseline at top 20 and top 100.
    pub(crate) bare_hits: [usize; 2],
    /// Hits of the same disjunction, top 20, on silkmatch's own `body` field.
    pub(crate) own_hits: usize,
    /// Candidates silkmatch rescored.
    pub(crate) n_candidates: usize,
    /// Matches silkmatch returned, and the id of the best.
    pub(crate) n_matches: usize,
    pub(crate) best: Option<String>,
}

/// Draws `n_queries` of the needs `gen-need-0000001` ... without replacement, resolves them and
/// runs every contender once on each (the warm-up), recording the answers.
pub(crate) fn sample_needs(
    ctx: &Ctx,
    n_needs: usize,
    n_queries: usize,
) -> anyhow::Result<Vec<NeedCase>> {
    let mut rng = common::SplitMix64::new(SEED ^ 0x6D61_7463_685F_7363);
    let mut numbers: Vec<usize> = (1..=n_needs).collect();
    for slot in 0..n_queries {
        let pick = slot + rng.below(numbers.len() - slot);
        numbers.swap(slot, pick);
    }
    let mut cases = Vec::with_capacity(n_queries);
    for &number in &numbers[..n_queries] {
        let external_id = format!("gen-need-{number:07}");
        let listing = ctx
            .engine
            .resolve(&external_id)
            .with_context(|| format!("need {external_id} is not in the store"))?;
        let results = ctx
            .engine
            .matches_for(&listing, &ctx.with_explanations, ctx.now)?;
        let terms: Vec<String> = results
            .query_terms
            .iter()
            .map(|query_term| query_term.term.clone())
            .collect();
        let n_terms_in_bare = terms
            .iter()
            .map(|term| {
                ctx.bare
                    .doc_freq(&Term::from_field_text(ctx.bare_text, term))
                    .map(|df| usize::from(df > 0))
            })
            .sum::<tantivy::Result<usize>>()?;
        let bare_matching = ctx
            .bare
            .search(&bare_query(ctx.bare_text, &terms), &Count)?;
        let mut case = NeedCase {
            external_id,
            listing,
            terms,
            n_terms_in_bare,
            bare_matching,
            bare_hits: [0, 0],
            own_hits: 0,
            n_candidates: results.candidates_considered,
            n_matches: results.matches.len(),
            best: results
                .matches
                .first()
                .map(|found| found.listing.id.clone()),
        };
        case.bare_hits = [
            bare_top(ctx, &case.terms, K).len(),
            bare_top(ctx, &case.terms, CANDIDATES).len(),
        ];
        case.own_hits = own_top(ctx, &case.terms, K).len();
        // The rest of the contenders, once each.
        for contender in Contender::ALL {
            contender.run(ctx, &case);
        }
        cases.push(case);
    }
    Ok(cases)
}

/// What the needs and their answers looked like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CorpusFacts {
    pub(crate) mean_terms: f64,
    pub(crate) min_terms: usize,
    pub(crate) max_terms: usize,
    /// Share of query terms the bare index holds.
    pub(crate) terms_in_bare: f64,
    pub(crate) mean_bare_matching: f64,
    pub(crate) mean_candidates: f64,
    pub(crate) mean_matches: f64,
    pub(crate) needs_without_matches: usize,
}

impl CorpusFacts {
    pub(crate) fn of(cases: &[NeedCase]) -> CorpusFacts {
        let n = cases.len() as f64;
        let n_terms: usize = cases.iter().map(|case| case.terms.len()).sum();
        let mean =
            |value: fn(&NeedCase) -> usize| cases.iter().map(value).sum::<usize>() as f64 / n;
        CorpusFacts {
            mean_terms: n_terms as f64 / n,
            min_terms: cases.iter().map(|case| case.terms.len()).min().unwrap_or(0),
            max_terms: cases.iter().map(|case| case.terms.len()).max().unwrap_or(0),
            terms_in_bare: cases.iter().map(|case| case.n_terms_in_bare).sum::<usize>() as f64
                / n_terms.max(1) as f64,
            mean_bare_matching: mean(|case| case.bare_matching),
            mean_candidates: mean(|case| case.n_candidates),
            mean_matches: mean(|case| case.n_matches),
            needs_without_matches: cases.iter().filter(|case| case.n_matches == 0).count(),
        }
    }
}
