//! The hybrid mode's two rankings per query, kept so the fusion constants can be swept without
//! re-running either ranker (`eval text --mode hybrid --save-lists FILE`, then
//! `eval fusion-sweep FILE...`, both hidden).
//!
//! The sweep scores every grid point on the **dev** queries only (even positions in queries.jsonl)
//! of every collection at once, because one set of constants serves all of them; the held-out
//! queries are scored afterwards by `eval text --split test`.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use silkmatch_core::fusion::{FusionWeights, Hit, fuse};
use silkmatch_core::metrics::{Qrels, Run};
use silkmatch_core::{LanguageTag, TextLanguage};

use super::Split;
use super::dense::DEPTH;

/// Both rankings of every query of one collection, with the languages fusion needs.
#[derive(Serialize, Deserialize)]
pub struct Lists {
    /// The collection folder.
    pub collection: String,
    /// In queries.jsonl order (the split is by position).
    pub queries: Vec<QueryLists>,
    /// The collection's judgements.
    pub qrels: Qrels,
}

/// One query's rankings: `(doc id, score, doc language)`, best first.
#[derive(Serialize, Deserialize)]
pub struct QueryLists {
    pub id: String,
    pub language: Option<LanguageTag>,
    pub lexical: Vec<(String, f64, LanguageTag)>,
    pub dense: Vec<(String, f64, LanguageTag)>,
}

impl Lists {
    /// Gathers the lists of every query from the two runs.
    pub fn new(
        collection: &Path,
        docs: &[(String, LanguageTag)],
        queries: &[(String, Option<LanguageTag>)],
        lexical: &Run,
        dense: &Run,
        qrels: &Qrels,
    ) -> Lists {
        let languages: HashMap<&str, &LanguageTag> =
            docs.iter().map(|(id, tag)| (id.as_str(), tag)).collect();
        let en = LanguageTag::new("en").expect("en is a tag");
        let with_languages = |ranked: Option<&Vec<(String, f64)>>| {
            ranked
                .map(|ranked| {
                    ranked
                        .iter()
                        .map(|(id, score)| {
                            let tag = languages.get(id.as_str()).copied().unwrap_or(&en);
                            (id.clone(), *score, tag.clone())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Lists {
            collection: collection.display().to_string(),
            queries: queries
                .iter()
                .map(|(id, language)| QueryLists {
                    id: id.clone(),
                    language: language.clone(),
                    lexical: with_languages(lexical.get(id)),
                    dense: with_languages(dense.get(id)),
                })
                .collect(),
            qrels: qrels.clone(),
        }
    }

    /// Writes the lists as JSON.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec(self)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
    }

    fn load(path: &Path) -> anyhow::Result<Lists> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a lists file", path.display()))
    }

    /// The hybrid run: every query's lists fused, the top [`DEPTH`] kept. Scores have the rank
    /// folded in (strictly decreasing), so trec_eval's tie rule keeps the fused order.
    pub fn fused(&self, weights: &FusionWeights) -> Run {
        self.queries
            .iter()
            .map(|q| {
                let lexical: Vec<Hit<'_, &str>> = q
                    .lexical
                    .iter()
                    .map(|(id, score, tag)| (id.as_str(), *score, Some(tag)))
                    .collect();
                let dense: Vec<Hit<'_, &str>> = q
                    .dense
                    .iter()
                    .map(|(id, score, tag)| (id.as_str(), *score, Some(tag)))
                    .collect();
                let fused = fuse(&lexical, &dense, &q.language.clone().into(), weights);
                let ranked = fused
                    .into_iter()
                    .take(DEPTH)
                    .enumerate()
                    .map(|(rank, (id, score))| (id.to_owned(), score - rank as f64 * 1e-6))
                    .collect();
                (q.id.clone(), ranked)
            })
            .collect()
    }
}

/// Parses `SAME,CROSS,FLOOR` (the hidden `--fusion` flag).
pub fn parse_weights(text: &str) -> Result<FusionWeights, String> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|e| format!("`{p}`: {e}")))
        .collect::<Result<_, _>>()?;
    match parts.as_slice() {
        [same, cross, floor] => Ok(FusionWeights {
            same_language_lexical: *same,
            cross_language_lexical: *cross,
            cosine_floor: *floor,
        }),
        _ => Err("expected SAME,CROSS,FLOOR".into()),
    }
}

/// `default` or `SAME,CROSS,FLOOR` (the hidden `--report` flag).
pub fn parse_report(text: &str) -> Result<FusionWeights, String> {
    if text == "default" {
        Ok(FusionWeights::default())
    } else {
        parse_weights(text)
    }
}

