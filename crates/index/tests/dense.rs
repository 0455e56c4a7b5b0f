//! Meaning in matching, on a real index: the catch-up worker's bookkeeping, candidates found by
//! meaning under the same hard constraints, and explanations that say so.
//!
//! The model here is a small concept embedder standing in for multilingual-e5 (which needs a
//! download; `tests/model.rs` runs the real one end to end): words of one concept in any language
//! map to the same axis, so "海水淡化" and "desalination" embed alike and share no term.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use silkmatch_core::{Listing, Timestamp};
use silkmatch_index::{
    Embedder, Engine, IndexCommit, MAX_PASSAGE_CHARS, MatchRequest, Target, Write, passage_text,
};

const CONCEPTS: [&[&str]; 4] = [
    &["desalination", "淡化", "опреснение"],
    &["battery", "电池", "аккумулятор"],
    &["solar", "太阳能", "солнечн"],
    &["wheat", "小麦", "пшениц"],
];

struct ConceptEmbedder {
    name: &'static str,
    passages: AtomicUsize,
}

impl ConceptEmbedder {
    fn new(name: &'static str) -> ConceptEmbedder {
        ConceptEmbedder {
            name,
            passages: AtomicUsize::new(0),
        }
    }

    fn vector(text: &str) -> Vec<f32> {
        let text = text.to_lowercase();
        let mut vector = vec![0.3f32; CONCEPTS.len() + 1];
        for (axis, words) in CONCEPTS.iter().enumerate() {
            if words.iter().any(|word| text.contains(word)) {
                vector[axis] += 3.0;
            }
        }
        let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        vector.iter().map(|v| v / norm).collect()
    }
}

impl Embedder for ConceptEmbedder {
    fn model_id(&self) -> String {
        self.name.into()
    }
    fn dimensions(&self) -> usize {
        CONCEPTS.len() + 1
    }
    fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        self.passages.fetch_add(texts.len(), Ordering::Relaxed);
        Ok(texts.iter().map(|text| Self::vector(text)).collect())
    }
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, String> {
        Ok(Self::vector(text))
    }
}

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

/// A Chinese need for desalination; its field (32) is one no offer below names.
fn chinese_need() -> Value {
    json!({
        "kind": "need", "external_id": "n-zh", "language": "zh", "title": "寻求海水淡化膜技术",
        "summary": "我们需要一种低能耗的海水淡化技术，用于沿海城市供水。",
        "technology_fields": [32], "sectors": ["E"], "trl_min": 5, "cooperation": ["licence"],
        "organisation": {"name": "Buyer", "kind": "sme", "country": "KZ"},
        "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
    })
}

fn english_offer(external_id: &str, org: &str, topic: &str) -> Value {
    json!({
        "kind": "offer", "external_id": external_id, "language": "en", "title": format!("Offer of {topic} technology"),
        "summary": format!("A proven {topic} process available for licensing."),
        "technology_fields": [24], "sectors": ["E"], "trl": 7, "ipr": "granted", "cooperation": ["licence"],
        "organisation": {"name": org, "kind": "university", "country": "CN"},
        "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
    })
}

fn store(engine: &Engine, values: Vec<Value>) -> Vec<Listing> {
    support::store(engine, values, now())
}

fn corpus(engine: &Engine) -> Vec<Listing> {
    let mut wrong_cooperation = english_offer("o-trap-coop", "Trap 1", "seawater desalination");
    wrong_cooperation["cooperation"] = json!(["investment"]);
    let mut too_immature = english_offer("o-trap-trl", "Trap 2", "seawater desalination");
    too_immature["trl"] = json!(3);
    let mut unpublished = english_offer("o-draft", "Trap 3", "seawater desalination");
    unpublished["status"] = json!("draft");
    store(
        engine,
        vec![
            chinese_need(),
            english_offer("o-desal", "Seller", "seawater desalination"),
            english_offer("o-battery", "Seller 2", "battery recycling"),
            wrong_cooperation,
            too_immature,
            unpublished,
        ],
    )
}

