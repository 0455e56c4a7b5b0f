//! The engine against a real store and a real tantivy index in a temp dir.

use serde_json::{Value, json};
use silkmatch_core::{Kind, Timestamp, Trl, Validated, draft_from_value, validate};
use silkmatch_index::{
    Engine, Filters, IndexCommit, Owner, SearchRequest, Sort, Target, Write, Written,
};

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

fn listing(external_id: &str, language: &str, title: &str, summary: &str) -> Value {
    json!({
        "kind": "offer", "external_id": external_id, "language": language, "title": title, "summary": summary,
        "technology_fields": [1], "sectors": ["C"], "trl": 6, "ipr": "granted", "cooperation": ["licence"],
        "organisation": {"name": format!("Org {external_id}"), "kind": "university", "country": "CN"},
        "contact": {"name": "Contact", "email": "c@example.org"}, "status": "published"
    })
}

fn validated(value: Value) -> Validated {
    validate(&draft_from_value(value).unwrap()).unwrap()
}

fn put(engine: &Engine, values: Vec<Value>) -> Vec<Written> {
    let writes = values
        .into_iter()
        .map(|value| Write::Upsert {
            owner: Owner::FromListing,
            validated: validated(value),
        })
        .collect();
    engine
        .write(writes, now(), IndexCommit::Now)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn search_ids(engine: &Engine, text: &str) -> Vec<String> {
    let request = SearchRequest {
        text: text.into(),
        ..SearchRequest::default()
    };
    engine
        .search(&request, now())
        .unwrap()
        .hits
        .into_iter()
        .map(|hit| hit.listing.body.external_id.unwrap())
        .collect()
}

#[test]
fn chinese_query_finds_chinese_listing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    put(
        &engine,
        vec![
            listing(
                "zh-1",
                "zh",
                "废旧锂电池回收技术",
                "一种低成本回收废旧锂电池中锂和钴的湿法冶金工艺。",
            ),
            listing(
                "zh-2",
                "zh",
                "太阳能光伏水泵系统",
                "适用于偏远地区农业灌溉的太阳能水泵。",
            ),
            listing(
                "en-1",
                "en",
                "Solar water pump",
                "A solar powered pump for irrigation in remote areas.",
            ),
        ],
    );
    assert_eq!(search_ids(&engine, "锂电池"), vec!["zh-1"]);
    assert_eq!(search_ids(&engine, "回收"), vec!["zh-1"]);
}

#[test]
fn russian_inflected_forms_match_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    put(
        &engine,
        vec![
            listing(
                "ru-1",
                "ru",
                "Переработка аккумуляторов",
                "Технология переработки литий-ионных аккумуляторов с извлечением лития.",
            ),
            listing(
                "ru-2",
                "ru",
                "Солнечные насосы",
                "Насосы на солнечной энергии для орошения полей.",
            ),
        ],
    );
    for form in [
        "аккумулятор",
        "аккумуляторами",
        "аккумулятора",
        "переработкой",
    ] {
        assert_eq!(search_ids(&engine, form), vec!["ru-1"], "{form}");
    }
}

#[test]
fn arabic_and_english_find_their_listings() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    put(
        &engine,
        vec![
            listing(
                "ar-1",
                "ar",
                "إعادة تدوير البطاريات",
                "تقنية لاستخلاص الليثيوم من البطاريات المستعملة.",
            ),
            listing(
                "en-1",
                "en",
                "Battery recycling plant",
                "Recovering lithium from spent batteries with low energy use.",
            ),
        ],
    );
    assert_eq!(search_ids(&engine, "بطارية"), vec!["ar-1"]);
    assert_eq!(search_ids(&engine, "recycled battery"), vec!["en-1"]);
}

