//! The measurements: latency one request at a time, where a cold request spends its time, throughput, and what other processes took.

use super::*;

/// Latency statistics of one contender, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) mean: f64,
    /// Requests whose timing thread waited over `DELAYED_NS` for a CPU held by another process.
    pub(crate) n_delayed: usize,
}

impl Percentiles {
    pub(crate) fn of(mut micros: Vec<f64>, n_delayed: usize) -> Percentiles {
        micros.sort_by(f64::total_cmp);
        Percentiles {
            p50: common::percentile(&micros, 0.50),
            p90: common::percentile(&micros, 0.90),
            p99: common::percentile(&micros, 0.99),
            mean: micros.iter().sum::<f64>() / micros.len() as f64,
            n_delayed,
        }
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "p50_us": round1(self.p50),
            "p90_us": round1(self.p90),
            "p99_us": round1(self.p99),
            "mean_us": round1(self.mean),
            "delayed_by_other_processes": self.n_delayed,
        })
    }
}

/// Times `run` once: (microseconds, whether this thread waited over `DELAYED_NS` for a CPU).
pub(crate) fn timed(run: impl FnOnce()) -> (f64, bool) {
    let waited_before = common::scheduler_wait_ns();
    let started = Instant::now();
    run();
    let micros = started.elapsed().as_secs_f64() * 1e6;
    let waited_ns = match (waited_before, common::scheduler_wait_ns()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => 0,
    };
    (micros, waited_ns > DELAYED_NS)
}

pub(crate) fn measure_latency(
    ctx: &Ctx,
    cases: &[NeedCase],
) -> (Vec<(Contender, Percentiles)>, Option<EnglishSubset>) {
    let mut micros = vec![Vec::with_capacity(cases.len()); Contender::ALL.len()];
    let mut delayed = [0usize; Contender::ALL.len()];
    for case in cases {
        for (contender_idx, contender) in Contender::ALL.into_iter().enumerate() {
            contender.set_up(ctx);
            let (us, was_delayed) = timed(|| {
                std::hint::black_box(contender.run(ctx, std::hint::black_box(case)));
            });
            micros[contender_idx].push(us);
            delayed[contender_idx] += usize::from(was_delayed);
        }
    }
    // The needs written in English: the baseline's `en_stem` index holds most of their terms, so it
    // does the full work of the disjunction (for other languages it finds fewer of the terms).
    let english: Vec<usize> = cases
        .iter()
        .enumerate()
        .filter(|(_, case)| case.listing.body.language.as_str() == "en")
        .map(|(case_idx, _)| case_idx)
        .collect();
    let subset = |contender: Contender| {
        let contender_idx = Contender::ALL
            .iter()
            .position(|c| *c == contender)
            .expect("a contender");
        Percentiles::of(
            english
                .iter()
                .map(|&case_idx| micros[contender_idx][case_idx])
                .collect(),
            0,
        )
    };
    let english = (!english.is_empty()).then(|| EnglishSubset {
        n_needs: english.len(),
        bare: subset(Contender::Bare),
        silkmatch: subset(Contender::Silkmatch),
    });
    let all = Contender::ALL
        .into_iter()
        .zip(micros)
        .zip(delayed)
        .map(|((contender, micros), n_delayed)| (contender, Percentiles::of(micros, n_delayed)))
        .collect();
    (all, english)
}

/// Latency of the baseline and of silkmatch over the needs written in English.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnglishSubset {
    pub(crate) n_needs: usize,
    pub(crate) bare: Percentiles,
    pub(crate) silkmatch: Percentiles,
}

// ---------------------------------------------------------------------------------------------
// Where the time goes

/// Mean microseconds per need of each piece of a match, each timed alone.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Breakdown {
    pub(crate) query_analysis: f64,
    pub(crate) candidate_search: f64,
    pub(crate) doc_freqs: f64,
    pub(crate) mean_unique_terms: f64,
    pub(crate) store_reads: f64,
    pub(crate) candidate_analysis: f64,
    pub(crate) candidate_sides: f64,
    pub(crate) rank: f64,
    pub(crate) explanations: f64,
}

