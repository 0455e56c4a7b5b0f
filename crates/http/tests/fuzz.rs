//! The whole router against hostile input: every route of `table()`, thrown random and mutated paths,
//! query strings, headers and bodies, answers below 500, and every error is an RFC 9457 problem
//! document (api.md, "Errors": "Never a 500 for bad input").
//!
//! One engine on a temp dir with a few listings, organisations and tokens serves every case; the
//! router is rebuilt per case (it is cheap) and each request runs on its own task, as a connection
//! would, so a panicking handler is reported instead of tearing the test down. The seed is fixed
//! (`PROPTEST_RNG_SEED` and `PROPTEST_CASES` override it) so a run is repeatable.

use std::fmt;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use serde_json::{Value, json};
use silkmatch_core::{Country, Organisation, OrganisationKind, draft_from_value, validate};
use silkmatch_http::{App, router, table};
use silkmatch_index::{Engine, IndexCommit, Owner, Target, Write};
use tower::ServiceExt;

/// Longest a single request may take before the test calls it a hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The server under test.

/// One engine, its tokens and the ids that exist in it.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: App,
    dir: tempfile::TempDir,
    admin: String,
    partner: String,
    stranger: String,
    revoked: String,
    /// Listings (offers and needs; published, draft, withdrawn; the partner's and others').
    listing_ids: Vec<String>,
    /// Organisation ids and token ids that may be revoked without losing the tokens above.
    other_ids: Vec<String>,
    /// A cursor the server issued for `limit=1`.
    cursor: String,
}

fn offer_body(external_id: &str, title: &str) -> Value {
    json!({
        "kind": "offer", "external_id": external_id, "language": "en", "title": title,
        "summary": format!("{title}: a technology ready for licensing."),
        "description": "A pump driven by photovoltaic panels, for irrigation in remote areas.",
        "advantages": "No grid connection; low maintenance.",
        "technology_fields": [24, 27], "sectors": ["E", "A"], "trl": 7, "ipr": "granted",
        "patents": ["CN112345678A"], "cooperation": ["licence", "manufacturing"],
        "keywords": ["solar", "pump"], "sdgs": [6, 7], "target_countries": ["KZ", "UZ"],
        "price_negotiable": true, "status": "published",
        "translations": {"zh": {"title": "太阳能水泵", "summary": "用于偏远地区灌溉的太阳能水泵系统。"}},
        "organisation": {"name": "Fuzz University", "kind": "university", "size": "250+", "country": "CN"},
        "contact": {"name": "A. Person", "email": "a.person@example.org", "phone": "+86 10 0000 0000"}
    })
}

fn need_body(external_id: &str, title: &str) -> Value {
    json!({
        "kind": "need", "external_id": external_id, "language": "en", "title": title,
        "summary": format!("{title}: we look for a partner to supply and adapt it."),
        "requirements": "Works without grid power; lifts water 20 m.",
        "partner_sought": "A manufacturer or a university lab.",
        "technology_fields": [27], "sectors": ["A"], "trl_min": 5,
        "cooperation": ["joint_development", "licence"], "target_countries": ["CN"],
        "budget": {"min": 10000, "max": 50000, "currency": "USD"}, "status": "published",
        "organisation": {"name": "Fuzz Farm Cooperative", "kind": "sme", "size": "11-49", "country": "KZ"},
        "contact": {"name": "B. Person", "email": "b.person@example.org"}
    })
}

fn organisation(name: &str, kind: &str, country: &str) -> Organisation {
    Organisation {
        name: name.into(),
        kind: OrganisationKind::parse(kind).unwrap(),
        size: None,
        country: Country::new(country).unwrap(),
    }
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        let now = silkmatch_http::now();
        let admin_org = engine
            .create_organisation(&organisation("Fuzz Centre", "public_body", "CN"), now)
            .unwrap();
        let partner_org = engine
            .create_organisation(&organisation("Fuzz Partner", "university", "KZ"), now)
            .unwrap();
        let stranger_org = engine
            .create_organisation(&organisation("Fuzz Stranger", "sme", "TR"), now)
            .unwrap();
        let token = |org: &str, name: &str, admin: bool| {
            engine.create_token(org, name, admin, now).unwrap()
        };
        let (_, admin) = token(&admin_org.id, "admin", true);
        let (_, partner) = token(&partner_org.id, "partner", false);
        let (_, stranger) = token(&stranger_org.id, "stranger", false);
        let (revoked_record, revoked) = token(&partner_org.id, "revoked", false);
        engine.revoke_token(&revoked_record.id, now).unwrap();
        let (spare_record, _) = token(&partner_org.id, "spare", false);

        let validated = |value: Value| validate(&draft_from_value(value).unwrap()).unwrap();
        let mut draft_need = need_body("fuzz-p2", "Draft need for a borehole pump");
        draft_need.as_object_mut().unwrap().remove("status");
        let writes = vec![
            Write::Upsert {
                owner: Owner::FromListing,
                validated: validated(offer_body("fuzz-1", "Solar water pump")),
            },
            Write::Upsert {
                owner: Owner::FromListing,
                validated: validated(need_body("fuzz-2", "Irrigation pump wanted")),
            },
            Write::Create {
                owner: partner_org.id.clone(),
                validated: validated(offer_body("fuzz-p1", "Wind turbine blade coating")),
                idempotency: None,
            },
            Write::Create {
                owner: partner_org.id.clone(),
                validated: validated(draft_need),
                idempotency: None,
            },
            Write::Create {
                owner: partner_org.id.clone(),
                validated: validated(need_body("fuzz-p3", "Desalination membrane wanted")),
                idempotency: None,
            },
            Write::Create {
                owner: partner_org.id.clone(),
                validated: validated(offer_body("fuzz-p4", "Withdrawn heat pump")),
                idempotency: None,
            },
        ];
        let mut listing_ids: Vec<String> = engine
            .write(writes, now, IndexCommit::Now)
            .unwrap()
            .into_iter()
            .map(|written| written.unwrap().listing().id.clone())
            .collect();
        let withdraw = Write::Withdraw {
            target: Target {
                owner: partner_org.id.clone(),
                id: listing_ids[5].clone(),
                expected_version: None,
            },
        };
        engine
            .write(vec![withdraw], now, IndexCommit::Now)
            .unwrap()
            .pop()
            .unwrap()
            .unwrap();
        listing_ids.dedup();

        let runtime = tokio::runtime::Runtime::new().unwrap();
        let app = App::new(engine, silkmatch_http::Config::default()).unwrap();
        let request = Request::get("/v1/search?limit=1")
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = runtime.block_on(send(&app, request)).unwrap();
        assert_eq!(status, StatusCode::OK);
        let page: Value = serde_json::from_slice(&body).unwrap();
        let cursor = page["next_cursor"]
            .as_str()
            .expect("two published listings give a next page")
            .to_owned();
        Fixture {
            runtime,
            app,
            dir,
            admin,
            partner,
            stranger,
            revoked,
            listing_ids,
            other_ids: vec![
                admin_org.id,
                partner_org.id,
                stranger_org.id,
                revoked_record.id,
                spare_record.id,
            ],
            cursor,
        }
    }

    /// Sends one request and checks the answer; `Err` describes what was wrong.
    fn check(&self, input: &Input) -> Result<(), String> {
        let request = input.request()?;
        let (status, headers, body) = self.runtime.block_on(send(&self.app, request))?;
        check_response(
            input,
            status,
            &headers,
            &body,
            &self.dir.path().to_string_lossy(),
        )
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.app.close_writes();
    }
}

