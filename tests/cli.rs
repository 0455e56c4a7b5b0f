//! The commands other than import: search, show, reindex, stats, demo, eval, fixtures.

use serde_json::Value;

use crate::common::*;

#[test]
fn search_json_carries_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = jsonl(
        dir.path(),
        "in.jsonl",
        &[
            offer("o-1", "Solar water pump"),
            offer("o-2", "Battery recycling plant"),
        ],
    );
    ok(
        &dir.path().join("data"),
        &["import", file.to_str().unwrap()],
    );
    let out: Value = serde_json::from_str(&ok(
        &dir.path().join("data"),
        &["search", "solar pumps", "--json"],
    ))
    .unwrap();
    assert_eq!(out["total"], 1);
    let hit = &out["hits"][0];
    for field in ["id", "external_id", "kind", "title", "score"] {
        assert!(!hit[field].is_null(), "{field} missing in {hit}");
    }
    assert_eq!(hit["external_id"], "o-1");
    assert!(out["facets"]["country"][0]["value"] == "KZ");
}

#[test]
fn search_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(
        fails(&data, &["search", "x", "--limit", "0"])
            .contains("--limit must be between 1 and 100")
    );
    assert!(
        fails(&data, &["search", "x", "--offset", "9999", "--limit", "5"])
            .contains("at most 10000")
    );
    assert!(fails(&data, &["search", "x", "--country", "China"]).contains("--country `China`"));
    assert!(
        fails(&data, &["search", "x", "--trl-min", "12"])
            .contains("--trl-min must be between 1 and 9")
    );
}

#[test]
fn show_finds_by_id_and_external_id_and_names_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = jsonl(dir.path(), "in.jsonl", &[offer("o-1", "Solar water pump")]);
    ok(&data, &["import", file.to_str().unwrap()]);
    let shown: Value = serde_json::from_str(&ok(&data, &["show", "o-1"])).unwrap();
    let id = shown["id"].as_str().unwrap().to_owned();
    let again: Value = serde_json::from_str(&ok(&data, &["show", &id])).unwrap();
    assert_eq!(
        again["body"]["contact"]["email"], "a.person@example.org",
        "the operator's CLI sees contacts"
    );
    let err = fails(&data, &["show", "nope-42"]);
    assert!(err.contains("listing `nope-42` not found"), "{err}");
}

#[test]
fn reindex_after_losing_the_index_gives_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = jsonl(
        dir.path(),
        "in.jsonl",
        &[
            offer("o-1", "Solar water pump"),
            offer("o-2", "Battery recycling plant"),
        ],
    );
    ok(&data, &["import", file.to_str().unwrap()]);
    let before = ok(&data, &["search", "battery", "--json"]);
    std::fs::remove_dir_all(data.join("search")).unwrap();
    // Opening replays the whole store into a fresh index; reindex does the same on demand.
    assert_eq!(ok(&data, &["search", "battery", "--json"]), before);
    assert!(ok(&data, &["reindex"]).contains("reindexed 2 listings"));
    assert_eq!(ok(&data, &["search", "battery", "--json"]), before);
}

#[test]
fn demo_loads_fixtures_idempotently_and_searches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = repo_root();
    let first = ok(
        &data,
        &[
            "demo",
            "--no-serve",
            "--lexical",
            "--fixtures",
            root.join("fixtures/demo.jsonl").to_str().unwrap(),
        ],
    );
    assert!(first.contains("created"), "{first}");
    assert!(
        first.contains("太阳能"),
        "the demo shows a Chinese search: {first}"
    );
    let second = ok(
        &data,
        &[
            "demo",
            "--no-serve",
            "--lexical",
            "--fixtures",
            root.join("fixtures/demo.jsonl").to_str().unwrap(),
        ],
    );
    assert!(
        second.contains(" 0 created, 0 updated"),
        "a second run changes nothing: {second}"
    );

    // Without the model and no way to fetch it (here: no Python), the demo says so once and runs by
    // words.
    let output = std::process::Command::new(binary())
        .arg("--data")
        .arg(&data)
        .args(["demo", "--no-serve", "--fixtures"])
        .arg(root.join("fixtures/demo.jsonl"))
        .env("SILKMATCH_PYTHON", dir.path().join("no-such-python"))
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("lexical only").count(),
        1,
        "one clear note: {stderr}"
    );
    assert!(stderr.contains("silkmatch model fetch"), "{stderr}");
    assert!(stdout.contains("太阳能"), "{stdout}");
}

#[test]
fn fixtures_are_deterministic_and_importable() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    for out in [&a, &b] {
        ok(
            dir.path(),
            &[
                "fixtures",
                "generate",
                "--offers",
                "300",
                "--needs",
                "200",
                "--seed",
                "7",
                "--out",
                out.to_str().unwrap(),
            ],
        );
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let data = dir.path().join("data");
    assert!(ok(&data, &["import", a.to_str().unwrap()]).contains("500 created"));
    assert_eq!(listing_count(&data), 500);
}

#[test]
fn eval_text_agrees_with_the_reference_scorer_and_beats_bm25s() {
    let shared = repo_root().join("../shared/eval");
    let dir = tempfile::tempdir().unwrap();
    // Reference bm25s nDCG@10 (../shared/eval/README.md): ours must be at least as good.
    for (collection, bm25s_ndcg) in [("cranfield", 0.3730), ("cacm", 0.4935)] {
        let run_file = dir.path().join(format!("{collection}.run"));
        let collection_dir = shared.join(collection);
        let ours: Value = serde_json::from_str(&ok(
            dir.path(),
            &[
                "eval",
                "text",
                "--collection",
                collection_dir.to_str().unwrap(),
                "--json",
                "--run",
                run_file.to_str().unwrap(),
            ],
        ))
        .unwrap();
        let scored = std::process::Command::new("python3")
            .arg(shared.join("score.py"))
            .arg(collection_dir.join("qrels.tsv"))
            .arg(&run_file)
            .arg("--json")
            .output()
            .unwrap();
        let reference: Value = serde_json::from_slice(&scored.stdout).unwrap();
        for (ours_key, reference_key) in [
            ("ndcg@10", "nDCG@10"),
            ("recall@100", "Recall@100"),
            ("mrr@10", "MRR@10"),
        ] {
            let difference = (ours[ours_key].as_f64().unwrap()
                - reference[reference_key].as_f64().unwrap())
            .abs();
            assert!(
                difference < 1e-9,
                "{collection} {ours_key}: {ours} vs {reference}"
            );
        }
        assert!(
            ours["ndcg@10"].as_f64().unwrap() >= bm25s_ndcg,
            "{collection}: {ours}"
        );
    }
}

#[test]
fn eval_text_reports_a_missing_collection() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(
        dir.path(),
        &["eval", "text", "--collection", "/nonexistent/collection"],
    );
    assert!(
        err.contains("cannot open /nonexistent/collection/docs.jsonl"),
        "{err}"
    );
}