pub(crate) fn measure_breakdown(ctx: &Ctx, cases: &[NeedCase]) -> Breakdown {
    let mut sum = Breakdown::default();
    let weights: &Weights = &ctx.with_explanations.weights;
    for case in cases {
        let prepared = ctx
            .engine
            .prepare_match(&case.listing, CANDIDATES, ctx.now)
            .expect("prepare_match succeeds");

        // The query side: the need's text through the index's analyzers.
        sum.query_analysis += timed(|| {
            std::hint::black_box(analyse_listing(&case.listing));
        })
        .0;

        // The candidate scan under the hard constraints (`Engine::candidate_scan`).
        sum.candidate_search += timed(|| {
            let top = ctx
                .engine
                .candidate_scan(&case.listing, &prepared.query.query, CANDIDATES, ctx.now)
                .expect("the candidate scan runs");
            std::hint::black_box(top);
        })
        .0;

        // Corpus statistics: a document frequency per distinct term of the need and the candidates
        // (prepare_match looks them up in two parallel passes; one pass over the union here).
        let mut unique: HashSet<&String> = HashSet::new();
        for side in
            std::iter::once(&prepared.query).chain(prepared.candidates.iter().map(|side| &**side))
        {
            unique.extend(
                side.terms
                    .field_terms(TextField::Body)
                    .map(|(term, _)| term),
            );
        }
        sum.mean_unique_terms += unique.len() as f64;
        let mut doc_freqs: Vec<(&String, u64)> = Vec::new();
        sum.doc_freqs += timed(|| {
            doc_freqs = unique
                .par_iter()
                .map(|term| {
                    let doc_freq = ctx
                        .raw
                        .searcher
                        .doc_freq(&Term::from_field_text(ctx.raw.body, term))
                        .expect("doc_freq succeeds");
                    (*term, doc_freq)
                })
                .collect();
        })
        .0;
        // What the candidates' term selection reads (prepare_match builds the same from its cache).
        let side_stats = CorpusStats {
            doc_freq: doc_freqs
                .into_iter()
                .map(|(term, doc_freq)| (term.clone(), doc_freq))
                .collect(),
            ..prepared.stats.clone()
        };

        // Reading the candidates back from SQLite in one statement, with their stored analyses, as
        // prepare_match does.
        let ids: Vec<String> = prepared
            .candidates
            .iter()
            .map(|candidate| candidate.listing.id.clone())
            .collect();
        let mut rows = Vec::new();
        sum.store_reads += timed(|| {
            rows = ctx
                .raw
                .store
                .read(|connection| {
                    store::listings::get_many(connection, &ids, store::Columns::WithAnalysis)
                })
                .expect("the store reads");
        })
        .0;
        assert_eq!(rows.len(), ids.len(), "every candidate is in the store");

        // The candidates' analysed texts, decoded from the store (parallel, as prepare_match does).
        let mut analysed = Vec::new();
        sum.candidate_analysis += timed(|| {
            analysed = rows
                .into_par_iter()
                .map(|row| {
                    let (vector, keywords) = analysis_of(&row.listing, row.analysis.as_deref());
                    (row.listing, vector, keywords)
                })
                .collect();
        })
        .0;

        // Candidate sides: term selection and self score per candidate.
        sum.candidate_sides += timed(|| {
            let sides: Vec<MatchSide> = analysed
                .into_par_iter()
                .map(|(listing, vector, keywords)| {
                    MatchSide::new(listing, vector, keywords, &side_stats, 1)
                })
                .collect();
            assert_eq!(sides.len(), prepared.candidates.len());
        })
        .0;

        // Ranking both directions.
        let mut ranked = Vec::new();
        sum.rank += timed(|| {
            ranked = prepared.rank(weights, ctx.now, Ranker::Reciprocal, K);
        })
        .0;
        assert_eq!(ranked.len(), case.n_matches);

        // Explanations and snippets of the top k, as matches_for builds them.
        sum.explanations += timed(|| {
            for found in &ranked {
                let idx = found.candidate_idx;
                std::hint::black_box(ctx.engine.found_match(
                    &prepared.query,
                    &prepared.candidates[idx],
                    prepared.seqs[idx],
                    found,
                    &ctx.with_explanations,
                    ctx.now,
                ));
            }
        })
        .0;
    }
    let n = cases.len() as f64;
    Breakdown {
        query_analysis: sum.query_analysis / n,
        candidate_search: sum.candidate_search / n,
        doc_freqs: sum.doc_freqs / n,
        mean_unique_terms: sum.mean_unique_terms / n,
        store_reads: sum.store_reads / n,
        candidate_analysis: sum.candidate_analysis / n,
        candidate_sides: sum.candidate_sides / n,
        rank: sum.rank / n,
        explanations: sum.explanations / n,
    }
}

