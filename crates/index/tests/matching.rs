//! Matching against a real index: hard constraints before top-k, both directions, unsaved listings.

mod support;

use serde_json::{Value, json};
use silkmatch_core::matching::Ranker;
use silkmatch_core::{Listing, Status, Timestamp, draft_from_value, validate};
use silkmatch_index::{Engine, MatchRequest};

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

fn need(external_id: &str, org: &str, text: &str) -> Value {
    json!({
        "kind": "need", "external_id": external_id, "language": "en", "title": format!("Need: {text}"), "summary": format!("We are looking for {text}."),
        "technology_fields": [24], "sectors": ["E"], "trl_min": 5, "cooperation": ["licence", "joint_development"],
        "organisation": {"name": org, "kind": "sme", "country": "KZ"}, "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
    })
}

fn offer(external_id: &str, org: &str, text: &str) -> Value {
    json!({
        "kind": "offer", "external_id": external_id, "language": "en", "title": format!("Offer: {text}"), "summary": format!("We offer {text} for licensing."),
        "technology_fields": [24], "sectors": ["E"], "trl": 7, "ipr": "granted", "cooperation": ["licence"],
        "organisation": {"name": org, "kind": "university", "country": "CN"}, "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
    })
}

fn store(engine: &Engine, values: Vec<Value>) -> Vec<Listing> {
    support::store(engine, values, now())
}

fn matched_ids(engine: &Engine, listing: &Listing, ranker: Ranker) -> Vec<String> {
    let request = MatchRequest {
        ranker,
        ..MatchRequest::default()
    };
    engine
        .matches_for(listing, &request, now())
        .unwrap()
        .matches
        .into_iter()
        .map(|found| found.listing.body.external_id.unwrap())
        .collect()
}

fn corpus(engine: &Engine) -> Vec<Listing> {
    let mut wrong_cooperation = offer(
        "o-trap-coop",
        "Org T1",
        "membrane water desalination with solar energy",
    );
    wrong_cooperation["cooperation"] = json!(["investment"]);
    let mut too_immature = offer(
        "o-trap-trl",
        "Org T2",
        "membrane water desalination with solar energy",
    );
    too_immature["trl"] = json!(3);
    // The need's own organisation: same name, country and kind, so the same owner.
    let mut own = offer(
        "o-own",
        "Buyer",
        "membrane water desalination with solar energy",
    );
    own["organisation"] = json!({"name": "Buyer", "kind": "sme", "country": "KZ"});
    let mut excluded_country = offer(
        "o-trap-country",
        "Org T3",
        "membrane water desalination with solar energy",
    );
    excluded_country["target_countries"] = json!(["RU"]);
    store(
        engine,
        vec![
            need(
                "n-1",
                "Buyer",
                "membrane water desalination powered by solar energy",
            ),
            offer(
                "o-good",
                "Seller",
                "solar powered membrane desalination of brackish water",
            ),
            offer(
                "o-other",
                "Seller 2",
                "lithium battery recycling by hydrometallurgy",
            ),
            own,
            wrong_cooperation,
            too_immature,
            excluded_country,
        ],
    )
}

#[test]
fn traps_never_appear_and_the_right_offer_leads() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let listings = corpus(&engine);
    for ranker in [
        Ranker::TextOnly,
        Ranker::Forward,
        Ranker::Backward,
        Ranker::Reciprocal,
    ] {
        let ids = matched_ids(&engine, &listings[0], ranker);
        assert_eq!(
            ids.first().map(String::as_str),
            Some("o-good"),
            "{ranker:?}: {ids:?}"
        );
        assert!(
            ids.iter()
                .all(|id| !id.starts_with("o-trap") && id != "o-own"),
            "{ranker:?}: {ids:?}"
        );
    }
}

#[test]
fn an_offer_finds_its_need_and_the_explanation_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let listings = corpus(&engine);
    let results = engine
        .matches_for(&listings[1], &MatchRequest::default(), now())
        .unwrap();
    let found = &results.matches[0];
    assert_eq!(found.listing.body.external_id.as_deref(), Some("n-1"));
    assert!(
        found.listing.body.contact.is_none(),
        "matches never carry contacts"
    );
    let explanation = found.explanation.as_ref().unwrap();
    assert!(
        explanation.matched_terms.contains(&"desalin".to_string()),
        "{explanation:?}"
    );
    assert_eq!(
        explanation.cooperation,
        vec![silkmatch_core::Cooperation::Licence]
    );
    assert_eq!(
        explanation
            .shared_technology_fields
            .iter()
            .map(|field| field.get())
            .collect::<Vec<_>>(),
        vec![24]
    );
    assert!(
        found
            .snippets
            .iter()
            .any(|snippet| snippet.html.contains("<mark>")),
        "{:?}",
        found.snippets
    );
    let total: f32 = explanation
        .signals
        .iter()
        .map(|signal| signal.contribution)
        .sum();
    assert!(
        (total - explanation.forward).abs() < 1e-5,
        "contributions add up to the score"
    );
}

#[test]
fn an_unsaved_listing_and_a_structure_only_listing_still_match() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    corpus(&engine);
    let body =
        validate(&draft_from_value(need("tmp", "Visitor", "desalination of sea water")).unwrap())
            .unwrap()
            .body;
    let unsaved = Listing {
        id: String::new(),
        owner: String::new(),
        status: Status::Published,
        version: 0,
        created_at: now(),
        updated_at: now(),
        published_at: Some(now()),
        expires_at: None,
        body,
    };
    // The visitor owns nothing here, so the buyer's own offer is a fair candidate too.
    let ids = matched_ids(&engine, &unsaved, Ranker::Reciprocal);
    let top_two: Vec<&str> = ids.iter().take(2).map(String::as_str).collect();
    assert!(
        top_two.contains(&"o-good") && top_two.contains(&"o-own"),
        "{ids:?}"
    );
    assert!(ids.iter().all(|id| !id.starts_with("o-trap")), "{ids:?}");
    // Words nobody else uses: candidates come from structure (technology fields) alone.
    let mut odd = unsaved.clone();
    odd.body.title = "Qwzx vbnm".into();
    odd.body.summary = "Plokij uhygtf rdeswa qazxsw.".into();
    let ids = matched_ids(&engine, &odd, Ranker::Reciprocal);
    assert!(ids.contains(&"o-good".to_string()), "{ids:?}");
}