/// Runs the request on its own task (a panic there is what a dropped connection looks like).
async fn send(app: &App, request: Request<Body>) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    let handle = tokio::spawn(router(app.clone()).oneshot(request));
    let response = match tokio::time::timeout(ANSWER_WITHIN, handle).await {
        Err(_) => return Err(format!("no answer within {ANSWER_WITHIN:?}")),
        Ok(Err(join)) => {
            let reason = if join.is_panic() {
                let payload = join.into_panic();
                payload
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default()
            } else {
                join.to_string()
            };
            return Err(format!(
                "the handler panicked (the client would get no response): {reason}"
            ));
        }
        Ok(Ok(response)) => response.unwrap_or_else(|never| match never {}),
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|err| format!("{} with an unreadable body: {err}", parts.status))?;
    Ok((parts.status, parts.headers, bytes))
}

/// Status below 500; every error a problem document whose `status` is the HTTP status.
fn check_response(
    input: &Input,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    dir: &str,
) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    let shown: String = text.chars().take(600).collect();
    let fail = |why: &str| Err(format!("{why}: {status} {shown}"));
    if status.is_server_error() {
        return fail("a server error");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    for leak in [dir, "panicked", "RUST_BACKTRACE", ".rs:"] {
        if text.contains(leak) {
            return fail(&format!("the response shows internals ({leak:?})"));
        }
    }
    let has_body = input.method != Method::HEAD;
    if status.as_u16() < 400 {
        if has_body
            && content_type.starts_with("application/json")
            && serde_json::from_slice::<Value>(body).is_err()
        {
            return fail("a JSON success whose body is not JSON");
        }
        return Ok(());
    }
    if content_type != "application/problem+json" {
        return fail(&format!(
            "an error with content-type {content_type:?}, not application/problem+json"
        ));
    }
    if !has_body {
        return Ok(());
    }
    let Ok(problem) = serde_json::from_slice::<Value>(body) else {
        return fail("an error body that is not JSON");
    };
    let blank = |value: &Value| value.as_str().is_none_or(str::is_empty);
    for member in ["type", "title", "detail"] {
        if blank(&problem[member]) {
            return fail(&format!("a problem without a `{member}` string"));
        }
    }
    if problem["status"].as_u64() != Some(u64::from(status.as_u16())) {
        return fail("a problem whose `status` is not the HTTP status");
    }
    if let Some(errors) = problem.get("errors") {
        let Some(errors) = errors.as_array() else {
            return fail("`errors` is not an array");
        };
        for entry in errors {
            if !entry["field"].is_string() || blank(&entry["code"]) || blank(&entry["message"]) {
                return fail("an `errors` entry without `field`, `code` and `message`");
            }
        }
    }
    let kind = problem["type"].as_str().unwrap_or_default();
    if kind.ends_with("/invalid-listing") && problem["errors"].as_array().is_none_or(Vec::is_empty)
    {
        return fail("an invalid listing without the field problems under `errors`");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// One request, as bytes on the wire would describe it.
#[derive(Clone)]
struct Input {
    method: Method,
    /// Already percent-encoded (or deliberately mis-encoded).
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Input {
    fn request(&self) -> Result<Request<Body>, String> {
        let uri = match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        };
        let mut builder = Request::builder().method(self.method.clone()).uri(&uri);
        for (name, value) in &self.headers {
            // Values a real client could not send (CR, LF, NUL) are left out.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                builder = builder.header(name, value);
            }
        }
        builder
            .body(Body::from(self.body.clone()))
            .map_err(|err| format!("the generator made an invalid request ({err})"))
    }
}

fn escaped(bytes: &[u8], limit: usize) -> String {
    let shown: String = bytes
        .iter()
        .take(limit)
        .flat_map(|&byte| std::ascii::escape_default(byte))
        .map(char::from)
        .collect();
    if bytes.len() > limit {
        format!("{shown}... ({} bytes in all)", bytes.len())
    } else {
        shown
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query = self
            .query
            .as_deref()
            .map(|query| format!("?{}", escaped(query.as_bytes(), 300)))
            .unwrap_or_default();
        writeln!(
            f,
            "{} {}{query}",
            self.method,
            escaped(self.path.as_bytes(), 300)
        )?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {}", escaped(value, 300))?;
        }
        write!(f, "\n{}", escaped(&self.body, 600))
    }
}

