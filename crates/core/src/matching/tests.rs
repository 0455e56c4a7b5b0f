use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{Status, draft_from_value, validate};

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

/// A published listing from a compact description; `kind` is `offer` or `need`.
#[allow(clippy::too_many_arguments)] // One positional line per test case reads better than a builder here.
fn listing(
    id: &str,
    kind: &str,
    owner: &str,
    fields: &[u8],
    cooperation: &[&str],
    readiness: u8,
    country: &str,
    targets: &[&str],
) -> Listing {
    let mut value = json!({
        "kind": kind, "language": "en", "title": format!("Listing {id}"), "summary": "A summary long enough.",
        "technology_fields": fields, "sectors": ["C"], "cooperation": cooperation, "target_countries": targets,
        "organisation": {"name": owner, "kind": if kind == "offer" { "university" } else { "sme" }, "country": country},
        "contact": {"name": "C", "email": "c@example.org"}
    });
    if kind == "offer" {
        value["trl"] = json!(readiness);
        value["ipr"] = json!("granted");
    } else {
        value["trl_min"] = json!(readiness);
    }
    let body = validate(&draft_from_value(value).unwrap()).unwrap().body;
    let published = now().plus_days(-30);
    Listing {
        id: id.into(),
        owner: owner.into(),
        status: Status::Published,
        version: 1,
        created_at: published,
        updated_at: published,
        published_at: Some(published),
        expires_at: Some(published.plus_days(365)),
        body,
    }
}

/// A published listing whose signals tests vary one at a time.
pub(crate) fn listing_for_signals() -> Listing {
    listing("s", "need", "buyer", &[1], &["licence"], 5, "KZ", &[])
}

fn side(listing: Listing, words: &[&str]) -> MatchSide {
    let mut terms = TermVector::default();
    for word in words {
        terms.add(TextField::Body, word.to_string(), 1);
    }
    terms.lengths[TextField::Body.idx()] = words.len() as u32;
    let stats = corpus();
    MatchSide::new(listing, terms, BTreeMap::new(), &stats, 0)
}

fn corpus() -> CorpusStats {
    let doc_freq = ["solar", "pump", "irrig", "batteri", "recycl", "water"]
        .iter()
        .map(|term| (term.to_string(), 3))
        .collect();
    CorpusStats {
        n_docs: 100,
        average_lengths: [5.0, 10.0, 5.0, 3.0],
        doc_freq,
        structure: Default::default(),
    }
}

#[test]
fn hard_constraints_each_rule_a_pair_out() {
    let need = listing("n", "need", "buyer", &[1], &["licence"], 5, "KZ", &[]);
    let offer = |owner: &str, cooperation: &[&str], trl: u8, country: &str, targets: &[&str]| {
        listing(
            "o",
            "offer",
            owner,
            &[1],
            cooperation,
            trl,
            country,
            targets,
        )
    };
    assert_eq!(
        check_hard_constraints(&need, &offer("seller", &["licence"], 6, "CN", &[]), now()),
        Ok(())
    );
    assert_eq!(
        check_hard_constraints(&need, &offer("buyer", &["licence"], 6, "CN", &[]), now()),
        Err(Violation::SameOrganisation)
    );
    assert_eq!(
        check_hard_constraints(
            &need,
            &offer("seller", &["investment"], 6, "CN", &[]),
            now()
        ),
        Err(Violation::NoCommonCooperation)
    );
    assert_eq!(
        check_hard_constraints(&need, &offer("seller", &["licence"], 4, "CN", &[]), now()),
        Err(Violation::NotReadyEnough)
    );
    assert_eq!(
        check_hard_constraints(
            &need,
            &offer("seller", &["licence"], 6, "CN", &["RU"]),
            now()
        ),
        Err(Violation::CountryExcluded)
    );
    let picky_need = listing("n", "need", "buyer", &[1], &["licence"], 5, "KZ", &["RU"]);
    assert_eq!(
        check_hard_constraints(
            &picky_need,
            &offer("seller", &["licence"], 6, "CN", &[]),
            now()
        ),
        Err(Violation::CountryExcluded)
    );
    assert_eq!(
        check_hard_constraints(&need, &need, now()),
        Err(Violation::SameKind)
    );
    assert_eq!(
        check_hard_constraints(
            &need,
            &offer("seller", &["licence"], 6, "CN", &[]),
            now().plus_days(400)
        ),
        Err(Violation::NotLive)
    );
}

#[test] // Fields 10 and 13 are both in the "instruments" area.
fn same_area_scores_below_same_field() {
    let a = listing("a", "need", "x", &[13], &["licence"], 1, "CN", &[]);
    let same = listing("b", "offer", "y", &[13], &["licence"], 5, "CN", &[]);
    let related = listing("c", "offer", "y", &[10], &["licence"], 5, "CN", &[]);
    let unrelated = listing("d", "offer", "y", &[32], &["licence"], 5, "CN", &[]);
    // Without corpus statistics a shared field counts fully.
    let stats = StructureStats::default();
    assert_eq!(signals::technology(&a, &same, &stats), Some(1.0));
    assert_eq!(signals::technology(&a, &related, &stats), Some(0.5));
    assert_eq!(signals::technology(&a, &unrelated, &stats), Some(0.0));
}

