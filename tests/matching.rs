//! `silkmatch match` and `silkmatch eval match` on the real binary.

use serde_json::{Value, json};

use crate::common::*;

fn need(external_id: &str, title: &str) -> Value {
    json!({
        "external_id": external_id, "kind": "need", "language": "en", "title": title,
        "summary": format!("We are looking for {title}."), "technology_fields": [24], "sectors": ["E"],
        "trl_min": 4, "cooperation": ["licence", "joint_development"], "status": "published",
        "organisation": {"name": "Steppe Water LLP", "kind": "sme", "country": "KZ"},
        "contact": {"name": "B. Buyer", "email": "b.buyer@example.kz"}
    })
}

#[test]
fn match_need_and_offer_by_external_id_with_json_and_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut seller = offer("o-1", "Solar powered membrane desalination");
    seller["technology_fields"] = json!([24]);
    let file = jsonl(
        dir.path(),
        "in.jsonl",
        &[
            need("n-1", "Solar desalination of brackish water"),
            seller,
            offer("o-2", "Battery recycling plant"),
        ],
    );
    ok(&data, &["import", file.to_str().unwrap()]);
    let out: Value = serde_json::from_str(&ok(&data, &["match", "need", "n-1", "--json"])).unwrap();
    let first = &out["matches"][0];
    for field in ["id", "external_id", "kind", "title", "score", "explanation"] {
        assert!(!first[field].is_null(), "{field} missing in {first}");
    }
    assert_eq!(first["external_id"], "o-1");
    assert!(
        first["explanation"]["matched_terms"]
            .as_array()
            .unwrap()
            .contains(&json!("desalin"))
    );
    let text = ok(&data, &["match", "offer", "o-1", "--explain"]);
    assert!(
        text.contains("n-1")
            && text.contains("signals:")
            && text.contains("cooperation both accept: licence"),
        "{text}"
    );
    let err = fails(&data, &["match", "need", "o-1"]);
    assert!(err.contains("`o-1` is an offer, not a need"), "{err}");
    let err = fails(&data, &["match", "need", "nope"]);
    assert!(err.contains("listing `nope` not found"), "{err}");
}

#[test]
fn match_a_listing_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = jsonl(
        dir.path(),
        "in.jsonl",
        &[offer("o-1", "Solar powered membrane desalination")],
    );
    ok(&data, &["import", file.to_str().unwrap()]);
    let listing = dir.path().join("need.json");
    std::fs::write(
        &listing,
        need("visitor", "Desalination with solar energy").to_string(),
    )
    .unwrap();
    let out: Value = serde_json::from_str(&ok(
        &data,
        &["match", "--file", listing.to_str().unwrap(), "--json"],
    ))
    .unwrap();
    assert_eq!(out["matches"][0]["external_id"], "o-1");
    std::fs::write(&listing, r#"{"kind": "need", "title": "x"}"#).unwrap();
    let err = fails(&data, &["match", "--file", listing.to_str().unwrap()]);
    assert!(
        err.contains("is not a valid listing") && err.contains("title"),
        "{err}"
    );
}

#[test]
fn weights_files_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = jsonl(dir.path(), "in.jsonl", &[need("n-1", "Solar desalination")]);
    ok(&data, &["import", file.to_str().unwrap()]);
    let weights = dir.path().join("weights.toml");
    std::fs::write(&weights, "version = 3\n[weights]\ntext = -1\ntechnology = 1\nkeywords = 1\nsector = 1\nreadiness = 1\npartner = 1\nfreshness = 1\n[meaning]\nsame_language_lexical = 0.2\ncross_language_lexical = 0.02\ncosine_floor = 0.65\n").unwrap();
    let err = fails(
        &data,
        &[
            "match",
            "need",
            "n-1",
            "--weights",
            weights.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("weight `text` must be a non-negative number"),
        "{err}"
    );
    std::fs::write(&weights, "version = 3\n[weights]\ntext = 1\ncolour = 2\n").unwrap();
    assert!(
        fails(
            &data,
            &[
                "match",
                "need",
                "n-1",
                "--weights",
                weights.to_str().unwrap()
            ]
        )
        .contains("unknown field `colour`")
    );
    let err = fails(
        &data,
        &[
            "match",
            "need",
            "n-1",
            "--weights",
            "/nonexistent/weights.toml",
        ],
    );
    assert!(
        err.contains("cannot read weights file /nonexistent/weights.toml"),
        "{err}"
    );
}