/// What a route takes, to aim the generated input at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Search,
    Matches,
    Body,
    Plain,
}

#[derive(Debug, Clone)]
struct RouteInfo {
    method: Method,
    path: &'static str,
    surface: Surface,
}

fn routes() -> Vec<RouteInfo> {
    table()
        .into_iter()
        .map(|route| {
            let surface = if route.path == "/v1/search" {
                Surface::Search
            } else if route.path.ends_with("/matches") || route.path == "/v1/match" {
                Surface::Matches
            } else if [Method::POST, Method::PUT, Method::PATCH].contains(&route.method) {
                Surface::Body
            } else {
                Surface::Plain
            };
            RouteInfo {
                method: route.method,
                path: route.path,
                surface,
            }
        })
        .collect()
}

/// Percent-encodes every byte outside RFC 3986's unreserved set.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Encoded text that is wrong on purpose (bad escapes, invalid UTF-8, traversal, separators).
const RAW_ODDITIES: &[&str] = &[
    "",
    "%",
    "%2",
    "%zz",
    "%FF",
    "%FF%FE",
    "%C3%28",
    "%C3",
    "%E2%82",
    "%ED%A0%80",
    "%F0%9F%98%80",
    "%00",
    "%0A",
    "%2F",
    "a%2Fb",
    "..",
    ".",
    "%2e%2e",
    "%u0041",
    "+",
    "%2B",
    "%20",
    "%25",
    "%3F",
    "%23",
    "%26",
    "%3D",
    "%EF%BB%BF",
    "%C0%AF",
    "%F8%88%80%80%80",
];

/// Interesting ids: real ones, random ones, ones with odd bytes.
fn id_strategy(fixture: &Fixture, template: &str) -> BoxedStrategy<String> {
    let real: Vec<String> = fixture
        .listing_ids
        .iter()
        .chain(&fixture.other_ids)
        .cloned()
        .collect();
    // The fixture's listings are offer, need, the partner's offer, draft need, need, withdrawn offer.
    let pick = |indices: &[usize], from: &[String]| -> Vec<String> {
        indices.iter().map(|&at| from[at].clone()).collect()
    };
    let aimed = if template.starts_with("/v1/offers") {
        pick(&[0, 2, 2, 5], &fixture.listing_ids)
    } else if template.starts_with("/v1/needs") {
        pick(&[1, 3, 4, 4], &fixture.listing_ids)
    } else {
        pick(&[3, 4], &fixture.other_ids)
    };
    prop_oneof![
        8 => prop::sample::select(aimed),
        3 => prop::sample::select(fixture.listing_ids.clone()),
        2 => prop::sample::select(fixture.other_ids.clone()),
        1 => "[0-9A-HJKMNP-TV-Z]{26}",
        1 => "[A-Za-z0-9_-]{0,30}",
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| encode(&bytes)),
        1 => prop::sample::select(RAW_ODDITIES).prop_map(str::to_owned),
        1 => (prop::sample::select(real), prop::sample::select(RAW_ODDITIES), any::<bool>())
            .prop_map(|(id, odd, before)| if before { format!("{odd}{id}") } else { format!("{id}{odd}") }),
        1 => (65usize..400).prop_map(|len| "A".repeat(len)),
        1 => ".{1,20}".prop_map(|text| encode(text.as_bytes())),
    ]
    .boxed()
}

fn method_strategy(route: Method) -> BoxedStrategy<Method> {
    let others = vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::from_bytes(b"FROB").unwrap(),
    ];
    prop_oneof![12 => Just(route), 1 => prop::sample::select(others)].boxed()
}

fn path_strategy(fixture: &Fixture, route: &RouteInfo) -> BoxedStrategy<String> {
    let template = route.path;
    let with_id = id_strategy(fixture, template).prop_map(move |id| template.replace("{id}", &id));
    let unknown = prop_oneof![
        Just("/".to_owned()),
        Just("/v1".to_owned()),
        Just("/v1/".to_owned()),
        Just(format!("{template}/")),
        Just(format!("/{template}")),
        "[a-z]{1,10}".prop_map(move |segment| format!("{template}/{segment}")),
        prop::sample::select(RAW_ODDITIES).prop_map(|odd| format!("/v1/{odd}")),
    ];
    prop_oneof![15 => with_id, 1 => unknown].boxed()
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "5",
    "9",
    "10",
    "20",
    "35",
    "36",
    "99",
    "100",
    "101",
    "500",
    "9999",
    "10000",
    "10001",
    "-1",
    "-0",
    "+5",
    " 5",
    "5 ",
    "1e3",
    "3.5",
    "0x10",
    "NaN",
    "inf",
    "",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551600",
    "18446744073709551614",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999",
];