#[test]
fn text_and_structure_both_count() {
    let need = side(
        listing("n", "need", "buyer", &[1], &["licence"], 5, "KZ", &[]),
        &["solar", "pump", "irrig"],
    );
    // Text first: the same words as the off-field offer, so the structure decides between them,
    // and the unrelated offer's text puts it last whatever its structure.
    let good = side(
        listing("o1", "offer", "s1", &[1], &["licence"], 6, "CN", &[]),
        &["solar", "pump", "irrig"],
    );
    let wordy_but_off_field = side(
        listing("o2", "offer", "s2", &[32], &["licence"], 9, "CN", &[]),
        &["solar", "pump", "irrig"],
    );
    let unrelated = side(
        listing("o3", "offer", "s3", &[32], &["licence"], 9, "CN", &[]),
        &["batteri", "recycl"],
    );
    let ranked = rank(
        &need,
        &[unrelated, wordy_but_off_field, good],
        &[],
        &[],
        &corpus(),
        &Weights::defaults(),
        now(),
        Ranker::Reciprocal,
        10,
    );
    let order: Vec<usize> = ranked.iter().map(|found| found.candidate_idx).collect();
    assert_eq!(order, vec![2, 1, 0]);
    let text_only = rank(
        &need,
        &[side(
            listing("o2", "offer", "s2", &[32], &["licence"], 9, "CN", &[]),
            &["solar", "pump", "irrig"],
        )],
        &[],
        &[],
        &corpus(),
        &Weights::defaults(),
        now(),
        Ranker::TextOnly,
        1,
    );
    assert!(
        (text_only[0].score - 1.0).abs() < 1e-6,
        "identical text normalises to 1"
    );
}

#[test]
fn meaning_lets_a_pair_without_shared_words_score_on_text_and_says_so() {
    let mut need = listing("n1", "need", "s0", &[1], &["licence"], 4, "CN", &[]);
    need.body.language = crate::LanguageTag::new("zh").unwrap();
    let need = side(need, &["太阳能", "水泵"]);
    let offer = side(
        listing("o1", "offer", "s1", &[1], &["licence"], 6, "DE", &[]),
        &["solar", "pump"],
    );
    let weights = Weights::defaults();
    let lexical = rank(
        &need,
        std::slice::from_ref(&offer),
        &[],
        &[],
        &corpus(),
        &weights,
        now(),
        Ranker::Forward,
        1,
    );
    let meaning = rank(
        &need,
        std::slice::from_ref(&offer),
        &[Some(0.95)],
        &[],
        &corpus(),
        &weights,
        now(),
        Ranker::Forward,
        1,
    );
    // Without embeddings a Chinese and an English text cannot be compared: the text signal is not
    // known (it counts neither way); with them, meaning carries it.
    assert_eq!(lexical[0].forward.signals[0], None);
    let text = meaning[0].forward.signals[0].unwrap();
    assert!(text > 0.2, "{text}");
    assert!(
        (text - weights.meaning.meaning_part(0.95, false)).abs() < 1e-6,
        "{text}"
    );
    let note = explain(&need, &offer, &meaning[0], &weights, now())
        .meaning
        .unwrap();
    assert!(note.decisive && note.cross_language, "{note:?}");
    assert_eq!(
        note.summary,
        "matched by meaning: zh need ↔ en offer, similarity 0.95"
    );
    assert!(
        explain(&need, &offer, &lexical[0], &weights, now())
            .meaning
            .is_none()
    );
}

#[test]
fn a_candidate_only_meaning_brought_in_ranks_only_above_the_meaning_floor() {
    let need = side(
        listing("n1", "need", "s0", &[1], &["licence"], 4, "CN", &[]),
        &["太阳能", "水泵"],
    );
    let offer = side(
        listing("o1", "offer", "s1", &[1], &["licence"], 6, "DE", &[]),
        &["solar", "pump"],
    );
    let weights = Weights::defaults();
    let floor = weights.meaning.cosine_floor;
    let ranked = |similarity: Option<f32>, meaning_only: bool| {
        rank(
            &need,
            std::slice::from_ref(&offer),
            &[similarity],
            &[meaning_only],
            &corpus(),
            &weights,
            now(),
            Ranker::Reciprocal,
            1,
        )
        .len()
    };
    // Found by its terms or fields: ranks whatever meaning says.
    assert_eq!(ranked(Some(floor - 0.1), false), 1);
    assert_eq!(ranked(None, false), 1);
    // Found by meaning alone: only when meaning says the pair is related.
    assert_eq!(ranked(Some(floor + 0.05), true), 1);
    assert_eq!(ranked(Some(floor), true), 0);
    assert_eq!(ranked(None, true), 0);
}