#[test]
fn mixed_scripts_and_huge_tokens_index_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut hostile = listing(
        "mix-1",
        "en",
        "锂电池 recycling аккумулятор بطارية",
        "Mixed scripts: 锂电池回收 and переработка with emoji 🚀.",
    );
    hostile["description"] = json!(format!("{} tail words", "z".repeat(3900)));
    put(&engine, vec![hostile]);
    assert_eq!(search_ids(&engine, "recycling"), vec!["mix-1"]);
    assert_eq!(search_ids(&engine, "锂电池"), vec!["mix-1"]);
    assert_eq!(search_ids(&engine, "tail"), vec!["mix-1"]);
}

#[test]
fn upsert_by_external_id_replaces_and_withdraw_hides() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let first = put(
        &engine,
        vec![listing(
            "x-1",
            "en",
            "Solar pump",
            "A pump driven by solar panels.",
        )],
    );
    let id = first[0].listing().id.clone();
    let second = put(
        &engine,
        vec![listing(
            "x-1",
            "en",
            "Wind pump",
            "A pump driven by a small wind turbine.",
        )],
    );
    assert!(
        matches!(&second[0], Written::Updated(listing) if listing.id == id && listing.version == 2)
    );
    assert!(search_ids(&engine, "solar").is_empty());
    assert_eq!(search_ids(&engine, "wind"), vec!["x-1"]);
    let again = put(
        &engine,
        vec![listing(
            "x-1",
            "en",
            "Wind pump",
            "A pump driven by a small wind turbine.",
        )],
    );
    assert!(matches!(&again[0], Written::Unchanged(listing) if listing.version == 2));

    let owner = second[0].listing().owner.clone();
    let withdrawn = engine
        .write(
            vec![Write::Withdraw {
                target: Target {
                    owner: "someone-else".into(),
                    id: id.clone(),
                    expected_version: None,
                },
            }],
            now(),
            IndexCommit::Now,
        )
        .unwrap();
    assert!(withdrawn[0].is_err(), "only the owner may withdraw");
    engine
        .write(
            vec![Write::Withdraw {
                target: Target {
                    owner,
                    id: id.clone(),
                    expected_version: Some(2),
                },
            }],
            now(),
            IndexCommit::Now,
        )
        .unwrap()[0]
        .as_ref()
        .unwrap();
    assert!(search_ids(&engine, "wind").is_empty());
    assert_eq!(
        engine.get(&id).unwrap().unwrap().version,
        3,
        "withdrawn, not deleted"
    );
}

#[test]
fn expiry_is_evaluated_at_query_time() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    put(
        &engine,
        vec![listing(
            "e-1",
            "en",
            "Solar pump",
            "A pump driven by solar panels.",
        )],
    );
    let later = now().plus_days(366);
    let request = SearchRequest {
        text: "solar".into(),
        ..SearchRequest::default()
    };
    assert_eq!(engine.search(&request, now()).unwrap().total, 1);
    assert_eq!(engine.search(&request, later).unwrap().total, 0);
}

#[test]
fn filters_and_facets() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut need = listing(
        "n-1",
        "en",
        "Need a solar pump",
        "Looking for solar pumps for irrigation.",
    );
    need["kind"] = json!("need");
    need["trl_min"] = json!(3);
    for field in ["trl", "ipr"] {
        need.as_object_mut().unwrap().remove(field);
    }
    need["organisation"]["country"] = json!("KZ");
    put(
        &engine,
        vec![
            listing("o-1", "en", "Solar pump", "A pump driven by solar panels."),
            need,
        ],
    );
    let request = SearchRequest {
        text: "solar pump".into(),
        filters: Filters {
            kind: Some(Kind::Need),
            ..Filters::default()
        },
        ..SearchRequest::default()
    };
    let results = engine.search(&request, now()).unwrap();
    assert_eq!(results.total, 1);
    assert_eq!(results.facets["country"][0].value, "KZ");
    let request = SearchRequest {
        filters: Filters {
            trl_min: Trl::new(5),
            ..Filters::default()
        },
        sort: Sort::Newest,
        ..SearchRequest::default()
    };
    let results = engine.search(&request, now()).unwrap();
    assert_eq!(results.hits.len(), 1);
    assert_eq!(
        results.hits[0].listing.body.external_id.as_deref(),
        Some("o-1")
    );
    assert!(
        results.hits[0].listing.body.contact.is_none(),
        "search never shows contacts"
    );
    let all = engine.search(&SearchRequest::default(), now()).unwrap();
    let countries: Vec<_> = all.facets["country"]
        .iter()
        .map(|facet| (facet.value.as_str(), facet.count))
        .collect();
    assert_eq!(countries, vec![("CN", 1), ("KZ", 1)]);
}