const WORDS: &[&str] = &[
    "solar",
    "pump",
    "solar pump",
    "太阳能",
    "насос",
    "مضخة",
    "pompe",
    "offer",
    "need",
    "offers",
    "CN",
    "KZ",
    "cn",
    "CN,KZ",
    ",,",
    "XX",
    "China",
    "24",
    "E",
    "A,B,C",
    "licence",
    "joint_development",
    "en",
    "zh",
    "xx-YY",
    "relevance",
    "newest",
    "true",
    "false",
    "TRUE",
    "reciprocal",
    "forward",
    "backward",
    "text",
    "\"",
    "'",
    "<script>",
    "*",
    "?",
    "OR",
    "AND",
    "NOT",
    "title:solar",
    "\"solar",
    "(",
    ")",
    "[",
    "~",
    "^2",
    "\\",
];

/// A query value: plain words, numbers at their limits, cursors (real, edited), long and mis-encoded text.
fn value_strategy(cursor: String) -> BoxedStrategy<String> {
    let tampered = {
        let cursor = cursor.clone();
        (any::<Index>(), any::<u8>(), 0usize..4).prop_map(move |(at, byte, how)| {
            let mut bytes = cursor.clone().into_bytes();
            let at = at.index(bytes.len());
            match how {
                0 => bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' },
                1 => bytes.truncate(at),
                2 => bytes.insert(at, byte),
                _ => {
                    let (_, signature) = cursor.split_once('.').unwrap_or_default();
                    bytes = format!("OTk5OTk5OTk5OTk5OTk5OTk5OTk.{signature}").into_bytes();
                }
            }
            encode(&bytes)
        })
    };
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(|word| encode(word.as_bytes())),
        4 => prop::sample::select(NUMBERS).prop_map(|number| encode(number.as_bytes())),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => Just(cursor),
        2 => tampered,
        2 => ".{0,30}".prop_map(|text| encode(text.as_bytes())),
        2 => prop::sample::select(RAW_ODDITIES).prop_map(str::to_owned),
        1 => prop_oneof![
            (900usize..1100).prop_map(|len| "a".repeat(len)),
            (300usize..500).prop_map(|len| "%E5%A4%AA".repeat(len)),
            (3000usize..6000).prop_map(|len| "x".repeat(len)),
        ],
        1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(|bytes| encode(&bytes)),
    ]
    .boxed()
}

const SEARCH_KEYS: &[&str] = &[
    "q",
    "kind",
    "country",
    "technology_field",
    "sector",
    "cooperation",
    "trl_min",
    "trl_max",
    "language",
    "sort",
    "limit",
    "cursor",
    "offset",
    "facets",
    "snippets",
];
const MATCH_KEYS: &[&str] = &["k", "candidates", "direction", "explain"];

fn query_strategy(surface: Surface, cursor: String) -> BoxedStrategy<Option<String>> {
    let keys: Vec<&'static str> = match surface {
        Surface::Search => SEARCH_KEYS.to_vec(),
        Surface::Matches => MATCH_KEYS.to_vec(),
        Surface::Body | Surface::Plain => SEARCH_KEYS.iter().chain(MATCH_KEYS).copied().collect(),
    };
    let key = prop_oneof![
        6 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => "[a-z_]{1,12}",
        1 => prop::sample::select(RAW_ODDITIES).prop_map(str::to_owned),
        1 => ".{1,8}".prop_map(|text| encode(text.as_bytes())),
    ];
    let pair =
        (key, value_strategy(cursor), 0usize..8).prop_map(|(key, value, shape)| match shape {
            0 => key,
            1 => format!("{key}="),
            2 => format!("{key}=={value}"),
            _ => format!("{key}={value}"),
        });
    let separator = prop::sample::select(vec!["&", "&", "&", "&&", ";", "&=&"]);
    let query = prop::collection::vec((pair, separator), 0..7).prop_map(|pairs| {
        pairs
            .into_iter()
            .enumerate()
            .map(|(at, (pair, separator))| {
                if at == 0 {
                    pair
                } else {
                    format!("{separator}{pair}")
                }
            })
            .collect::<String>()
    });
    let weight = if matches!(surface, Surface::Search | Surface::Matches) {
        6
    } else {
        1
    };
    prop_oneof![2 => Just(None), weight => query.prop_map(Some), 1 => Just(Some(String::new()))]
        .boxed()
}

/// Visible-ASCII-ish bytes (a few get refused as header values and are left out, as a client would).
fn header_bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(0x20u8..0x7f, 0..max),
        1 => prop::collection::vec(any::<u8>(), 0..max),
    ]
    .boxed()
}

