//! Batch ranking against a real store and index, with reference times chosen by the test: listings
//! whose publication lapses between the run's reference time and its end are reported, and never
//! served afterwards.

mod support;

use serde_json::{Value, json};
use silkmatch_core::Timestamp;
use silkmatch_index::Engine;
use silkmatch_index::batch::{self, BatchOptions, Direction};
use support::store;

const DAY: i64 = 86_400;

fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T02:00:00Z").unwrap()
}

fn listing(kind: &str, external_id: &str, text: &str) -> Value {
    let mut value = json!({
        "kind": kind, "external_id": external_id, "language": "en", "title": text,
        "summary": format!("{text}: solar membrane desalination of brackish water."),
        "technology_fields": [24], "sectors": ["E"], "cooperation": ["licence"],
        "organisation": {"name": format!("Org {external_id}"), "kind": "sme", "country": "KZ"},
        "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
    });
    if kind == "offer" {
        value["trl"] = json!(7);
        value["ipr"] = json!("granted");
    } else {
        value["trl_min"] = json!(4);
    }
    value
}

#[test]
fn listings_expiring_during_a_run_are_reported_and_not_served_after() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("data")).unwrap();
    let needs = store(
        &engine,
        vec![listing("need", "n1", "Desalination plant")],
        t0(),
    );
    // Published 300 days before the run: its year ends 65 days after the run's reference time.
    let old = store(
        &engine,
        vec![listing("offer", "o-old", "Solar desalination units")],
        t0().plus_days(-300),
    );
    store(
        &engine,
        vec![listing("offer", "o-new", "Membrane desalination modules")],
        t0(),
    );
    let out = dir.path().join("out");
    let options = BatchOptions {
        direction: Direction::Needs,
        k: 5,
        out: out.clone(),
        partition: None,
        since_last_run: false,
        now: Some(t0()),
        // The run "ends" 100 days after its reference time: the old offer has lapsed by then.
        wall_clock: Timestamp::from_unix(t0().unix() + 100 * DAY),
        chunk_size: 4,
        threshold: 0.5,
        publish: true,
        vectors_seq: None,
    };
    let outcome = batch::run(&engine, &options, &|_, _| {}).unwrap();
    assert_eq!(outcome.summary.listings, 1);
    assert_eq!(
        outcome.summary.expired_since_ranked_at, 0,
        "only planned listings count"
    );
    let line = std::fs::read_to_string(out.join("recommendations.jsonl")).unwrap();
    assert!(
        line.contains(&old[0].id),
        "ranked as of its reference time: {line}"
    );

    let later = Timestamp::from_unix(t0().unix() + 100 * DAY);
    let served = batch::stored(&engine, &needs[0].id, later)
        .unwrap()
        .unwrap();
    assert_eq!(served.ranked_at, t0());
    assert!(
        served
            .recommendations
            .iter()
            .all(|candidate| candidate.id != old[0].id)
    );
    assert_eq!(served.recommendations.len(), 1);

    // Offers ranked as of the reference time, with the old one among them, then reported as lapsed.
    let options = BatchOptions {
        direction: Direction::Offers,
        out: dir.path().join("offers"),
        ..options
    };
    let outcome = batch::run(&engine, &options, &|_, _| {}).unwrap();
    assert_eq!(
        (
            outcome.summary.listings,
            outcome.summary.expired_since_ranked_at
        ),
        (2, 1)
    );
}
