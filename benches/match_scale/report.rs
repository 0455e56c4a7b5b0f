//! The report: tables and JSON of one size, and the growth table across sizes.

use super::*;

pub(crate) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

pub(crate) fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Everything one run measured.
pub(crate) struct Report {
    pub(crate) n_offers: usize,
    pub(crate) n_needs: usize,
    pub(crate) n_queries: usize,
    pub(crate) date: String,
    pub(crate) machine: String,
    /// 1-minute load average at start, before measuring, at the end.
    pub(crate) load: [Option<f64>; 3],
    /// Share of the CPUs other processes used during the latency and throughput measurements.
    pub(crate) others_cpu: [Option<f64>; 2],
    /// Bare tantivy, then silkmatch.
    pub(crate) imports: [Import; 2],
    /// Segments: silkmatch, bare tantivy.
    pub(crate) segments: (usize, usize),
    pub(crate) corpus: CorpusFacts,
    pub(crate) latencies: Vec<(Contender, Percentiles)>,
    pub(crate) english: Option<EnglishSubset>,
    pub(crate) breakdown: Breakdown,
    pub(crate) throughput: Throughput,
    pub(crate) seconds: f64,
}

impl Report {
    pub(crate) fn latency(&self, contender: Contender) -> Percentiles {
        self.latencies
            .iter()
            .find(|(measured, _)| *measured == contender)
            .map(|(_, percentiles)| *percentiles)
            .unwrap_or_default()
    }

    /// The steps of a cold `matches_for` with explanations (every candidate prepared afresh), mean
    /// µs per need; the two remainders are what the steps timed alone do not account for. A warm
    /// request skips the candidates' store reads, analysis, sides and most document frequencies.
    pub(crate) fn steps(&self) -> Vec<(String, f64)> {
        let b = &self.breakdown;
        let prepare = self.latency(Contender::PrepareCold).mean;
        let total = self.latency(Contender::SilkmatchCold).mean;
        let timed_in_prepare = b.query_analysis
            + b.candidate_search
            + b.doc_freqs
            + b.store_reads
            + b.candidate_analysis
            + b.candidate_sides;
        vec![
            (
                "analysis of the need (`analyse_listing`)".to_owned(),
                b.query_analysis,
            ),
            (
                format!(
                    "candidate search: the need's terms ({:.0}) and technology fields \
                     scanned under its hard constraints, top {CANDIDATES} (`candidate_scan`)",
                    self.corpus.mean_terms
                ),
                b.candidate_search,
            ),
            (
                format!(
                    "document frequencies of the need's and candidates' terms ({:.0} distinct, parallel)",
                    b.mean_unique_terms
                ),
                b.doc_freqs,
            ),
            (
                format!(
                    "candidates read back from SQLite ({:.0}, one statement)",
                    self.corpus.mean_candidates
                ),
                b.store_reads,
            ),
            (
                "candidates' analysed texts decoded from the store (`analysis_of`, parallel)"
                    .to_owned(),
                b.candidate_analysis,
            ),
            (
                "candidate sides (`MatchSide::new`: term selection, self score; parallel)"
                    .to_owned(),
                b.candidate_sides,
            ),
            (
                "the rest of `prepare_match`: hit ids, the need's own side \
                 (remainder)"
                    .to_owned(),
                prepare - timed_in_prepare,
            ),
            (
                "`rank` (both directions, reciprocal, parallel)".to_owned(),
                b.rank,
            ),
            (
                "answer: explanations and snippets of the top 20".to_owned(),
                b.explanations,
            ),
            (
                "answer: the rest (listings copied, contacts removed; remainder)".to_owned(),
                total - prepare - b.rank - b.explanations,
            ),
        ]
    }