/// Half the cases send the headers a well-behaved client would, so the hostile bodies, paths and
/// queries get past authentication; the other half sends hostile headers.
fn headers_strategy(fixture: &Fixture, surface: Surface) -> BoxedStrategy<Vec<(String, Vec<u8>)>> {
    let bearer = |token: &str| format!("Bearer {token}").into_bytes();
    let json = || ("content-type".to_owned(), b"application/json".to_vec());
    let clean = prop_oneof![
        3 => Just(vec![("authorization".to_owned(), bearer(&fixture.partner)), json()]),
        1 => Just(vec![("authorization".to_owned(), bearer(&fixture.admin)), json()]),
        1 => Just(vec![json()]),
    ];
    let altered = {
        let mut token = fixture.partner.clone();
        let last = token.pop().unwrap_or('x');
        token.push(if last == 'A' { 'B' } else { 'A' });
        token
    };
    let garbage = prop_oneof![
        1 => Just(Some(bearer(&altered))),
        1 => Just(Some(format!("bearer {}", fixture.partner).into_bytes())),
        1 => Just(Some(fixture.partner.clone().into_bytes())),
        1 => prop::sample::select(vec!["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer smk_", "Bearer smk__", "Bearer smk_01ARZ3NDEKTSV4RRFFQ69G5FAV_", "Bearer \u{e9}"])
            .prop_map(|value| Some(value.as_bytes().to_vec())),
        1 => header_bytes(260).prop_map(move |garbage| Some([b"Bearer ".as_slice(), &garbage].concat())),
        1 => header_bytes(40).prop_map(Some),
        1 => (0usize..40, 0usize..80).prop_map(|(id, secret)| Some(format!("Bearer smk_{}_{}", "0".repeat(id), "a".repeat(secret)).into_bytes())),
    ];
    let authorization = prop_oneof![
        2 => Just(None),
        12 => Just(Some(bearer(&fixture.partner))),
        6 => Just(Some(bearer(&fixture.admin))),
        1 => Just(Some(bearer(&fixture.stranger))),
        1 => Just(Some(bearer(&fixture.revoked))),
        1 => Just(Some(format!("Bearer   {}  ", fixture.partner).into_bytes())),
        3 => garbage,
    ];
    let json_weight = if surface == Surface::Plain { 1 } else { 16 };
    let content_type = prop_oneof![
        1 => Just(None),
        json_weight => prop::sample::select(vec!["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"])
            .prop_map(|value| Some(value.as_bytes().to_vec())),
        1 => prop::sample::select(vec!["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", ";", "application/json;;;", "application/jsonx", "json", "application/problem+json", "application/json; charset=latin1"])
            .prop_map(|value| Some(value.as_bytes().to_vec())),
        1 => header_bytes(40).prop_map(Some),
    ];
    let if_match = prop_oneof![
        10 => Just(None),
        2 => prop::sample::select(vec!["\"1\"", "\"2\"", "\"3\"", "\"999\"", "*", "W/\"1\"", "1", "\"\"", "\"-1\"", "\"18446744073709551615\"", "\"18446744073709551616\"", "\"1\", \"2\"", "\""])
            .prop_map(|value| Some(value.as_bytes().to_vec())),
        1 => header_bytes(30).prop_map(Some),
    ];
    let idempotency_key = prop_oneof![
        12 => Just(None),
        2 => prop::sample::select(vec!["k1", "k2", "", " ", "with space", "\u{e9}t\u{e9}"]).prop_map(|value| Some(value.as_bytes().to_vec())),
        1 => (250usize..300).prop_map(|len| Some(vec![b'k'; len])),
        1 => header_bytes(30).prop_map(Some),
    ];
    let extra = prop_oneof![
        4 => Just(None),
        1 => header_bytes(70).prop_map(|value| Some(("x-request-id".to_owned(), value))),
        1 => ("[a-z][a-z0-9-]{0,15}", header_bytes(40)).prop_map(|(name, value)| Some((name, value))),
        1 => prop::sample::select(vec!["accept", "accept-encoding", "content-encoding", "transfer-encoding", "expect", "range", "if-none-match"])
            .prop_flat_map(|name| header_bytes(30).prop_map(move |value| Some((name.to_owned(), value)))),
    ];
    let hostile = (
        authorization,
        content_type,
        if_match,
        idempotency_key,
        extra,
    )
        .prop_map(
            |(authorization, content_type, if_match, idempotency_key, extra)| {
                let mut headers = Vec::new();
                let mut add = |name: &str, value: Option<Vec<u8>>| {
                    if let Some(value) = value {
                        headers.push((name.to_owned(), value));
                    }
                };
                add("authorization", authorization);
                add("content-type", content_type);
                add("if-match", if_match);
                add("idempotency-key", idempotency_key);
                if let Some((name, value)) = extra {
                    add(&name, Some(value));
                }
                headers
            },
        );
    prop_oneof![clean, hostile].boxed()
}

// ---------------------------------------------------------------------------------------------
// Bodies.

const FIELDS: &[&str] = &[
    "kind",
    "external_id",
    "status",
    "language",
    "title",
    "summary",
    "description",
    "advantages",
    "requirements",
    "partner_sought",
    "translations",
    "keywords",
    "technology_fields",
    "sectors",
    "sdgs",
    "trl",
    "trl_min",
    "ipr",
    "patents",
    "cooperation",
    "organisation",
    "target_countries",
    "budget",
    "price_negotiable",
    "contact",
    "id",
    "owner",
    "version",
    "expires_at",
    "published_at",
    "language_detected",
    "organisation_id",
    "name",
    "country",
    "admin",
    "size",
];