#[test]
fn eval_match_has_no_violations_and_the_full_model_beats_text() {
    let dir = tempfile::tempdir().unwrap();
    let set = repo_root().join("fixtures/matchset");
    let out: Value = serde_json::from_str(&ok(
        dir.path(),
        &[
            "eval",
            "match",
            "--set",
            set.to_str().unwrap(),
            "--split",
            "all",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(out["violations"], 0, "{out}");
    for direction in ["need_to_offer", "offer_to_need"] {
        let ndcg = |ranker: &str| out[direction][ranker]["ndcg@10"].as_f64().unwrap();
        assert!(ndcg("full") > ndcg("text_only") + 0.1, "{direction}: {out}");
        assert!(
            ndcg("reciprocal") > ndcg("text_only") + 0.1,
            "{direction}: {out}"
        );
    }
}

/// A set in the flat layout of ../shared/data/sbir-match, written here: the report has the
/// baselines beside the model, traps return nothing, and a qrels line naming a listing the set
/// does not have is one error naming the file and line.
#[test]
fn eval_match_reads_the_flat_layout_with_baselines_and_traps() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir(&set).unwrap();
    let mut seller = offer(
        "o-1",
        "Solar powered membrane desalination of brackish water",
    );
    seller["technology_fields"] = json!([24]);
    let mut trap = need("n-trap", "Solar membrane desalination of brackish water");
    trap["trl_min"] = json!(9);
    jsonl(
        &set,
        "listings.jsonl",
        &[
            need("n-1", "Solar desalination of brackish water"),
            need("n-2", "Battery recycling for lithium cells"),
            trap,
            seller,
            offer("o-2", "Lithium battery recycling plant"),
            offer("o-3", "Organic fertiliser from food waste"),
        ],
    );
    std::fs::write(set.join("queries.txt"), "n-1\nn-2\n").unwrap();
    std::fs::write(set.join("traps.txt"), "n-trap\n").unwrap();
    std::fs::write(set.join("qrels.tsv"), "n-1\to-1\t3\nn-2\to-2\t3\n").unwrap();
    let out: Value = serde_json::from_str(&ok(
        dir.path(),
        &[
            "eval",
            "match",
            "--set",
            set.to_str().unwrap(),
            "--split",
            "all",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(out["queries"], 2, "{out}");
    assert_eq!(out["violations"], 0, "{out}");
    assert_eq!(
        out["traps"],
        json!({"queries": 1, "matches_returned": 0}),
        "{out}"
    );
    for ranker in ["bm25", "text_only", "full", "reciprocal"] {
        let ndcg = out["need_to_offer"][ranker]["ndcg@10"].as_f64();
        assert_eq!(ndcg, Some(1.0), "{ranker}: {out}");
    }
    assert!(
        out.get("offer_to_need").is_none(),
        "no offer queries: {out}"
    );

    std::fs::write(set.join("qrels.tsv"), "n-1\to-1\t3\nn-2\to-9\t3\n").unwrap();
    let err = fails(
        dir.path(),
        &["eval", "match", "--set", set.to_str().unwrap()],
    );
    assert!(
        err.contains("qrels.tsv:2: listing `o-9` is not in listings.jsonl"),
        "{err}"
    );
    std::fs::remove_file(set.join("queries.txt")).unwrap();
    let err = fails(
        dir.path(),
        &["eval", "match", "--set", set.to_str().unwrap()],
    );
    assert!(err.contains("missing queries.txt"), "{err}");
}