#[test]
fn snippets_highlight_matches() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    put(
        &engine,
        vec![listing(
            "s-1",
            "en",
            "Solar <pump>",
            "A pump driven by solar panels.",
        )],
    );
    let request = SearchRequest {
        text: "pumps".into(),
        ..SearchRequest::default()
    };
    let hit = &engine.search(&request, now()).unwrap().hits[0];
    assert_eq!(hit.snippets[0].html, "Solar &lt;<mark>pump</mark>&gt;");
}

#[test]
fn an_index_that_fell_behind_catches_up_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let writes = vec![Write::Upsert {
            owner: Owner::FromListing,
            validated: validated(listing(
                "c-1",
                "en",
                "Solar pump",
                "A pump driven by solar panels.",
            )),
        }];
        engine.write(writes, now(), IndexCommit::Later).unwrap();
        // Dropped without an index commit: what a crash after the SQLite commit leaves behind.
    }
    let reopened = Engine::open(dir.path()).unwrap();
    assert_eq!(search_ids(&reopened, "solar"), vec!["c-1"]);
}

#[test]
fn reindex_rebuilds_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        put(
            &engine,
            vec![
                listing("r-1", "en", "Solar pump", "A pump driven by solar panels."),
                listing("r-2", "zh", "锂电池回收", "废旧锂电池回收的新工艺和设备。"),
            ],
        );
    }
    std::fs::write(dir.path().join("search").join("meta.json"), b"garbage").unwrap();
    assert!(
        Engine::open(dir.path()).is_err(),
        "a broken index is reported, not silently used"
    );
    let rebuilt = Engine::reindex(dir.path(), &|_, _| {}).unwrap();
    assert_eq!(search_ids(&rebuilt, "solar"), vec!["r-1"]);
    assert_eq!(search_ids(&rebuilt, "锂电池"), vec!["r-2"]);
}

#[test]
fn resolve_accepts_ids_and_external_ids() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let written = put(
        &engine,
        vec![listing(
            "ext-9",
            "en",
            "Solar pump",
            "A pump driven by solar panels.",
        )],
    );
    let id = &written[0].listing().id;
    assert_eq!(&engine.resolve("ext-9").unwrap().id, id);
    assert_eq!(&engine.resolve(id).unwrap().id, id);
    assert!(engine.resolve("nope").is_err());
}

#[test]
fn replace_by_id_needs_the_owner_and_an_existing_id() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let written = put(
        &engine,
        vec![listing(
            "p-1",
            "en",
            "Solar pump",
            "A pump driven by solar panels.",
        )],
    );
    let original = written[0].listing().clone();
    let replacement = validated(listing(
        "p-1",
        "en",
        "Solar pump, second generation",
        "A pump driven by solar panels, now with storage.",
    ));
    let replace = |owner: &str, id: &str| Write::Replace {
        target: Target {
            owner: owner.into(),
            id: id.into(),
            expected_version: None,
        },
        validated: replacement.clone(),
    };
    let outcomes = engine
        .write(
            vec![
                replace("intruder", &original.id),
                replace(&original.owner, "01UNKNOWN"),
                replace(&original.owner, &original.id),
            ],
            now(),
            IndexCommit::Now,
        )
        .unwrap();
    assert!(matches!(
        outcomes[0],
        Err(silkmatch_index::IndexError::NotOwner(_))
    ));
    assert!(matches!(
        outcomes[1],
        Err(silkmatch_index::IndexError::NotFound { .. })
    ));
    let replaced = outcomes[2].as_ref().unwrap().listing();
    assert_eq!(
        (replaced.id.as_str(), replaced.version),
        (original.id.as_str(), 2)
    );
    assert_eq!(search_ids(&engine, "generation"), vec!["p-1"]);
}