/// Prints lexical, dense and hybrid on the dev, test and all queries of each lists file, scored by
/// the same functions as `eval text` (a markdown table).
pub fn report(paths: &[std::path::PathBuf], weights: &FusionWeights) -> anyhow::Result<ExitCode> {
    println!(
        "constants: same-language lexical {}, cross-language lexical {}, cosine floor {}",
        weights.same_language_lexical, weights.cross_language_lexical, weights.cosine_floor
    );
    println!("| collection | mode | split | queries | R@1 | MRR@10 | nDCG@10 | Recall@100 |");
    println!("|---|---|---|---|---|---|---|---|");
    for path in paths {
        let lists = Lists::load(path)?;
        let name = Path::new(&lists.collection)
            .file_name()
            .map_or(lists.collection.clone(), |n| {
                n.to_string_lossy().into_owned()
            });
        let alone = |lexical: bool| -> Run {
            lists
                .queries
                .iter()
                .map(|q| {
                    let rows = if lexical { &q.lexical } else { &q.dense };
                    let ranked = rows
                        .iter()
                        .take(DEPTH)
                        .enumerate()
                        .map(|(rank, (d, s, _))| (d.clone(), *s - rank as f64 * 1e-6))
                        .collect();
                    (q.id.clone(), ranked)
                })
                .collect()
        };
        let runs = [
            ("lexical", alone(true)),
            ("dense", alone(false)),
            ("hybrid", lists.fused(weights)),
        ];
        for (mode, run) in &runs {
            for split in [Split::Dev, Split::Test, Split::All] {
                let qrels = super::text::split_qrels(
                    &lists.qrels,
                    lists.queries.iter().map(|q| q.id.as_str()),
                    split,
                );
                let m = silkmatch_core::metrics::evaluate(&qrels, run);
                let r1 = super::dense::recall_at_1(&qrels, run);
                println!(
                    "| {name} | {mode} | {} | {} | {r1:.3} | {:.3} | {:.3} | {:.3} |",
                    split.name(),
                    m.queries,
                    m.mrr_at_10,
                    m.ndcg_at_10,
                    m.recall_at_100
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One collection's dev queries, interned for speed: documents are numbers.
struct Dev {
    name: String,
    tags: Vec<LanguageTag>,
    queries: Vec<DevQuery>,
}

struct DevQuery {
    language: TextLanguage,
    lexical: Vec<(u32, f64, u32)>,
    dense: Vec<(u32, f64, u32)>,
    gains: HashMap<u32, f64>,
    ideal_dcg: f64,
}

/// R@1, MRR@10, nDCG@10, Recall@100, as `eval text` computes them (the fused order is strict).
#[derive(Clone, Copy, Default)]
struct Scores {
    r1: f64,
    mrr: f64,
    ndcg: f64,
    recall: f64,
}

impl Dev {
    fn new(lists: Lists) -> Dev {
        let name = Path::new(&lists.collection)
            .file_name()
            .map_or(lists.collection.clone(), |n| {
                n.to_string_lossy().into_owned()
            });
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut tags: Vec<LanguageTag> = Vec::new();
        let intern = |id: &str, ids: &mut HashMap<String, u32>| {
            let next = ids.len() as u32;
            *ids.entry(id.to_owned()).or_insert(next)
        };
        let mut tag_of = |tag: &LanguageTag| match tags.iter().position(|t| t == tag) {
            Some(i) => i as u32,
            None => {
                tags.push(tag.clone());
                tags.len() as u32 - 1
            }
        };
        let mut queries = Vec::new();
        for (position, q) in lists.queries.iter().enumerate() {
            if !Split::Dev.holds_position(position) {
                continue;
            }
            let Some(judged) = lists.qrels.get(&q.id) else {
                continue;
            };
            let gains: HashMap<u32, f64> = judged
                .iter()
                .filter(|(_, g)| **g > 0.0)
                .map(|(d, g)| (intern(d, &mut ids), *g))
                .collect();
            if gains.is_empty() {
                continue;
            }
            let mut ideal: Vec<f64> = gains.values().copied().collect();
            ideal.sort_by(|a, b| b.total_cmp(a));
            let ideal_dcg = ideal
                .iter()
                .take(10)
                .enumerate()
                .map(|(i, g)| g / (i as f64 + 2.0).log2())
                .sum();
            let mut list = |rows: &[(String, f64, LanguageTag)]| -> Vec<(u32, f64, u32)> {
                rows.iter()
                    .map(|(d, s, t)| (intern(d, &mut ids), *s, tag_of(t)))
                    .collect()
            };
            let lexical = list(&q.lexical);
            let dense = list(&q.dense);
            queries.push(DevQuery {
                language: q.language.clone().into(),
                lexical,
                dense,
                gains,
                ideal_dcg,
            });
        }
        Dev {
            name,
            tags,
            queries,
        }
    }

    fn score(&self, ranking: impl Fn(&DevQuery) -> Vec<u32>) -> Scores {
        let mut total = Scores::default();
        for q in &self.queries {
            let ranked = ranking(q);
            let gain = |d: &u32| q.gains.get(d).copied().unwrap_or(0.0);
            if ranked.first().is_some_and(|d| gain(d) > 0.0) {
                total.r1 += 1.0 / q.gains.len() as f64;
            }
            if let Some(i) = ranked.iter().take(10).position(|d| gain(d) > 0.0) {
                total.mrr += 1.0 / (i as f64 + 1.0);
            }
            let dcg: f64 = ranked
                .iter()
                .take(10)
                .enumerate()
                .map(|(i, d)| gain(d) / (i as f64 + 2.0).log2())
                .sum();
            total.ndcg += dcg / q.ideal_dcg;
            total.recall += ranked.iter().take(DEPTH).filter(|d| gain(d) > 0.0).count() as f64
                / q.gains.len() as f64;
        }
        let n = self.queries.len().max(1) as f64;
        Scores {
            r1: total.r1 / n,
            mrr: total.mrr / n,
            ndcg: total.ndcg / n,
            recall: total.recall / n,
        }
    }

    fn fused(&self, weights: &FusionWeights) -> Scores {
        self.score(|q| {
            let hits = |rows: &[(u32, f64, u32)]| -> Vec<Hit<'_, u32>> {
                rows.iter()
                    .map(|(d, s, t)| (*d, *s, Some(&self.tags[*t as usize])))
                    .collect()
            };
            fuse(&hits(&q.lexical), &hits(&q.dense), &q.language, weights)
                .into_iter()
                .map(|(d, _)| d)
                .collect()
        })
    }
}

/// Whether a collection is cross-lingual (its guard is dense R@1) or monolingual (lexical's
/// nDCG@10, MRR@10 and Recall@100): most queries' languages differ from their top dense hit's.
fn cross_lingual(dev: &Dev) -> bool {
    let differ = dev
        .queries
        .iter()
        .filter(|q| {
            matches!(&q.language, TextLanguage::Known(l) if q.dense
                .first()
                .is_some_and(|(_, _, t)| &dev.tags[*t as usize] != l))
        })
        .count();
    differ * 2 > dev.queries.len()
}

/// The grid: every `SAME × CROSS × FLOOR`.
fn grid() -> Vec<FusionWeights> {
    let same: Vec<f64> = (0..=20).map(|i| f64::from(i) * 0.05).collect();
    let cross = [0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5];
    let floor = [0.0, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85];
    let mut out = Vec::new();
    for s in &same {
        for c in &cross {
            for f in &floor {
                out.push(FusionWeights {
                    same_language_lexical: *s,
                    cross_language_lexical: *c,
                    cosine_floor: *f,
                });
            }
        }
    }
    out
}

/// Runs the sweep and prints the best grid points on the dev queries: the highest objective among
/// the points that strictly beat every guard (a tie on 595 queries is within one query).
pub fn run(paths: &[std::path::PathBuf], all: bool) -> anyhow::Result<ExitCode> {
    let devs: Vec<Dev> = paths
        .iter()
        .map(|p| Lists::load(p).map(Dev::new))
        .collect::<anyhow::Result<_>>()?;
    if devs.iter().any(|d| d.queries.is_empty()) {
        bail!("a lists file has no judged dev query");
    }
    // Baselines on the same dev queries.
    let baselines: Vec<(bool, Scores, Scores)> = devs
        .iter()
        .map(|d| {
            let lexical = d.score(|q| q.lexical.iter().map(|(d, _, _)| *d).collect());
            let dense = d.score(|q| q.dense.iter().map(|(d, _, _)| *d).collect());
            (cross_lingual(d), lexical, dense)
        })
        .collect();
    for (d, (cross, lexical, dense)) in devs.iter().zip(&baselines) {
        let detected: usize = d
            .queries
            .iter()
            .filter(|q| matches!(&q.language, TextLanguage::Known(l) if l.as_str() != "en"))
            .count();
        eprintln!(
            "{:16} dev queries {:4} ({}; {} queries not English) lexical R@1 {:.4} MRR {:.4} nDCG {:.4} R@100 {:.4} | dense R@1 {:.4} MRR {:.4} nDCG {:.4} R@100 {:.4}",
            d.name,
            d.queries.len(),
            if *cross {
                "cross-lingual"
            } else {
                "monolingual"
            },
            detected,
            lexical.r1,
            lexical.mrr,
            lexical.ndcg,
            lexical.recall,
            dense.r1,
            dense.mrr,
            dense.ndcg,
            dense.recall
        );
    }
    let points = grid();
    let results: Vec<(FusionWeights, Vec<Scores>)> = points
        .par_iter()
        .map(|w| (*w, devs.iter().map(|d| d.fused(w)).collect()))
        .collect();
    // The guard margin: the worst of (hybrid − dense R@1) on cross-lingual sets and
    // (hybrid − lexical) on nDCG@10, MRR@10 and Recall@100 on monolingual ones.
    let margin = |scores: &[Scores]| -> f64 {
        scores
            .iter()
            .zip(&baselines)
            .flat_map(|(s, (cross, lexical, dense))| {
                if *cross {
                    vec![s.r1 - dense.r1]
                } else {
                    vec![
                        s.ndcg - lexical.ndcg,
                        s.mrr - lexical.mrr,
                        s.recall - lexical.recall,
                    ]
                }
            })
            .fold(f64::INFINITY, f64::min)
    };
    // The objective: mean over collections of the mean of R@1, MRR@10 and nDCG@10.
    let objective = |scores: &[Scores]| -> f64 {
        scores
            .iter()
            .map(|s| (s.r1 + s.mrr + s.ndcg) / 3.0)
            .sum::<f64>()
            / scores.len() as f64
    };
    let line = |w: &FusionWeights, scores: &[Scores]| {
        let mut out = format!(
            "{:.3}\t{:.3}\t{:.2}\t{:.4}\t{:+.4}",
            w.same_language_lexical,
            w.cross_language_lexical,
            w.cosine_floor,
            objective(scores),
            margin(scores)
        );
        for (d, s) in devs.iter().zip(scores) {
            out.push_str(&format!(
                "\t{} {:.4}/{:.4}/{:.4}/{:.4}",
                d.name, s.r1, s.mrr, s.ndcg, s.recall
            ));
        }
        out
    };
    println!("same\tcross\tfloor\tobjective\tmargin\tcollection R@1/MRR@10/nDCG@10/R@100 ...");
    if all {
        for (w, scores) in &results {
            println!("{}", line(w, scores));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut feasible: Vec<&(FusionWeights, Vec<Scores>)> =
        results.iter().filter(|(_, s)| margin(s) > 0.0).collect();
    feasible.sort_by(|a, b| objective(&b.1).total_cmp(&objective(&a.1)));
    println!(
        "# best objective among points whose margin > 0 (every guard strictly beaten; {} of {})",
        feasible.len(),
        results.len()
    );
    for (w, scores) in feasible.iter().take(15) {
        println!("{}", line(w, scores));
    }
    let mut by_margin: Vec<&(FusionWeights, Vec<Scores>)> = results.iter().collect();
    by_margin.sort_by(|a, b| margin(&b.1).total_cmp(&margin(&a.1)));
    println!("# best margin");
    for (w, scores) in by_margin.iter().take(10) {
        println!("{}", line(w, scores));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(code: &str) -> LanguageTag {
        LanguageTag::new(code).unwrap()
    }

    #[test]
    fn weights_parse_from_three_numbers() {
        let w = parse_weights("0.2, 0.02,0.65").unwrap();
        assert_eq!(
            (
                w.same_language_lexical,
                w.cross_language_lexical,
                w.cosine_floor
            ),
            (0.2, 0.02, 0.65)
        );
        assert!(parse_weights("0.2,0.02").is_err() && parse_weights("a,b,c").is_err());
        assert_eq!(parse_report("default").unwrap(), FusionWeights::default());
    }

    #[test]
    fn splits_alternate_by_position_and_fused_runs_are_strict() {
        assert!(Split::Dev.holds_position(0) && !Split::Dev.holds_position(1));
        assert!(Split::Test.holds_position(1) && !Split::Test.holds_position(2));
        let mut qrels = Qrels::new();
        for q in ["q0", "q1", "q2"] {
            qrels.entry(q.into()).or_default().insert("d1".into(), 1.0);
        }
        let dev =
            crate::eval::text::split_qrels(&qrels, ["q0", "q1", "q2"].into_iter(), Split::Dev);
        assert_eq!(dev.keys().collect::<Vec<_>>(), ["q0", "q2"]);

        let en = tag("en");
        let lists = Lists {
            collection: "c".into(),
            queries: vec![QueryLists {
                id: "q0".into(),
                language: Some(en.clone()),
                lexical: vec![
                    ("d1".into(), 3.0, en.clone()),
                    ("d2".into(), 3.0, en.clone()),
                ],
                dense: vec![
                    ("d3".into(), 0.5, en.clone()),
                    ("d4".into(), 0.5, en.clone()),
                ],
            }],
            qrels,
        };
        let run = lists.fused(&FusionWeights::default());
        let ranked = &run["q0"];
        assert_eq!(ranked.len(), 4);
        assert!(ranked.windows(2).all(|p| p[0].1 > p[1].1), "{ranked:?}");
    }
}