const NESTED: &[&[&str]] = &[
    &["organisation", "name"],
    &["organisation", "kind"],
    &["organisation", "country"],
    &["organisation", "size"],
    &["organisation", "extra"],
    &["contact", "name"],
    &["contact", "email"],
    &["contact", "phone"],
    &["budget", "min"],
    &["budget", "max"],
    &["budget", "currency"],
    &["translations", "zh"],
    &["translations", "zh", "title"],
    &["translations", "ru", "summary"],
    &["translations", "xx", "title"],
    &["translations", ""],
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "x",
    "ab",
    "abc",
    "offer",
    "need",
    "published",
    "draft",
    "withdrawn",
    "expired",
    "PUBLISHED",
    "en",
    "zh",
    "ar",
    "und",
    "xx",
    "CN",
    "cn",
    "ZZ",
    "USD",
    "usd",
    "XXX",
    "licence",
    "granted",
    "none",
    "university",
    "sme",
    "250+",
    "1-10",
    "E",
    "U",
    "V",
    "a@b",
    "not an email",
    "a.person@example.org",
    "2026-01-01T00:00:00Z",
    "\u{0}",
    "\u{202e}abc",
    "e\u{301}",
    "😀😀😀",
    "\u{feff}",
    "\u{fffd}",
    "<mark>x</mark>",
    "\\",
    "\"",
    "'; DROP TABLE listings; --",
    "太阳能水泵",
    "насос",
    "مضخة شمسية",
    "\u{d7ff}\u{e000}",
    "\u{10ffff}",
];

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![
            0i64,
            1,
            -1,
            3,
            7,
            9,
            10,
            17,
            18,
            35,
            36,
            128,
            129,
            i64::MAX,
            i64::MIN
        ])
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!(u64::MAX)),
        prop::sample::select(vec![0.5f64, -0.0, 1e300, -1e300, 7.0, f64::MIN_POSITIVE])
            .prop_map(|n| json!(n)),
        prop::sample::select(STRINGS).prop_map(|text| Value::String(text.to_owned())),
        ".{0,40}".prop_map(Value::String),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    let key = prop_oneof![3 => prop::sample::select(FIELDS).prop_map(str::to_owned), 1 => "[a-z_]{0,10}", 1 => ".{0,6}"];
    json_leaf()
        .prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
        .boxed()
}

fn field_path() -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        3 => prop::sample::select(FIELDS).prop_map(|field| vec![field.to_owned()]),
        2 => prop::sample::select(NESTED).prop_map(|path| path.iter().map(|part| (*part).to_owned()).collect()),
    ]
    .boxed()
}

/// One change to a valid body.
#[derive(Debug, Clone)]
enum Mutation {
    Set(Vec<String>, Value),
    Remove(Vec<String>),
    /// A string of this many repetitions of a (possibly multi-byte) character.
    Long(Vec<String>, usize, char),
    /// Arrays nested this deep.
    Nest(Vec<String>, usize),
    Unknown(String, Value),
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        6 => (field_path(), json_value()).prop_map(|(path, value)| Mutation::Set(path, value)),
        3 => field_path().prop_map(Mutation::Remove),
        2 => (field_path(), prop::sample::select(vec![1usize, 2, 3, 9, 10, 64, 65, 128, 129, 256, 257, 500, 501, 2000, 2001, 4000, 4001, 20_000, 60_000, 70_000]), prop::sample::select(vec!['a', 'é', '水', '😀', ' ', '\u{301}']))
            .prop_map(|(path, len, ch)| Mutation::Long(path, len, ch)),
        1 => (field_path(), 1usize..300).prop_map(|(path, depth)| Mutation::Nest(path, depth)),
        1 => ("[a-z_]{1,12}", json_value()).prop_map(|(key, value)| Mutation::Unknown(key, value)),
    ]
    .boxed()
}

fn set_path(target: &mut Value, path: &[String], value: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = target;
    for part in parents {
        if !node.is_object() {
            *node = json!({});
        }
        node = node
            .as_object_mut()
            .unwrap()
            .entry(part.clone())
            .or_insert_with(|| json!({}));
    }
    if !node.is_object() {
        *node = json!({});
    }
    let map = node.as_object_mut().unwrap();
    match value {
        Some(value) => {
            map.insert(last.clone(), value);
        }
        None => {
            map.remove(last);
        }
    }
}

fn apply(mut body: Value, mutations: &[Mutation]) -> Value {
    for mutation in mutations {
        match mutation {
            Mutation::Set(path, value) => set_path(&mut body, path, Some(value.clone())),
            Mutation::Remove(path) => set_path(&mut body, path, None),
            Mutation::Long(path, len, ch) => set_path(
                &mut body,
                path,
                Some(Value::String(ch.to_string().repeat(*len))),
            ),
            Mutation::Nest(path, depth) => {
                let nested = (0..*depth).fold(json!("deep"), |inner, _| Value::Array(vec![inner]));
                set_path(&mut body, path, Some(nested));
            }
            Mutation::Unknown(key, value) => {
                set_path(&mut body, std::slice::from_ref(key), Some(value.clone()))
            }
        }
    }
    body
}

/// A change to the serialized text.
#[derive(Debug, Clone)]
enum Raw {
    Keep,
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Prefix(Vec<u8>),
    Suffix(Vec<u8>),
}

fn raw_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec![
            vec![0xFF], vec![0xC3], vec![0xED, 0xA0, 0x80], vec![0x00], vec![0xF8, 0x88, 0x80, 0x80, 0x80], vec![0xEF, 0xBB, 0xBF],
            b"\\ud800".to_vec(), b"\"\\ud83d\"".to_vec(), b"NaN".to_vec(), b"1e99999".to_vec(), b",".to_vec(), b"}".to_vec(),
            b"{}".to_vec(), b"\"title\":\"dup\",".to_vec(), b"/* c */".to_vec(), b"\t\r\n".to_vec(), b"\\".to_vec(),
        ]),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ]
    .boxed()
}

fn raw_mutation() -> BoxedStrategy<Raw> {
    prop_oneof![
        12 => Just(Raw::Keep),
        1 => any::<Index>().prop_map(Raw::Truncate),
        2 => (any::<Index>(), raw_bytes()).prop_map(|(at, bytes)| Raw::Insert(at, bytes)),
        1 => raw_bytes().prop_map(Raw::Prefix),
        1 => raw_bytes().prop_map(Raw::Suffix),
    ]
    .boxed()
}