#[test]
fn filters_cover_ipr_organisation_kind_sdgs_and_target_countries() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut narrow = listing(
        "t-1",
        "en",
        "Solar pump for Kazakhstan",
        "A pump driven by solar panels.",
    );
    narrow["target_countries"] = json!(["KZ"]);
    narrow["sdgs"] = json!([6, 7]);
    narrow["ipr"] = json!("applied");
    narrow["organisation"]["kind"] = json!("sme");
    let open = listing(
        "t-2",
        "en",
        "Solar pump for anyone",
        "A pump driven by solar panels.",
    );
    put(&engine, vec![narrow, open]);
    let ids = |filters: silkmatch_index::Filters| {
        let request = SearchRequest {
            text: "solar".into(),
            filters,
            ..SearchRequest::default()
        };
        let mut ids: Vec<String> = engine
            .search(&request, now())
            .unwrap()
            .hits
            .into_iter()
            .map(|hit| hit.listing.body.external_id.unwrap())
            .collect();
        ids.sort();
        ids
    };
    let country = |code: &str| silkmatch_core::Country::new(code).unwrap();
    assert_eq!(
        ids(Filters {
            open_to_countries: vec![country("KZ")],
            ..Filters::default()
        }),
        vec!["t-1", "t-2"]
    );
    assert_eq!(
        ids(Filters {
            open_to_countries: vec![country("PK")],
            ..Filters::default()
        }),
        vec!["t-2"]
    );
    assert_eq!(
        ids(Filters {
            ipr: vec![silkmatch_core::Ipr::Applied],
            ..Filters::default()
        }),
        vec!["t-1"]
    );
    assert_eq!(
        ids(Filters {
            organisation_kinds: vec![silkmatch_core::OrganisationKind::University],
            ..Filters::default()
        }),
        vec!["t-2"]
    );
    assert_eq!(
        ids(Filters {
            sdgs: vec![silkmatch_core::Sdg::new(6).unwrap()],
            ..Filters::default()
        }),
        vec!["t-1"]
    );
}

#[test]
fn stale_versions_are_refused_and_publishing_restarts_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let written = put(
        &engine,
        vec![listing(
            "v-1",
            "en",
            "Solar pump",
            "A pump driven by solar panels.",
        )],
    );
    let original = written[0].listing().clone();
    let target = |expected_version| Target {
        owner: original.owner.clone(),
        id: original.id.clone(),
        expected_version,
    };
    let stale = engine
        .write(
            vec![Write::Withdraw {
                target: target(Some(7)),
            }],
            now(),
            IndexCommit::Now,
        )
        .unwrap();
    assert!(matches!(
        stale[0],
        Err(silkmatch_index::IndexError::VersionMismatch {
            expected: 7,
            current: 1,
            ..
        })
    ));
    engine
        .write(
            vec![Write::Withdraw {
                target: target(Some(1)),
            }],
            now(),
            IndexCommit::Now,
        )
        .unwrap()[0]
        .as_ref()
        .unwrap();
    let later = now().plus_days(30);
    let republished = engine
        .write(
            vec![Write::Publish {
                target: target(None),
            }],
            later,
            IndexCommit::Now,
        )
        .unwrap();
    let listing = republished[0].as_ref().unwrap().listing();
    assert_eq!((listing.version, listing.published_at), (3, Some(later)));
    assert_eq!(
        listing.expires_at,
        Some(later.plus_days(silkmatch_index::PUBLICATION_DAYS))
    );
    assert_eq!(search_ids(&engine, "solar"), vec!["v-1"]);
}