// ---------------------------------------------------------------------------------------------
// Throughput

/// Requests per second on one pool, and the latency of each request meanwhile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rate {
    pub(crate) per_second: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

/// Whole passes of `cases` through `run` with `par_iter` on `pool`, until `THROUGHPUT_MIN_RUN`.
pub(crate) fn rate(
    pool: &ThreadPool,
    cases: &[NeedCase],
    run: &(dyn Fn(&NeedCase) + Sync),
) -> Rate {
    pool.install(|| {
        let started = Instant::now();
        let mut micros: Vec<f64> = Vec::new();
        while micros.is_empty() || started.elapsed() < THROUGHPUT_MIN_RUN {
            micros.par_extend(cases.par_iter().map(|case| {
                let request_started = Instant::now();
                run(case);
                request_started.elapsed().as_secs_f64() * 1e6
            }));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let per_second = micros.len() as f64 / elapsed;
        micros.sort_by(f64::total_cmp);
        Rate {
            per_second,
            p50: common::percentile(&micros, 0.50),
            p99: common::percentile(&micros, 0.99),
        }
    })
}

/// Median-of-rounds rates: `[contender][threads - 1]`, contender 0 silkmatch, 1 bare tantivy.
pub(crate) type Throughput = [[Rate; 2]; 2];

pub(crate) fn measure_throughput(
    ctx: &Ctx,
    cases: &[NeedCase],
    pools: [&ThreadPool; 2],
) -> Throughput {
    let silkmatch = |case: &NeedCase| {
        std::hint::black_box(Contender::Silkmatch.run(ctx, case));
    };
    let bare = |case: &NeedCase| {
        std::hint::black_box(Contender::Bare.run(ctx, case));
    };
    let runs: [&(dyn Fn(&NeedCase) + Sync); 2] = [&silkmatch, &bare];
    let mut rounds: Vec<[[Rate; 2]; 2]> = Vec::with_capacity(THROUGHPUT_ROUNDS);
    for _ in 0..THROUGHPUT_ROUNDS {
        // Alternate pools and contenders inside a round so a busy moment hits all of them.
        rounds.push(runs.map(|run| pools.map(|pool| rate(pool, cases, run))));
    }
    let median = |contender: usize, threads: usize| -> Rate {
        let mut of_rounds: Vec<Rate> = rounds
            .iter()
            .map(|round| round[contender][threads])
            .collect();
        of_rounds.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
        of_rounds[of_rounds.len() / 2]
    };
    [[median(0, 0), median(0, 1)], [median(1, 0), median(1, 1)]]
}

// ---------------------------------------------------------------------------------------------
// Other processes on the machine

/// Busy CPU ticks of the whole machine and of this process (Linux `/proc`, 100 ticks a second).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuSample {
    pub(crate) machine_busy: u64,
    pub(crate) own: u64,
    pub(crate) at: Instant,
}

impl CpuSample {
    pub(crate) fn take() -> Option<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .map(|field| field.parse().unwrap_or(0))
            .collect();
        // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy
        // (steal is time another guest of the host had our CPU).
        let machine_busy = cpu.iter().take(8).sum::<u64>() - cpu.get(3)? - cpu.get(4)?;
        let own_stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after_name = &own_stat[own_stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line; field 3 is the first after the name.
        let own = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(CpuSample {
            machine_busy,
            own,
            at: Instant::now(),
        })
    }

    /// Share of the machine's CPUs other processes used between two samples.
    pub(crate) fn others_share(before: Option<CpuSample>, after: Option<CpuSample>) -> Option<f64> {
        let (before, after) = (before?, after?);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let ticks = 100.0 * after.at.duration_since(before.at).as_secs_f64() * cores;
        let others = after.machine_busy.saturating_sub(before.machine_busy) as f64
            - after.own.saturating_sub(before.own) as f64;
        Some((others / ticks).clamp(0.0, 1.0))
    }
}