fn matches(engine: &Engine, listing: &Listing) -> Vec<(String, Option<String>)> {
    engine
        .matches_for(listing, &MatchRequest::default(), now())
        .unwrap()
        .matches
        .into_iter()
        .map(|found| {
            (
                found.listing.body.external_id.unwrap(),
                found
                    .explanation
                    .and_then(|explanation| explanation.meaning)
                    .filter(|note| note.decisive && note.cross_language)
                    .map(|note| note.summary),
            )
        })
        .collect()
}

#[test]
fn a_chinese_need_finds_the_english_offer_by_meaning_and_only_under_the_hard_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let listings = corpus(&engine);
    let need = &listings[0];

    // Lexically the need shares no word and no technology field with any offer.
    assert!(matches(&engine, need).is_empty());

    let model = ConceptEmbedder::new("concepts-v1");
    let report = engine.embed_pending(&model, None, &|_, _| {}).unwrap();
    // Five published listings embedded; the draft needs no vector yet.
    assert_eq!((report.embedded, report.skipped), (5, 1));
    let found = matches(&engine, need);
    let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.first(), Some(&"o-desal"), "{found:?}");
    assert!(
        ids.iter()
            .all(|id| !id.starts_with("o-trap") && *id != "o-draft"),
        "a candidate found by meaning must still pass every hard constraint: {found:?}"
    );
    let summary = found[0]
        .1
        .as_deref()
        .expect("the explanation names meaning");
    assert!(
        summary.starts_with("matched by meaning: zh need ↔ en offer, similarity"),
        "{summary}"
    );

    // The other direction: the offer finds the need the same way.
    let offer = &listings[1];
    let back = matches(&engine, offer);
    assert_eq!(
        back.first().map(|(id, _)| id.as_str()),
        Some("n-zh"),
        "{back:?}"
    );

    // Reopened, the engine reads the stored vectors and answers the same.
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert!(engine.has_vectors());
    assert_eq!(matches(&engine, need), found);
}

#[test]
fn catch_up_embeds_each_text_once_and_follows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let listings = corpus(&engine);
    let model = ConceptEmbedder::new("concepts-v1");
    engine.embed_pending(&model, None, &|_, _| {}).unwrap();
    let embedded_once = model.passages.load(Ordering::Relaxed);
    assert_eq!(embedded_once, 5);

    // Nothing changed: nothing to do.
    let idle = engine.embed_pending(&model, None, &|_, _| {}).unwrap();
    assert_eq!((idle.embedded, idle.reused, idle.skipped), (0, 0, 0));

    // Withdraw and publish again: same text, the vector is re-used, not recomputed.
    let offer = &listings[1];
    let target = Target {
        owner: offer.owner.clone(),
        id: offer.id.clone(),
        expected_version: None,
    };
    for write in [
        Write::Withdraw {
            target: target.clone(),
        },
        Write::Publish { target },
    ] {
        let outcome = engine.write(vec![write], now(), IndexCommit::Now).unwrap();
        assert!(outcome[0].is_ok());
    }
    let status_only = engine.embed_pending(&model, None, &|_, _| {}).unwrap();
    // (The withdrawal is no longer a change of its own: the store keeps each listing's last one.)
    assert_eq!(
        (
            status_only.embedded,
            status_only.reused,
            status_only.skipped
        ),
        (0, 1, 0)
    );
    assert_eq!(model.passages.load(Ordering::Relaxed), embedded_once);
    assert_eq!(matches(&engine, &listings[0])[0].0, "o-desal");

    // An edit of the text is embedded again; the status says embedding has caught up.
    let mut edited = english_offer("o-battery", "Seller 2", "wheat milling");
    edited["summary"] = json!("A new wheat milling process available for licensing.");
    store(&engine, vec![edited]);
    let edit = engine.embed_pending(&model, None, &|_, _| {}).unwrap();
    assert_eq!(edit.embedded, 1);
    let status = engine.dense_status().unwrap();
    assert_eq!(status.reached_seq, status.last_seq);
    assert_eq!(status.vectors, 5);

    // A limit stops early and the next pass resumes from there.
    store(
        &engine,
        vec![
            english_offer("o-a", "Seller A", "solar drying"),
            english_offer("o-b", "Seller B", "solar cooling"),
        ],
    );
    let first = engine.embed_pending(&model, Some(1), &|_, _| {}).unwrap();
    assert_eq!(first.embedded, 1);
    let rest = engine.embed_pending(&model, None, &|_, _| {}).unwrap();
    assert_eq!(rest.embedded, 1);

    // Another model's vectors are never mixed in: everything is embedded again.
    let other = ConceptEmbedder::new("concepts-v2");
    let again = engine.embed_pending(&other, None, &|_, _| {}).unwrap();
    assert_eq!(again.embedded, 7);
    assert_eq!(
        engine.dense_status().unwrap().model.as_deref(),
        Some("concepts-v2")
    );
}