#[test]
fn a_maximal_listing_yields_a_bounded_query() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let listings = corpus(&engine);
    let mut huge = listings[0].clone();
    let words: Vec<String> = (0..900)
        .map(|idx| format!("word{idx} desalination"))
        .collect();
    huge.body.description = Some(words.join(" ").chars().take(4000).collect());
    huge.body.keywords = (0..20).map(|idx| format!("keyword {idx}")).collect();
    let results = engine
        .matches_for(&huge, &MatchRequest::default(), now())
        .unwrap();
    assert!(results.query_terms.len() <= silkmatch_core::matching::MAX_QUERY_TERMS);
    assert_eq!(
        results.matches[0].listing.body.external_id.as_deref(),
        Some("o-good")
    );
}

/// Every score and explanation of a match, in rank order, as JSON: what must not depend on caching.
fn answer(engine: &Engine, listing: &Listing) -> String {
    let results = engine
        .matches_for(listing, &MatchRequest::default(), now())
        .unwrap();
    serde_json::to_string(&results).unwrap()
}

#[test]
fn cached_candidates_give_exactly_the_answer_of_fresh_ones_before_and_after_writes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let listings = corpus(&engine);
    let need = &listings[0];

    let cold = answer(&engine, need);
    assert!(cold.contains("o-good"), "{cold}");
    assert_eq!(answer(&engine, need), cold, "warm equals cold");
    engine.clear_caches();
    assert_eq!(answer(&engine, need), cold, "cold again equals cold");

    // A write changes the corpus statistics (a new searcher generation) and one candidate: the
    // cached sides prepared under the old statistics must not leak into the new answer.
    let mut changed = offer(
        "o-other",
        "Seller 2",
        "membrane desalination of sea water with solar energy and lithium battery storage",
    );
    changed["summary"] = json!("Solar membrane desalination, now with storage.");
    store(&engine, vec![changed]);
    let warm_after_write = answer(&engine, need);
    assert_ne!(
        warm_after_write, cold,
        "the changed offer is now a candidate"
    );
    drop(engine);
    let reopened = Engine::open(dir.path()).unwrap();
    assert_eq!(
        answer(&reopened, need),
        warm_after_write,
        "a fresh engine on the same data agrees with the warm one"
    );
}

/// Bad input of the matching issue: a listing that gives no keywords, no sectors and no
/// description still matches on its text, and what it does not say counts neither way.
#[test]
fn a_listing_without_keywords_or_sectors_matches_on_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut bare = need(
        "n-bare",
        "Buyer",
        "ceramic membrane filtration of mine water",
    );
    bare["sectors"] = json!([]);
    bare["technology_fields"] = json!([35]);
    let mut with_keywords = offer(
        "o-text",
        "Seller",
        "ceramic membranes for filtration of acid mine water",
    );
    with_keywords["keywords"] = json!(["ceramic membrane", "mine water"]);
    let listings = store(
        &engine,
        vec![
            bare,
            with_keywords,
            offer("o-off", "Seller 2", "lithium battery recycling"),
        ],
    );
    let results = engine
        .matches_for(&listings[0], &MatchRequest::default(), now())
        .unwrap();
    let first = &results.matches[0];
    assert_eq!(first.listing.body.external_id.as_deref(), Some("o-text"));
    assert!(first.score > 0.0);
    let explanation = first.explanation.as_ref().unwrap();
    let value = |name: &str| {
        explanation
            .signals
            .iter()
            .find(|signal| signal.signal == name)
            .unwrap()
            .value
    };
    assert_eq!(value("keywords"), None, "{explanation:?}");
    assert_eq!(value("sector"), None, "{explanation:?}");
    assert!(value("text").unwrap() > 0.3, "{explanation:?}");
    let total: f32 = explanation.signals.iter().map(|s| s.contribution).sum();
    assert!(
        (total - explanation.forward).abs() < 1e-5,
        "{explanation:?}"
    );
}

/// Structure by evidence: at equal text, sharing a field few listings have ranks a candidate above
/// sharing one most listings have.
#[test]
fn a_rare_shared_field_says_more_than_a_common_one() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut query = need("n-q", "Buyer", "sensor fusion for bridge inspection");
    query["technology_fields"] = json!([10, 35]);
    let mut common = offer(
        "o-common",
        "Seller 1",
        "sensor fusion for bridge inspection",
    );
    common["technology_fields"] = json!([10]);
    let mut rare = offer("o-rare", "Seller 2", "sensor fusion for bridge inspection");
    rare["technology_fields"] = json!([35]);
    let mut values = vec![query, common, rare];
    // Twenty other listings of field 10 make it common.
    for idx in 0..20 {
        let mut filler = offer(
            &format!("o-fill-{idx}"),
            "Filler",
            "gas chromatography column",
        );
        filler["technology_fields"] = json!([10]);
        values.push(filler);
    }
    let listings = store(&engine, values);
    let ids = matched_ids(&engine, &listings[0], Ranker::Reciprocal);
    assert_eq!(&ids[..2], ["o-rare", "o-common"], "{ids:?}");
}