fn apply_raw(mut bytes: Vec<u8>, raw: &Raw) -> Vec<u8> {
    match raw {
        Raw::Keep => {}
        Raw::Truncate(at) => {
            let at = at.index(bytes.len().max(1));
            bytes.truncate(at);
        }
        Raw::Insert(at, insert) => {
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, insert.iter().copied());
        }
        Raw::Prefix(prefix) => bytes.splice(0..0, prefix.iter().copied()).for_each(drop),
        Raw::Suffix(suffix) => bytes.extend_from_slice(suffix),
    }
    bytes
}

/// Valid bodies of every route that takes one, before mutation.
fn valid_body(fixture: &Fixture, route: &RouteInfo) -> BoxedStrategy<Value> {
    let offer = prop_oneof![
        2 => (0u32..50).prop_map(|n| offer_body(&format!("fuzz-new-{n}"), "Solar pump for greenhouses")),
        1 => (0u32..50).prop_map(|n| {
            let mut body = offer_body(&format!("fuzz-new-{n}"), "Solar pump without kind");
            body.as_object_mut().unwrap().remove("kind");
            body
        }),
    ];
    let need = (0u32..50)
        .prop_map(|n| need_body(&format!("fuzz-need-{n}"), "Water pump for a farm wanted"));
    let patch = prop::sample::select(vec![
        json!({"title": "A new title for the pump"}),
        json!({"status": "withdrawn", "trl": 8}),
        json!({"contact": null}),
        json!({"organisation": {"country": "UZ"}, "budget": null}),
        json!({"translations": {"ru": {"title": "Насос", "summary": "Солнечный насос для полива полей."}}}),
    ]);
    let organisation = (0u32..100_000).prop_map(|n| json!({"name": format!("Fuzz Org {n}"), "kind": "sme", "country": "UZ", "size": "1-10"}));
    let organisation_ids = fixture.other_ids.clone();
    let token = (prop::sample::select(organisation_ids), any::<bool>())
        .prop_map(|(id, admin)| json!({"organisation_id": id, "name": "fuzz", "admin": admin}));
    let any_body = prop_oneof![
        offer.clone(),
        need.clone(),
        patch.clone(),
        organisation.clone(),
        token.clone()
    ];
    let path = route.path;
    let own: BoxedStrategy<Value> = if path.starts_with("/v1/organisations") {
        organisation.boxed()
    } else if path.starts_with("/v1/tokens") {
        token.boxed()
    } else if route.method == Method::PATCH {
        prop_oneof![3 => patch, 1 => offer, 1 => need].boxed()
    } else if path.starts_with("/v1/offers") {
        offer.boxed()
    } else if path.starts_with("/v1/needs") {
        need.boxed()
    } else {
        prop_oneof![offer, need].boxed()
    };
    prop_oneof![8 => own, 1 => any_body].boxed()
}

fn body_strategy(fixture: &Fixture, route: &RouteInfo) -> BoxedStrategy<Vec<u8>> {
    let surface = route.surface;
    let valid = valid_body(fixture, route);
    let mutations =
        prop_oneof![1 => Just(Vec::new()), 1 => prop::collection::vec(mutation(), 1..4)];
    let mutated = (valid, mutations, raw_mutation()).prop_map(|(body, mutations, raw)| {
        apply_raw(apply(body, &mutations).to_string().into_bytes(), &raw)
    });
    let deep = (
        1usize..3000,
        prop::sample::select(vec![("[", "]"), ("{\"a\":", "}")]),
    )
        .prop_map(|(depth, (open, close))| {
            format!("{}1{}", open.repeat(depth), close.repeat(depth)).into_bytes()
        });
    let huge = (60_000usize..72_000).prop_map(|len| {
        json!({"kind": "offer", "title": "x".repeat(len)})
            .to_string()
            .into_bytes()
    });
    let weight = if surface == Surface::Plain { 1 } else { 12 };
    prop_oneof![
        2 => Just(Vec::new()),
        weight => mutated,
        2 => json_value().prop_map(|value| value.to_string().into_bytes()),
        1 => deep,
        1 => huge,
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
    .boxed()
}

fn input_strategy(fixture: &Fixture) -> BoxedStrategy<Input> {
    let per_route: Vec<BoxedStrategy<Input>> = routes()
        .into_iter()
        .map(|route| {
            (
                method_strategy(route.method.clone()),
                path_strategy(fixture, &route),
                query_strategy(route.surface, fixture.cursor.clone()),
                headers_strategy(fixture, route.surface),
                body_strategy(fixture, &route),
            )
                .prop_map(|(method, path, query, headers, body)| Input {
                    method,
                    path,
                    query,
                    headers,
                    body,
                })
                .boxed()
        })
        .collect();
    prop::strategy::Union::new(per_route).boxed()
}

// ---------------------------------------------------------------------------------------------
// The properties.

fn runner_config() -> Config {
    let defaults = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            defaults.cases
        } else {
            2048
        },
        rng_seed: match defaults.rng_seed {
            RngSeed::Random => RngSeed::Fixed(0x5113_3a7c),
            seed => seed,
        },
        failure_persistence: None,
        max_shrink_iters: 512,
        max_shrink_time: 30_000,
        ..defaults
    }
}

#[test]
fn hostile_requests_get_a_problem_never_a_server_error() {
    let fixture = Fixture::new();
    let strategy = input_strategy(&fixture);
    let mut runner = TestRunner::new(runner_config());
    let result = runner.run(&strategy, |input| {
        fixture.check(&input).map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, input)) => panic!("{reason}\nminimal input:\n{input:?}"),
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
}