#[test]
fn drafts_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut draft = listing(
        "d-1",
        "en",
        "Solar desalination",
        "A draft about desalination.",
    );
    draft["status"] = json!("draft");
    put(&engine, vec![draft]);
    assert!(search_ids(&engine, "desalination").is_empty());
}

#[test]
fn a_refused_write_does_not_take_its_batch_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let same_org = |external_id: &str, title: &str| {
        let mut value = listing(
            external_id,
            "en",
            title,
            "A pump driven by something renewable.",
        );
        value["organisation"]["name"] = json!("Pump Works");
        value
    };
    let written = put(
        &engine,
        vec![same_org("x-a", "Solar pump"), same_org("x-b", "Wind pump")],
    );
    let (first, second) = (written[0].listing().clone(), written[1].listing().clone());
    assert_eq!(first.owner, second.owner, "one organisation");
    // Giving the second listing the first one's external id is refused; the write beside it lands.
    let colliding = Write::Replace {
        target: Target {
            owner: second.owner.clone(),
            id: second.id.clone(),
            expected_version: None,
        },
        validated: validated(same_org("x-a", "Wind pump")),
    };
    let neighbour = Write::Upsert {
        owner: Owner::FromListing,
        validated: validated(listing(
            "x-c",
            "en",
            "Tidal pump",
            "A pump driven by the tide.",
        )),
    };
    let outcomes = engine
        .write(vec![colliding, neighbour], now(), IndexCommit::Now)
        .unwrap();
    assert!(
        matches!(outcomes[0], Err(silkmatch_index::IndexError::Conflict(_))),
        "{:?}",
        outcomes[0]
    );
    assert!(outcomes[1].is_ok());
    assert_eq!(search_ids(&engine, "tidal"), vec!["x-c"]);
}

#[test]
fn extending_adds_a_year_up_to_two_after_publication_and_owners_list_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let written = put(
        &engine,
        vec![listing("e-1", "en", "Wind pump", "A pump driven by wind.")],
    );
    let original = written[0].listing().clone();
    let published_at = original.published_at.unwrap();
    let target = Target {
        owner: original.owner.clone(),
        id: original.id.clone(),
        expected_version: None,
    };
    let extend = |at: Timestamp| {
        engine
            .write(
                vec![Write::Extend {
                    target: target.clone(),
                }],
                at,
                IndexCommit::Now,
            )
            .unwrap()
            .remove(0)
    };
    let once = extend(now()).unwrap();
    assert_eq!(
        once.listing().expires_at,
        Some(published_at.plus_days(2 * silkmatch_index::PUBLICATION_DAYS))
    );
    let capped = extend(now()).unwrap();
    assert!(
        matches!(capped, Written::Unchanged(_)),
        "never beyond two years after publication"
    );
    assert_eq!(
        capped.listing().expires_at,
        Some(published_at.plus_days(silkmatch_index::MAX_PUBLICATION_DAYS))
    );
    engine
        .write(
            vec![Write::Withdraw {
                target: target.clone(),
            }],
            now(),
            IndexCommit::Now,
        )
        .unwrap()[0]
        .as_ref()
        .unwrap();
    assert!(
        matches!(extend(now()), Err(silkmatch_index::IndexError::Conflict(_))),
        "a withdrawn listing is published again, not extended"
    );
    let own = engine.listings_of(&original.owner, 10).unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].id, original.id);
    assert!(engine.listings_of("someone else", 10).unwrap().is_empty());
}