    pub(crate) fn table(&self) -> String {
        let fmt_opt = |value: Option<f64>, scale: f64, digits: usize| {
            value.map_or_else(|| "?".to_owned(), |v| format!("{:.digits$}", v * scale))
        };
        let bare = self.latency(Contender::Bare);
        let silkmatch = self.latency(Contender::Silkmatch);
        let corpus = &self.corpus;
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!(
            "### Matching: {} offers (+{} needs), {} query needs",
            self.n_offers, self.n_needs, self.n_queries
        ));
        line(String::new());
        line(format!(
            "{}; {}; 1-minute load average {} at start, {} before measuring, {} at the end; other \
             processes used {}% of the CPUs while latency was measured and {}% during throughput; \
             run took {:.0} s.",
            self.date,
            self.machine,
            fmt_opt(self.load[0], 1.0, 2),
            fmt_opt(self.load[1], 1.0, 2),
            fmt_opt(self.load[2], 1.0, 2),
            fmt_opt(self.others_cpu[0], 100.0, 0),
            fmt_opt(self.others_cpu[1], 100.0, 0),
            self.seconds,
        ));
        line(String::new());
        line(format!(
            "Corpus: silkmatch imported {} listings in {:.1} s, bare tantivy {} offers in {:.1} s; \
             {} / {} segments (silkmatch / bare). Per need: {:.1} query terms ({}–{}), {:.0}% of \
             them in the bare index; the bare disjunction matches {:.0} offers; silkmatch rescored \
             {:.1} candidates and returned {:.1} matches ({} needs had none).",
            self.imports[1].documents,
            self.imports[1].to_commit.as_secs_f64(),
            self.imports[0].documents,
            self.imports[0].to_commit.as_secs_f64(),
            self.segments.0,
            self.segments.1,
            corpus.mean_terms,
            corpus.min_terms,
            corpus.max_terms,
            corpus.terms_in_bare * 100.0,
            corpus.mean_bare_matching,
            corpus.mean_candidates,
            corpus.mean_matches,
            corpus.needs_without_matches,
        ));
        line(String::new());
        line("| need → offers, one request at a time (µs) | p50 | p90 | p99 | mean | ratio to baseline p50 | ratio p99 |".to_owned());
        line("|---|---:|---:|---:|---:|---:|---:|".to_owned());
        for (contender, percentiles) in &self.latencies {
            line(format!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} |",
                contender.label(),
                percentiles.p50,
                percentiles.p90,
                percentiles.p99,
                percentiles.mean,
                percentiles.p50 / bare.p50,
                percentiles.p99 / bare.p99,
            ));
        }
        line(String::new());
        line(format!(
            "Goal: silkmatch ≤ 1.5× the baseline at p50. Measured: **{:.2}×** at p50, {:.2}× at p99. \
             Requests whose timing thread waited over {} ms for a CPU held by another process: \
             baseline {}, silkmatch {} of {}.",
            silkmatch.p50 / bare.p50,
            silkmatch.p99 / bare.p99,
            DELAYED_NS as f64 / 1e6,
            bare.n_delayed,
            silkmatch.n_delayed,
            self.n_queries,
        ));
        let same_analysis = self.latency(Contender::BareSameAnalysis);
        line(String::new());
        line(format!(
            "Against the same terms on silkmatch's own index (`body`, its analyzers, so every term \
             is there; {:.0}% of them are in the bare `en_stem` index): baseline p50 {:.0} / p99 \
             {:.0} µs, ratio **{:.2}×** at p50, {:.2}× at p99.",
            corpus.terms_in_bare * 100.0,
            same_analysis.p50,
            same_analysis.p99,
            silkmatch.p50 / same_analysis.p50,
            silkmatch.p99 / same_analysis.p99,
        ));
        if let Some(english) = &self.english {
            line(String::new());
            line(format!(
                "Needs written in English only ({} of {}; the baseline's `en_stem` index holds most \
                 of their terms): baseline p50 {:.0} / p99 {:.0} µs, silkmatch p50 {:.0} / p99 {:.0} \
                 µs, ratio **{:.2}×** at p50, {:.2}× at p99.",
                english.n_needs,
                self.n_queries,
                english.bare.p50,
                english.bare.p99,
                english.silkmatch.p50,
                english.silkmatch.p99,
                english.silkmatch.p50 / english.bare.p50,
                english.silkmatch.p99 / english.bare.p99,
            ));
        }
        line(String::new());
        line(
            "| where a cold `matches_for` spends its time (each step timed alone) | mean µs | share |"
                .to_owned(),
        );
        line("|---|---:|---:|".to_owned());
        let cold = self.latency(Contender::SilkmatchCold);
        for (step, micros) in self.steps() {
            line(format!(
                "| {step} | {micros:.0} | {:.0}% |",
                100.0 * micros / cold.mean
            ));
        }
        line(format!(
            "| cold `matches_for` with explanations | {:.0} | 100% |",
            cold.mean
        ));
        line(String::new());
        line("| throughput, the query needs in parallel (`par_iter`) | 1 thread | 2 threads | 2 threads / 1 thread |".to_owned());
        line("|---|---:|---:|---:|".to_owned());
        for (name, rates) in [
            (
                "silkmatch `matches_for` (explanations): match requests/s",
                self.throughput[0],
            ),
            ("bare tantivy baseline: queries/s", self.throughput[1]),
        ] {
            line(format!(
                "| {name} | {:.1} | {:.1} | {:.2} |",
                rates[0].per_second,
                rates[1].per_second,
                rates[1].per_second / rates[0].per_second
            ));
        }
        for (name, rates) in [
            ("silkmatch", self.throughput[0]),
            ("bare tantivy", self.throughput[1]),
        ] {
            line(format!(
                "| {name}: p50 / p99 latency meanwhile (µs) | {:.0} / {:.0} | {:.0} / {:.0} | |",
                rates[0].p50, rates[0].p99, rates[1].p50, rates[1].p99
            ));
        }
        line(format!(
            "| silkmatch / bare, throughput | {:.3} | {:.3} | |",
            self.throughput[0][0].per_second / self.throughput[1][0].per_second,
            self.throughput[0][1].per_second / self.throughput[1][1].per_second,
        ));
        out
    }

    pub(crate) fn json(&self) -> Value {
        let bare = self.latency(Contender::Bare);
        let import = |import: &Import| {
            json!({
                "documents": import.documents,
                "seconds_to_commit": round3(import.to_commit.as_secs_f64()),
                "merge_wait_seconds": round3(import.merge_wait.as_secs_f64()),
            })
        };
        let rate = |rate: &Rate| {
            json!({
                "per_second": round1(rate.per_second),
                "p50_us": round1(rate.p50),
                "p99_us": round1(rate.p99),
            })
        };
        let rates = |rates: &[Rate; 2]| {
            json!({
                "threads_1": rate(&rates[0]),
                "threads_2": rate(&rates[1]),
                "scaling_2_over_1": round3(rates[1].per_second / rates[0].per_second),
            })
        };
        let corpus = &self.corpus;
        let b = &self.breakdown;
        json!({
            "offers": self.n_offers,
            "needs": self.n_needs,
            "queries": self.n_queries,
            "k": K,
            "candidates": CANDIDATES,
            "date": self.date,
            "machine": self.machine,
            "seconds": round1(self.seconds),
            "load_average_1min": {
                "start": self.load[0],
                "before_measuring": self.load[1],
                "end": self.load[2],
            },
            "other_processes_cpu_share": {
                "latency": self.others_cpu[0].map(round3),
                "throughput": self.others_cpu[1].map(round3),
            },
            "import": {
                "silkmatch": import(&self.imports[1]),
                "bare_tantivy": import(&self.imports[0]),
                "segments": { "silkmatch": self.segments.0, "bare_tantivy": self.segments.1 },
            },
            "per_need": {
                "query_terms_mean": round1(corpus.mean_terms),
                "query_terms_min": corpus.min_terms,
                "query_terms_max": corpus.max_terms,
                "query_terms_in_bare_index_share": round3(corpus.terms_in_bare),
                "bare_matching_offers_mean": round1(corpus.mean_bare_matching),
                "candidates_mean": round1(corpus.mean_candidates),
                "matches_mean": round1(corpus.mean_matches),
                "needs_without_matches": corpus.needs_without_matches,
            },
            "latency": self.latencies.iter().map(|(contender, percentiles)| {
                (contender.key().to_owned(), percentiles.json())
            }).collect::<serde_json::Map<String, Value>>(),
            "ratio_to_bare": self.latencies.iter().map(|(contender, percentiles)| {
                (contender.key().to_owned(), json!({
                    "p50": round3(percentiles.p50 / bare.p50),
                    "p99": round3(percentiles.p99 / bare.p99),
                }))
            }).collect::<serde_json::Map<String, Value>>(),
            "ratio_to_bare_same_analysis": self.latencies.iter().map(|(contender, percentiles)| {
                let same_analysis = self.latency(Contender::BareSameAnalysis);
                (contender.key().to_owned(), json!({
                    "p50": round3(percentiles.p50 / same_analysis.p50),
                    "p99": round3(percentiles.p99 / same_analysis.p99),
                }))
            }).collect::<serde_json::Map<String, Value>>(),
            "english_needs": self.english.map(|english| json!({
                "needs": english.n_needs,
                "bare_tantivy": english.bare.json(),
                "silkmatch": english.silkmatch.json(),
                "ratio_p50": round3(english.silkmatch.p50 / english.bare.p50),
                "ratio_p99": round3(english.silkmatch.p99 / english.bare.p99),
            })),
            "breakdown_mean_us": {
                "query_analysis": round1(b.query_analysis),
                "candidate_query_replica_without_filters": round1(b.candidate_search),
                "doc_freqs": round1(b.doc_freqs),
                "doc_freq_distinct_terms_mean": round1(b.mean_unique_terms),
                "store_reads": round1(b.store_reads),
                "candidate_analysis": round1(b.candidate_analysis),
                "candidate_sides": round1(b.candidate_sides),
                "rank": round1(b.rank),
                "explanations_and_snippets": round1(b.explanations),
                "steps": self.steps().into_iter().map(|(step, micros)| json!({
                    "step": step,
                    "mean_us": round1(micros),
                })).collect::<Vec<_>>(),
            },
            "throughput": {
                "silkmatch": rates(&self.throughput[0]),
                "bare_tantivy": rates(&self.throughput[1]),
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Growth across sizes

/// A table of every `match-N.json` in `out`, smallest N first, with growth from the size before.
pub(crate) fn growth_table(out: &Path) -> anyhow::Result<String> {
    let mut runs: Vec<(u64, Value)> = Vec::new();
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let Some(n) = name
            .strip_prefix("match-")
            .and_then(|rest| rest.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        runs.push((n, report));
    }
    if runs.is_empty() {
        bail!("no match-N.json in {}", out.display());
    }
    runs.sort_by_key(|(n, _)| *n);
    let number = |report: &Value, pointer: &str| report.pointer(pointer).and_then(Value::as_f64);
    let cell = |value: Option<f64>, digits: usize| {
        value.map_or_else(|| "?".to_owned(), |v| format!("{v:.digits$}"))
    };
    let mut table = String::new();
    table.push_str("### Matching latency as the offers grow\n\n");
    table.push_str("| offers | date | bare p50 / p99 (µs) | silkmatch p50 / p99 (µs) | ratio p50 / p99 | same-analysis bare p50 (µs) | ratio to it p50 / p99 | silkmatch p50 × previous size | bare p50 × previous size | `explain: false` p50 (µs) | match requests/s, 1 / 2 threads | load at start |\n");
    table.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut previous: Option<&Value> = None;
    for (n, report) in &runs {
        let growth = |pointer: &str| match previous {
            Some(before) => cell(
                number(report, pointer)
                    .zip(number(before, pointer))
                    .map(|(now, then)| now / then),
                2,
            ),
            None => "".to_owned(),
        };
        table.push_str(&format!(
            "| {n} | {} | {} / {} | {} / {} | {} / {} | {} | {} / {} | {} | {} | {} | {} / {} | {} |\n",
            report["date"].as_str().unwrap_or("?"),
            cell(number(report, "/latency/bare_tantivy/p50_us"), 0),
            cell(number(report, "/latency/bare_tantivy/p99_us"), 0),
            cell(number(report, "/latency/silkmatch/p50_us"), 0),
            cell(number(report, "/latency/silkmatch/p99_us"), 0),
            cell(number(report, "/ratio_to_bare/silkmatch/p50"), 2),
            cell(number(report, "/ratio_to_bare/silkmatch/p99"), 2),
            cell(number(report, "/latency/bare_tantivy_same_analysis/p50_us"), 0),
            cell(number(report, "/ratio_to_bare_same_analysis/silkmatch/p50"), 2),
            cell(number(report, "/ratio_to_bare_same_analysis/silkmatch/p99"), 2),
            growth("/latency/silkmatch/p50_us"),
            growth("/latency/bare_tantivy/p50_us"),
            cell(number(report, "/latency/silkmatch_no_explain/p50_us"), 0),
            cell(
                number(report, "/throughput/silkmatch/threads_1/per_second"),
                1
            ),
            cell(
                number(report, "/throughput/silkmatch/threads_2/per_second"),
                1
            ),
            cell(number(report, "/load_average_1min/start"), 2),
        ));
        previous = Some(report);
    }
    Ok(table)
}