fn arbitrary_listing(kind: &'static str) -> impl Strategy<Value = Listing> {
    let cooperation =
        prop::sample::subsequence(vec!["licence", "joint_development", "manufacturing"], 1..=3);
    let fields = prop::sample::subsequence(vec![1u8, 6, 10, 13, 24], 1..=3);
    let targets = prop::sample::subsequence(vec!["CN", "KZ", "RU"], 0..=2);
    (
        prop::sample::select(vec!["org-a", "org-b", "org-c"]),
        fields,
        cooperation,
        1u8..=9,
        prop::sample::select(vec!["CN", "KZ", "RU"]),
        targets,
    )
        .prop_map(
            move |(owner, fields, cooperation, readiness, country, targets)| {
                listing(
                    &format!("{kind}-{owner}"),
                    kind,
                    owner,
                    &fields,
                    &cooperation,
                    readiness,
                    country,
                    &targets,
                )
            },
        )
}

fn arbitrary_words() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(vec!["solar", "pump", "irrig", "batteri", "recycl", "water"]),
        0..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_pair_breaking_a_hard_constraint_never_scores(need in arbitrary_listing("need"), offer in arbitrary_listing("offer"), need_words in arbitrary_words(), offer_words in arbitrary_words()) {
        let violation = check_hard_constraints(&need, &offer, now());
        let (need, offer) = (side(need, &need_words), side(offer, &offer_words));
        let ranked = rank(&need, std::slice::from_ref(&offer), &[], &[], &corpus(), &Weights::defaults(), now(), Ranker::Forward, 10);
        prop_assert_eq!(violation.is_err(), ranked.is_empty());
        prop_assert_eq!(violation.is_err(), score_directed(&need, &offer, None, &corpus(), &Weights::defaults(), now()).is_err());
    }

    #[test]
    fn swapping_sides_swaps_the_directed_scores(need in arbitrary_listing("need"), offer in arbitrary_listing("offer"), need_words in arbitrary_words(), offer_words in arbitrary_words(), similarity in proptest::option::of(-1.0f32..=1.0)) {
        let (need, offer) = (side(need, &need_words), side(offer, &offer_words));
        let stats = corpus();
        let weights = Weights::defaults();
        let from_need = rank(&need, std::slice::from_ref(&offer), &[similarity], &[], &stats, &weights, now(), Ranker::Forward, 1);
        let from_offer = rank(&offer, std::slice::from_ref(&need), &[similarity], &[], &stats, &weights, now(), Ranker::Forward, 1);
        prop_assert_eq!(from_need.len(), from_offer.len());
        if let (Some(a), Some(b)) = (from_need.first(), from_offer.first()) {
            prop_assert_eq!(&a.forward, &b.backward);
            prop_assert_eq!(&a.backward, &b.forward);
            prop_assert!((a.reciprocal - b.reciprocal).abs() < 1e-6);
        }
    }

    /// Ranking shares the structural signals between a pair's two directions and finds matched terms
    /// only for the pairs it keeps; what it returns is still exactly `score_directed` both ways.
    #[test]
    fn rank_gives_exactly_the_directed_scores(need in arbitrary_listing("need"), offer in arbitrary_listing("offer"), need_words in arbitrary_words(), offer_words in arbitrary_words(), similarity in proptest::option::of(-1.0f32..=1.0)) {
        let (need, offer) = (side(need, &need_words), side(offer, &offer_words));
        let (stats, weights) = (corpus(), Weights::defaults());
        let ranked = rank(&need, std::slice::from_ref(&offer), &[similarity], &[], &stats, &weights, now(), Ranker::Reciprocal, 1);
        match score_directed(&need, &offer, similarity, &stats, &weights, now()) {
            Ok(forward) => {
                let backward = score_directed(&offer, &need, similarity, &stats, &weights, now()).expect("constraints are symmetric");
                prop_assert_eq!(ranked.len(), 1);
                prop_assert_eq!(&ranked[0].forward, &forward);
                prop_assert_eq!(&ranked[0].backward, &backward);
                prop_assert_eq!(ranked[0].score.to_bits(), reciprocal(forward.score, backward.score).to_bits());
            }
            Err(_) => prop_assert!(ranked.is_empty()),
        }
    }

    #[test]
    fn reciprocal_never_exceeds_the_larger_directed_score(forward in 0.0f32..=1.0, backward in 0.0f32..=1.0) {
        let mean = reciprocal(forward, backward);
        prop_assert!(mean <= forward.max(backward) + 1e-6);
        prop_assert!(mean >= forward.min(backward) - 1e-6);
    }

    #[test]
    fn scores_stay_in_the_unit_interval(need in arbitrary_listing("need"), offer in arbitrary_listing("offer"), need_words in arbitrary_words(), offer_words in arbitrary_words(), similarity in proptest::option::of(-1.0f32..=1.0)) {
        let (need, offer) = (side(need, &need_words), side(offer, &offer_words));
        if let Ok(score) = score_directed(&need, &offer, similarity, &corpus(), &Weights::defaults(), now()) {
            prop_assert!((0.0..=1.0).contains(&score.score), "{:?}", score);
            prop_assert!(score.signals.iter().flatten().all(|value| (0.0..=1.0).contains(value)), "{:?}", score);
            if similarity.is_none() {
                prop_assert_eq!(score.signals[0], Some(score.lexical), "without meaning the text signal is lexical");
            }
        }
    }
}