#[test]
fn a_chinese_query_finds_english_listings_by_meaning_under_the_filters() {
    use silkmatch_core::Kind;
    use silkmatch_index::{Filters, SearchRequest, TextMode};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    corpus(&engine);
    let search = |engine: &Engine, text: &str, mode: TextMode, kind: Option<Kind>| {
        let request = SearchRequest {
            text: text.into(),
            mode,
            filters: Filters {
                kind,
                ..Filters::default()
            },
            ..SearchRequest::default()
        };
        engine.search(&request, now()).unwrap()
    };
    let ids = |results: &silkmatch_index::SearchResults| -> Vec<String> {
        results
            .hits
            .iter()
            .map(|hit| hit.listing.body.external_id.clone().unwrap())
            .collect()
    };
    // No vectors, no model: words only, and the words do not meet.
    assert_eq!(
        search(
            &engine,
            "海水淡化 技术",
            TextMode::Hybrid,
            Some(Kind::Offer)
        )
        .total,
        0
    );

    let model = Arc::new(ConceptEmbedder::new("concepts-v1"));
    engine.embed_pending(&*model, None, &|_, _| {}).unwrap();
    engine.set_embedder(model);
    let found = search(
        &engine,
        "海水淡化 技术",
        TextMode::Hybrid,
        Some(Kind::Offer),
    );
    let found_ids = ids(&found);
    assert!(found_ids.contains(&"o-desal".to_string()), "{found_ids:?}");
    assert!(
        !found_ids.contains(&"o-draft".to_string()),
        "drafts are never found: {found_ids:?}"
    );
    assert_eq!(found.total, found.hits.len());
    let countries = &found.facets["country"];
    assert!(
        countries.iter().any(|count| count.value == "CN"),
        "{countries:?}"
    );
    assert!(
        found
            .hits
            .iter()
            .all(|hit| hit.listing.body.contact.is_none()),
        "contacts never leave search"
    );
    // Filters apply to what meaning finds: asking for needs, no offer comes back.
    let needs = search(&engine, "海水淡化 技术", TextMode::Hybrid, Some(Kind::Need));
    assert!(
        ids(&needs).iter().all(|id| id.starts_with("n-")),
        "{:?}",
        ids(&needs)
    );
    // Words only, on request: nothing, as before.
    assert_eq!(
        search(
            &engine,
            "海水淡化 技术",
            TextMode::Lexical,
            Some(Kind::Offer)
        )
        .total,
        0
    );
    // An English query still ranks the listing that has its words first.
    let english = search(
        &engine,
        "seawater desalination",
        TextMode::Hybrid,
        Some(Kind::Offer),
    );
    assert_eq!(ids(&english).first().map(String::as_str), Some("o-desal"));
}

#[test]
fn the_model_reads_title_summary_and_description_without_blank_lines_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut listing = store(&engine, vec![english_offer("p-1", "Org", "solar")]).remove(0);
    listing.body.title = "Title".into();
    listing.body.summary = "Summary".into();
    listing.body.description = Some("Description".into());
    assert_eq!(passage_text(&listing), "Title\nSummary\nDescription");
    // Blank parts add no line: a trailing line break is a token of its own to the model.
    listing.body.summary = "  ".into();
    listing.body.description = Some(String::new());
    assert_eq!(passage_text(&listing), "Title");
    listing.body.description = Some("Description".into());
    assert_eq!(passage_text(&listing), "Title\nDescription");
    // Cut by characters, never inside one.
    listing.body.description = Some("é".repeat(3 * MAX_PASSAGE_CHARS));
    let text = passage_text(&listing);
    assert_eq!(text.chars().count(), MAX_PASSAGE_CHARS);
    assert!(text.starts_with("Title\né"));
}

