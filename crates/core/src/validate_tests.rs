use proptest::prelude::*;
use serde_json::json;

use super::*;

fn offer_json() -> serde_json::Value {
    json!({
        "kind": "offer",
        "language": "zh",
        "title": "废旧锂电池回收技术",
        "summary": "一种低成本回收废旧锂电池中锂和钴的湿法冶金工艺。",
        "technology_fields": [24, 20],
        "sectors": ["E", "C"],
        "trl": 6,
        "ipr": "granted",
        "cooperation": ["licence", "joint_development"],
        "organisation": {"name": "西安先进材料研究院", "kind": "research_institute", "country": "CN"},
        "contact": {"name": "Li Wei", "email": "li.wei@example.cn"},
        "status": "published"
    })
}

fn check(value: serde_json::Value) -> Result<Validated, Vec<Problem>> {
    validate(&draft_from_value(value).expect("test drafts are well-formed"))
}

fn fields_of(problems: &[Problem]) -> Vec<(&str, ProblemCode)> {
    problems
        .iter()
        .map(|problem| (problem.field.as_str(), problem.code))
        .collect()
}

#[test]
fn a_complete_offer_is_valid() {
    let validated = check(offer_json()).unwrap();
    assert_eq!(validated.status, Some(Status::Published));
    assert_eq!(validated.body.trl, Trl::new(6));
    assert!(!validated.body.language_detected);
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut value = offer_json();
    value["title"] = json!("ab");
    value["trl"] = json!(12);
    value["cooperation"] = json!(["licence", "barter", "licence"]);
    value["organisation"]["country"] = json!("China");
    value["sectors"] = json!(["C", "Z"]);
    value["technology_fields"] = json!([]);
    let problems = check(value).unwrap_err();
    assert_eq!(
        fields_of(&problems),
        vec![
            ("title", ProblemCode::TooShort),
            ("technology_fields", ProblemCode::Required),
            ("sectors[1]", ProblemCode::UnknownValue),
            ("cooperation[1]", ProblemCode::UnknownValue),
            ("cooperation[2]", ProblemCode::Duplicate),
            ("organisation.country", ProblemCode::UnknownValue),
            ("trl", ProblemCode::OutOfRange),
        ]
    );
    assert!(
        problems
            .iter()
            .all(|problem| problem.message.ends_with('.')),
        "{problems:?}"
    );
}

#[test]
fn kind_specific_fields_are_checked() {
    let mut need = offer_json();
    need["kind"] = json!("need");
    need["budget"] = json!({"min": 10, "max": 5, "currency": "CNY"});
    let problems = check(need).unwrap_err();
    assert_eq!(
        fields_of(&problems),
        vec![
            ("budget.max", ProblemCode::OutOfRange),
            ("trl", ProblemCode::NotApplicable),
            ("ipr", ProblemCode::NotApplicable)
        ]
    );
}