/// Facets are counted from per-segment tables and snippets from cached analyses: both must give
/// exactly what counting the matching listings and analysing their texts afresh gives, over several
/// segments, with a deleted version, on the first search and on repeats.
#[test]
fn cached_facets_and_snippets_equal_fresh_ones() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let countries = ["CN", "KZ", "AE", "RU", "TR"];
    let cooperations = ["licence", "joint_development", "investment"];
    let texts = [
        (
            "en",
            "Solar pumps for irrigation",
            "A pump driven by solar panels, for farms.",
        ),
        (
            "zh",
            "太阳能水泵灌溉技术",
            "由太阳能电池板驱动的水泵，用于农场 solar pump。",
        ),
        (
            "ru",
            "Солнечные насосы для орошения",
            "Насос на солнечных батареях, solar pumps.",
        ),
        (
            "fr",
            "Pompes solaires pour l'irrigation",
            "Une pompe solaire pour les fermes.",
        ),
    ];
    // Several batches, so several segments.
    for batch in 0..4 {
        let values = (0..6)
            .map(|n| {
                let i = batch * 6 + n;
                let (language, title, summary) = texts[i % texts.len()];
                let mut value = listing(&format!("f-{i}"), language, title, summary);
                value["organisation"]["country"] = json!(countries[i % countries.len()]);
                value["technology_fields"] = json!([1 + i % 3, 10 + i % 5]);
                value["sectors"] = json!(if i % 2 == 0 { vec!["C"] } else { vec!["A", "D"] });
                value["cooperation"] = json!([cooperations[i % 3]]);
                value["trl"] = json!(1 + i % 9);
                if i % 4 == 1 {
                    value["keywords"] = json!(["solar pump", "irrigation"]);
                    value["translations"] = json!({"en": {"title": "Solar pump station", "summary": "Pumps water with solar power."}});
                }
                value
            })
            .collect();
        put(&engine, values);
    }
    // A new version of one listing deletes its old document from its segment.
    put(
        &engine,
        vec![listing(
            "f-3",
            "en",
            "Solar pump, second version",
            "Pumps again.",
        )],
    );
    for text in [
        "solar pump",
        "насос",
        "太阳能",
        "pompe solaire",
        "",
        "irrigation farms",
    ] {
        let request = SearchRequest {
            text: text.into(),
            limit: 100,
            ..SearchRequest::default()
        };
        let first = engine.search(&request, now()).unwrap();
        assert!(
            first.total > 0 && first.total <= 100,
            "{text}: {}",
            first.total
        );
        let mut expected: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
        for hit in &first.hits {
            let body = &hit.listing.body;
            let mut add = |facet: &'static str, value: String| {
                *expected.entry(facet).or_default().entry(value).or_insert(0) += 1;
            };
            add("country", body.organisation.country.as_str().to_owned());
            add("language", body.language.as_str().to_owned());
            add("trl", body.readiness().get().to_string());
            for field in &body.technology_fields {
                add("technology_field", field.get().to_string());
            }
            for sector in &body.sectors {
                add("sector", sector.to_string());
            }
            for cooperation in &body.cooperation {
                add("cooperation", cooperation.as_str().to_owned());
            }
        }
        for (facet, counts) in &first.facets {
            let got: BTreeMap<String, u64> = counts
                .iter()
                .map(|count| (count.value.clone(), count.count))
                .collect();
            assert_eq!(
                got,
                expected.remove(facet.as_str()).unwrap_or_default(),
                "{text}: {facet}"
            );
        }
        assert!(expected.is_empty(), "{text}: facets missing: {expected:?}");
        let analysed = silkmatch_index::analyse_query(text, &[]);
        for hit in &first.hits {
            assert_eq!(
                hit.snippets,
                silkmatch_index::snippets_for(&hit.listing, &analysed),
                "{text}"
            );
        }
        for _ in 0..2 {
            let again = engine.search(&request, now()).unwrap();
            assert_eq!(
                serde_json::to_string(&again).unwrap(),
                serde_json::to_string(&first).unwrap(),
                "{text}"
            );
        }
    }
}