/// The lines of a finished run's `recommendations.jsonl`.
fn recommendations(out: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(out.join("recommendations.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_batch_ranks_with_the_vectors_it_started_with_and_the_next_incremental_run_follows_new_ones() {
    use silkmatch_index::batch::{self, BatchOptions, Direction};

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    // A need no offer below can reach, by words, field or meaning: an incremental run carries it.
    let unrelated = json!({
        "kind": "need", "external_id": "n-wheat", "language": "en",
        "title": "Grinding wheat into flour", "summary": "Mills wanted for bakeries.",
        "technology_fields": [1], "sectors": ["A"], "trl_min": 5, "cooperation": ["licence"],
        "organisation": {"name": "Bakery", "kind": "sme", "country": "KZ"},
        "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
    });
    store(&engine, vec![unrelated]);
    let listings = corpus(&engine);
    let (need, offer) = (&listings[0].id, &listings[1].id);
    let model = ConceptEmbedder::new("concepts-v1");
    // Embedding is behind: only the two needs (the first changes) have their vectors.
    engine.embed_pending(&model, Some(2), &|_, _| {}).unwrap();
    let embedded_then = engine.stored_vectors_at().unwrap().unwrap().reached_seq;
    let options = |name: &str, since_last_run: bool, publish: bool| BatchOptions {
        direction: Direction::Both,
        k: 5,
        out: dir.path().join(name),
        partition: None,
        since_last_run,
        now: Some(now()),
        wall_clock: now(),
        chunk_size: 1,
        threshold: 0.5,
        publish,
        vectors_seq: None,
    };
    let need_line = |lines: &[String]| -> String {
        lines
            .iter()
            .find(|line| line.contains(&format!("\"id\":\"{need}\"")))
            .cloned()
            .unwrap()
    };

    // Uninterrupted, with the vectors there are: the need's offer has none yet, so no match.
    batch::run(&engine, &options("reference", false, false), &|_, _| {}).unwrap();
    let reference = recommendations(&dir.path().join("reference"));
    assert!(!need_line(&reference).contains(offer.as_str()));

    // The same run, stopped after its first chunk...
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        batch::run(&engine, &options("resumed", false, true), &|done, _| {
            assert!(done < 2, "stopped");
        })
    }));
    assert!(stopped.is_err());
    // ...while embedding catches up (the server's worker would, between the kill and the restart)...
    engine.embed_pending(&model, None, &|_, _| {}).unwrap();
    // ...then resumed: it ranks with the vectors it started with, and ends as the uninterrupted run.
    let outcome = batch::run(&engine, &options("resumed", false, true), &|_, _| {}).unwrap();
    assert!(outcome.summary.resumed);
    assert_eq!(recommendations(&dir.path().join("resumed")), reference);

    // Shards started now, told the change embedding had reached when the reference run started,
    // rank with the same vectors: together they are the reference run.
    let mut shards = Vec::new();
    for shard in 0..2 {
        let out = format!("shard-{shard}");
        let shard_options = BatchOptions {
            partition: Some(batch::Partition::parse(&format!("{shard}/2")).unwrap()),
            vectors_seq: Some(embedded_then),
            ..options(&out, false, false)
        };
        batch::run(&engine, &shard_options, &|_, _| {}).unwrap();
        shards.extend(recommendations(&dir.path().join(out)));
    }
    assert_eq!(shards, reference);
    let ahead = BatchOptions {
        vectors_seq: Some(embedded_then + 1_000),
        ..options("ahead", false, false)
    };
    let err = batch::run(&engine, &ahead, &|_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("ahead of embedding"), "{err}");

    // A new full run has the offer's vector: the need finds it by meaning.
    batch::run(&engine, &options("full", false, false), &|_, _| {}).unwrap();
    let full = recommendations(&dir.path().join("full"));
    assert!(need_line(&full).contains(offer.as_str()), "{full:?}");

    // No listing changed since the resumed run, yet its vectors did: the incremental run re-ranks
    // what they reach and equals the full run.
    let outcome = batch::run(&engine, &options("incremental", true, true), &|_, _| {}).unwrap();
    assert_eq!(
        (outcome.summary.ranked, outcome.summary.carried_over),
        (5, 1),
        "the four offers and the need they reach by meaning are ranked, the wheat need carried"
    );
    assert_eq!(recommendations(&dir.path().join("incremental")), full);
}