/// The same checks on fixed inputs every route gets, so the known edges are covered on every run
/// whatever the seed; every failure is listed, not only the first.
#[test]
fn every_route_answers_known_edge_cases_with_a_problem() {
    let fixture = Fixture::new();
    let offer = offer_body("fuzz-edge", "Edge case pump")
        .to_string()
        .into_bytes();
    let ids: Vec<String> = [
        fixture.listing_ids[0].as_str(),
        "%FF",
        "%C3%28",
        "%00",
        "a%2Fb",
        "%2e%2e",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ]
    .iter()
    .map(|id| (*id).to_owned())
    .chain([format!("{}%FF", fixture.listing_ids[2]), "A".repeat(300)])
    .collect();
    let queries = [
        None,
        Some("offset=18446744073709551615".to_owned()),
        Some("offset=18446744073709551600&limit=100".to_owned()),
        Some("limit=-1&k=-1".to_owned()),
        Some("k=18446744073709551616&candidates=99999999999999999999".to_owned()),
        Some("q=%FF%FE".to_owned()),
        Some("%zz=1".to_owned()),
        Some(format!("cursor={}X", fixture.cursor)),
        Some(format!("q={}", "a".repeat(4097))),
    ];
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", offer.clone()),
        ("application/json", b"{".to_vec()),
        (
            "application/json",
            [&offer[..10], &[0xFF], &offer[10..]].concat(),
        ),
        (
            "application/json",
            format!("{}1{}", "[".repeat(2000), "]".repeat(2000)).into_bytes(),
        ),
        (
            "application/json",
            json!({"title": "x".repeat(70_000)})
                .to_string()
                .into_bytes(),
        ),
        ("application/json", b"null".to_vec()),
        ("text/plain", offer),
    ];
    let tokens = [
        None,
        Some(fixture.partner.clone()),
        Some(fixture.admin.clone()),
        Some(fixture.revoked.clone()),
        Some("smk_garbage".to_owned()),
    ];
    let mut inputs = Vec::new();
    for route in routes() {
        let with_id = |id: &str| route.path.replace("{id}", id);
        let base = |path: String,
                    query: Option<String>,
                    token: Option<&String>,
                    content_type: &str,
                    body: Vec<u8>| {
            let mut headers = vec![("content-type".to_owned(), content_type.as_bytes().to_vec())];
            if let Some(token) = token {
                headers.push((
                    "authorization".to_owned(),
                    format!("Bearer {token}").into_bytes(),
                ));
            }
            Input {
                method: route.method.clone(),
                path,
                query,
                headers,
                body,
            }
        };
        for id in &ids {
            for token in &tokens {
                inputs.push(base(
                    with_id(id),
                    None,
                    token.as_ref(),
                    "application/json",
                    Vec::new(),
                ));
            }
        }
        for query in &queries {
            inputs.push(base(
                with_id(&fixture.listing_ids[0]),
                query.clone(),
                Some(&fixture.partner),
                "application/json",
                Vec::new(),
            ));
        }
        for (content_type, body) in &bodies {
            for token in [&fixture.partner, &fixture.admin] {
                inputs.push(base(
                    with_id(&fixture.listing_ids[2]),
                    None,
                    Some(token),
                    content_type,
                    body.clone(),
                ));
            }
        }
        for (name, value) in [
            ("if-match", "\"18446744073709551616\""),
            ("if-match", "*"),
            ("idempotency-key", ""),
            ("authorization", "Bearer"),
        ] {
            let mut input = base(
                with_id(&fixture.listing_ids[2]),
                None,
                Some(&fixture.partner),
                "application/json",
                b"{}".to_vec(),
            );
            input.headers.retain(|(header, _)| header != name);
            input
                .headers
                .push((name.to_owned(), value.as_bytes().to_vec()));
            inputs.push(input);
        }
    }
    // The owner gives a listing an `external_id` another of its listings has (a conflict, 409).
    let partner_json = |method: Method, path: String, body: Value| Input {
        method,
        path,
        query: None,
        headers: vec![
            ("content-type".to_owned(), b"application/json".to_vec()),
            (
                "authorization".to_owned(),
                format!("Bearer {}", fixture.partner).into_bytes(),
            ),
        ],
        body: body.to_string().into_bytes(),
    };
    let offer_path = format!("/v1/offers/{}", fixture.listing_ids[2]);
    inputs.push(partner_json(
        Method::PATCH,
        offer_path.clone(),
        json!({"external_id": "fuzz-p4"}),
    ));
    inputs.push(partner_json(
        Method::PUT,
        offer_path,
        offer_body("fuzz-p4", "Wind turbine blade coating"),
    ));

    // Failures grouped by what was wrong, with the first inputs that showed it.
    let mut failures: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for input in &inputs {
        if let Err(reason) = fixture.check(input) {
            failures
                .entry(reason)
                .or_default()
                .push(format!("{input:?}"));
        }
    }
    let report: Vec<String> = failures
        .iter()
        .map(|(reason, examples)| {
            let shown: Vec<&str> = examples.iter().take(3).map(String::as_str).collect();
            format!(
                "{reason}\n({} requests, e.g.:)\n{}",
                examples.len(),
                shown.join("\n--\n")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed:\n\n{}",
        failures.values().map(Vec::len).sum::<usize>(),
        inputs.len(),
        report.join("\n\n==========\n\n")
    );
}