#[test]
fn needs_default_trl_min_to_one() {
    let mut need = offer_json();
    need["kind"] = json!("need");
    for field in ["trl", "ipr"] {
        need.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(check(need).unwrap().body.trl_min, Trl::new(1));
}

#[test]
fn publishing_requires_a_contact() {
    let mut value = offer_json();
    value.as_object_mut().unwrap().remove("contact");
    assert_eq!(
        fields_of(&check(value.clone()).unwrap_err()),
        vec![("contact", ProblemCode::Required)]
    );
    value["status"] = json!("draft");
    assert!(check(value).is_ok());
}

#[test]
fn missing_language_is_detected_and_marked() {
    let mut value = offer_json();
    value.as_object_mut().unwrap().remove("language");
    let body = check(value).unwrap().body;
    assert_eq!(
        (body.language.as_str(), body.language_detected),
        ("zh", true)
    );
}

#[test]
fn limits_count_characters_not_bytes() {
    let mut value = offer_json();
    value["title"] = json!("锂".repeat(256)); // 768 bytes, 256 characters: allowed.
    assert!(check(value.clone()).is_ok());
    value["title"] = json!("锂".repeat(257));
    assert_eq!(
        fields_of(&check(value).unwrap_err()),
        vec![("title", ProblemCode::TooLong)]
    );
}

fn text(chars: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    // Latin, Cyrillic, CJK and Arabic letters, so limits are exercised in characters, not bytes.
    let alphabet = prop::sample::select(vec![
        'a', 'z', 'é', 'ж', 'Я', '锂', '电', 'ب', 'ع', '7', ' ',
    ]);
    prop::collection::vec(alphabet, chars).prop_map(|letters| {
        let mut text: String = letters.into_iter().collect();
        text.replace_range(0..text.chars().next().map_or(0, char::len_utf8), "x"); // never blank
        text
    })
}

fn valid_body() -> impl Strategy<Value = ListingBody> {
    let texts = (
        text(3..=256),
        text(10..=500),
        prop::option::of(text(1..=4000)),
        prop::option::of(text(1..=2000)),
    );
    let lists = (
        prop::collection::btree_set(1u8..=35, 1..=5),
        prop::collection::btree_set(prop::sample::select(vec!["A", "C", "D", "Q", "U"]), 0..=3),
        prop::collection::vec(text(1..=64), 0..=20),
        prop::collection::btree_set(prop::sample::select(Cooperation::ALL.to_vec()), 1..=7),
        prop::collection::btree_set(
            prop::sample::select(vec!["CN", "RU", "KZ", "AE", "TR"]),
            0..=5,
        ),
    );
    let shape = (
        any::<bool>(),
        1u8..=9,
        prop::sample::select(Ipr::ALL.to_vec()),
        prop::sample::select(vec!["en", "zh", "ru", "ar"]),
    );
    (texts, lists, shape).prop_map(
        |(
            (title, summary, description, long),
            (fields, sectors, keywords, cooperation, countries),
            (is_offer, trl, ipr, language),
        )| ListingBody {
            kind: if is_offer { Kind::Offer } else { Kind::Need },
            external_id: Some("ext-1".into()),
            language: LanguageTag::new(language).unwrap(),
            language_detected: false,
            title,
            summary,
            description,
            advantages: if is_offer { long.clone() } else { None },
            requirements: if is_offer { None } else { long.clone() },
            partner_sought: long,
            translations: Default::default(),
            keywords,
            technology_fields: fields
                .into_iter()
                .map(|field| TechnologyField::new(field).unwrap())
                .collect(),
            sectors: sectors
                .into_iter()
                .map(|letter| Sector::new(letter).unwrap())
                .collect(),
            sdgs: vec![Sdg::new(7).unwrap()],
            trl: is_offer.then(|| Trl::new(trl).unwrap()),
            trl_min: (!is_offer).then(|| Trl::new(trl).unwrap()),
            ipr: is_offer.then_some(ipr),
            patents: Vec::new(),
            cooperation,
            organisation: Organisation {
                name: "Org".into(),
                kind: OrganisationKind::University,
                size: None,
                country: Country::new("CN").unwrap(),
            },
            target_countries: countries
                .into_iter()
                .map(|code| Country::new(code).unwrap())
                .collect(),
            budget: (!is_offer).then(|| Budget {
                min: Some(1),
                max: Some(2),
                currency: Currency::new("USD").unwrap(),
            }),
            price_negotiable: is_offer.then_some(true),
            contact: Some(Contact {
                name: "A".into(),
                email: "a@example.org".into(),
                phone: None,
            }),
        },
    )
}

/// Fields with a length limit, the path validation must report, and a value one past the limit.
fn oversized_fields() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("title", json!("t".repeat(257))),
        ("summary", json!("s".repeat(501))),
        ("description", json!("d".repeat(4001))),
        ("partner_sought", json!("p".repeat(2001))),
        ("external_id", json!("e".repeat(129))),
        ("keywords", json!(vec!["k"; 21])),
        ("keywords[0]", json!("k".repeat(65))),
        ("technology_fields", json!([1, 2, 3, 4, 5, 6])),
        ("technology_fields[0]", json!(36)),
        ("sectors", json!(["A", "B", "C", "D"])),
        ("sdgs[0]", json!(18)),
        ("organisation.name", json!("o".repeat(257))),
        ("contact.name", json!("c".repeat(257))),
        (
            "contact.email",
            json!(format!("{}@example.org", "e".repeat(250))),
        ),
        ("contact.phone", json!("1".repeat(33))),
        ("translations.en.title", json!("t".repeat(257))),
    ]
}

/// Sets a dotted path such as `keywords[0]` or `organisation.name` in a JSON object.
fn set_path(value: &mut serde_json::Value, path: &str, new: serde_json::Value) {
    let mut target = value;
    for part in path.split('.') {
        target = match part.split_once('[') {
            Some((name, index)) => {
                let index: usize = index.trim_end_matches(']').parse().unwrap();
                &mut target[name][index]
            }
            None => &mut target[part],
        };
    }
    *target = new;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn valid_listings_round_trip_through_json(body in valid_body()) {
        let json = serde_json::to_value(&body).unwrap();
        let stored: ListingBody = serde_json::from_value(json.clone()).unwrap();
        prop_assert_eq!(&stored, &body);
        let revalidated = check(json).map_err(|problems| TestCaseError::fail(format!("{problems:?}")))?;
        prop_assert_eq!(revalidated.body, body);
    }

    #[test]
    fn each_field_past_its_limit_is_reported_at_its_path(case in prop::sample::select(oversized_fields())) {
        let (path, oversized) = case;
        let mut value = offer_json();
        value["keywords"] = json!(["battery"]);
        value["sdgs"] = json!([7]);
        value["contact"]["phone"] = json!("+86 10 1234");
        value["translations"] = json!({"en": {"title": "Battery recycling", "summary": "Recovering lithium from spent cells."}});
        prop_assert!(check(value.clone()).is_ok());
        set_path(&mut value, path, oversized);
        let problems = check(value).unwrap_err();
        prop_assert_eq!(problems.len(), 1, "{:?}", problems);
        prop_assert_eq!(problems[0].field.as_str(), path);
        prop_assert!(matches!(problems[0].code, ProblemCode::TooLong | ProblemCode::TooMany | ProblemCode::OutOfRange), "{:?}", problems[0]);
    }
}
