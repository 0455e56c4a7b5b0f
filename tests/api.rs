//! The HTTP API over real loopback connections: the server runs in-process on 127.0.0.1:0 on a real
//! data directory, and a real HTTP client talks to it.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use silkmatch_core::{Country, Organisation, OrganisationKind, Timestamp};
use silkmatch_http::{App, Config};
use silkmatch_index::Engine;

use crate::common::offer;

struct TestServer {
    base: String,
    admin: String,
    client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dir: tempfile::TempDir,
}

impl TestServer {
    async fn start() -> TestServer {
        TestServer::start_in(tempfile::tempdir().unwrap()).await
    }

    async fn start_in(dir: tempfile::TempDir) -> TestServer {
        // After `stop`, the previous server's connection tasks may still be dropping their handle on
        // its engine (and so on the index writer's lock) for a moment: wait for it, boundedly.
        let mut attempts = 0;
        let engine = loop {
            match Engine::open(dir.path()) {
                Ok(engine) => break engine,
                Err(_) if attempts < 100 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(err) => panic!("cannot reopen {}: {err}", dir.path().display()),
            }
        };
        let now = Timestamp::from_unix(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        );
        let centre = Organisation {
            // Unique per start: a restarted server on the same data gets an administrator of its own.
            name: format!(
                "Transfer Centre {} {}",
                dir.path().display(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ),
            kind: OrganisationKind::PublicBody,
            size: None,
            country: Country::new("CN").unwrap(),
        };
        let admin_org = engine.create_organisation(&centre, now).unwrap();
        let (_, admin) = engine
            .create_token(&admin_org.id, "tests", true, now)
            .unwrap();
        let app = App::new(engine, Config::default()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(silkmatch_http::serve(listener, app, async move {
            stopped.await.ok();
        }));
        TestServer {
            base,
            admin,
            client: Client::new(),
            stop: Some(stop),
            server: Some(server),
            dir,
        }
    }

    /// Stops the server (drains, commits) and returns its data directory.
    async fn stop(mut self) -> tempfile::TempDir {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().await.unwrap().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                headers["content-type"], "application/problem+json",
                "{status} {value}"
            );
            assert_eq!(value["status"], status.as_u16(), "{value}");
        }
        assert!(!status.is_server_error(), "{status} {value}");
        (status, headers, value)
    }

    /// A new partner organisation and its token, made through the admin API.
    async fn partner(&self, name: &str, country: &str) -> (String, String) {
        let (status, _, organisation) = self
            .call(
                Method::POST,
                "/v1/organisations",
                Some(&self.admin),
                Some(json!({"name": name, "kind": "university", "country": country})),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{organisation}");
        let id = organisation["id"].as_str().unwrap().to_owned();
        let (status, _, token) = self
            .call(
                Method::POST,
                "/v1/tokens",
                Some(&self.admin),
                Some(json!({"organisation_id": id, "name": "tests"})),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        (id, token["token"].as_str().unwrap().to_owned())
    }
}

fn search_ids(results: &Value) -> Vec<String> {
    results["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_publish_search_match_withdraw() {
    let server = TestServer::start().await;
    let (_, seller) = server.partner("Almaty Solar Institute", "KZ").await;
    let (_, buyer) = server.partner("Lahore Farms", "PK").await;
    let mut draft = offer("api-1", "Solar powered membrane desalination");
    draft["status"] = json!("draft");
    let (status, headers, created) = server
        .call(Method::POST, "/v1/offers", Some(&seller), Some(draft), &[])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(headers["etag"], "\"1\"");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(headers["location"].to_str().unwrap().ends_with(&id));
    // A draft is invisible to everyone but its owner, in reads and in search.
    assert_eq!(
        server
            .call(Method::GET, &format!("/v1/offers/{id}"), None, None, &[])
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        server
            .call(
                Method::GET,
                &format!("/v1/offers/{id}"),
                Some(&buyer),
                None,
                &[]
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert!(
        search_ids(
            &server
                .call(Method::GET, "/v1/search?q=desalination", None, None, &[])
                .await
                .2
        )
        .is_empty()
    );

    let (status, _, published) = server
        .call(
            Method::POST,
            &format!("/v1/offers/{id}/publish"),
            Some(&seller),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (status, published["status"].as_str()),
        (StatusCode::OK, Some("published"))
    );
    // Read-your-writes: found by search as soon as the publish returned.
    let results = server
        .call(Method::GET, "/v1/search?q=desalination", None, None, &[])
        .await
        .2;
    assert_eq!(search_ids(&results), vec![id.clone()]);
    assert!(results["facets"]["country"].as_array().is_some());
    // A hit is a card unless the whole listing is asked for; neither carries the contact block.
    let card = &results["hits"][0];
    assert_eq!(
        card["title"],
        json!("Solar powered membrane desalination"),
        "{card}"
    );
    assert!(
        card.get("listing").is_none() && card.get("contact").is_none(),
        "{card}"
    );
    let full = server
        .call(
            Method::GET,
            "/v1/search?q=desalination&full=true",
            None,
            None,
            &[],
        )
        .await
        .2;
    let listing = &full["hits"][0]["listing"];
    assert_eq!(listing["id"], json!(id), "{full}");
    assert!(
        listing["summary"].is_string() && listing.get("contact").is_none(),
        "{full}"
    );
    let public = server
        .call(
            Method::GET,
            &format!("/v1/offers/{id}"),
            Some(&buyer),
            None,
            &[],
        )
        .await
        .2;
    assert!(
        public["contact"].is_null(),
        "another partner does not see the contact"
    );
    let own = server
        .call(
            Method::GET,
            &format!("/v1/offers/{id}"),
            Some(&seller),
            None,
            &[],
        )
        .await
        .2;
    assert_eq!(own["contact"]["email"], "a.person@example.org");

    let need = json!({
        "kind": "need", "external_id": "api-need-1", "language": "en", "title": "Desalination of brackish water with solar energy",
        "summary": "We need a desalination unit for remote farms.", "technology_fields": [24], "trl_min": 5,
        "cooperation": ["licence"], "organisation": {"name": "Lahore Farms", "kind": "sme", "country": "PK"},
        "contact": {"name": "B", "email": "b@example.pk"}, "status": "published"
    });
    let (status, _, need) = server
        .call(Method::POST, "/v1/needs", Some(&buyer), Some(need), &[])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{need}");
    let need_id = need["id"].as_str().unwrap();
    let matches = server
        .call(
            Method::GET,
            &format!("/v1/needs/{need_id}/matches?k=5"),
            None,
            None,
            &[],
        )
        .await
        .2;
    assert_eq!(matches["matches"][0]["id"], json!(id), "{matches}");
    assert!(
        matches["matches"][0]["explanation"]["signals"]
            .as_array()
            .unwrap()
            .len()
            == 7
    );
    let unsaved = json!({"kind": "need", "language": "en", "title": "Solar desalination", "summary": "Looking for membrane desalination.", "technology_fields": [24], "cooperation": ["licence"], "organisation": {"name": "Visitor", "kind": "sme", "country": "EG"}});
    let matched = server
        .call(Method::POST, "/v1/match", None, Some(unsaved), &[])
        .await
        .2;
    assert_eq!(matched["matches"][0]["id"], json!(id), "{matched}");

    let (status, _, withdrawn) = server
        .call(
            Method::DELETE,
            &format!("/v1/offers/{id}"),
            Some(&seller),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (status, withdrawn["status"].as_str()),
        (StatusCode::OK, Some("withdrawn"))
    );
    let after = server
        .call(Method::GET, "/v1/search?q=desalination", None, None, &[])
        .await
        .2;
    assert!(
        !search_ids(&after).contains(&id),
        "a withdrawn offer is gone from search: {after}"
    );
    assert_eq!(
        server
            .call(Method::GET, &format!("/v1/offers/{id}"), None, None, &[])
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_ownership() {
    let server = TestServer::start().await;
    let (_, owner) = server.partner("Owner University", "CN").await;
    let (_, other) = server.partner("Other University", "RU").await;
    let body = offer("auth-1", "Battery recycling by hydrometallurgy");
    assert_eq!(
        server
            .call(Method::POST, "/v1/offers", None, Some(body.clone()), &[])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .call(
                Method::POST,
                "/v1/offers",
                Some("smk_nope_AAAA"),
                Some(body.clone()),
                &[]
            )
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .call(
                Method::POST,
                "/v1/offers",
                Some("not-even-a-token"),
                Some(body.clone()),
                &[]
            )
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (_, _, created) = server
        .call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(body.clone()),
            &[],
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    // Someone else's published listing: 403 on writes; a private one: 404.
    assert_eq!(
        server
            .call(
                Method::PUT,
                &format!("/v1/offers/{id}"),
                Some(&other),
                Some(body.clone()),
                &[]
            )
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .call(
                Method::DELETE,
                &format!("/v1/offers/{id}"),
                Some(&other),
                None,
                &[]
            )
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    server
        .call(
            Method::DELETE,
            &format!("/v1/offers/{id}"),
            Some(&owner),
            None,
            &[],
        )
        .await;
    assert_eq!(
        server
            .call(
                Method::PUT,
                &format!("/v1/offers/{id}"),
                Some(&other),
                Some(body.clone()),
                &[]
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        server
            .call(
                Method::GET,
                &format!("/v1/needs/{id}"),
                Some(&owner),
                None,
                &[]
            )
            .await
            .0,
        StatusCode::NOT_FOUND,
        "an offer is not a need"
    );
    // Partners cannot administer.
    assert_eq!(
        server
            .call(Method::GET, "/v1/organisations", Some(&owner), None, &[])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .call(Method::GET, "/v1/tokens", None, None, &[])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // A revoked token stops working at once.
    let tokens = server
        .call(Method::GET, "/v1/tokens", Some(&server.admin), None, &[])
        .await
        .2;
    let listed = tokens["tokens"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .all(|token| token.get("hash").is_none() && !token.to_string().contains("smk_")),
        "secrets are never listed"
    );
    let other_id = other.trim_start_matches("smk_").split('_').next().unwrap();
    assert_eq!(
        server
            .call(
                Method::DELETE,
                &format!("/v1/tokens/{other_id}"),
                Some(&server.admin),
                None,
                &[]
            )
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server
            .call(
                Method::POST,
                "/v1/offers",
                Some(&other),
                Some(offer("auth-2", "Another offer")),
                &[]
            )
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    server.stop().await;
}

/// An acknowledged create and its key survive a restart: the retry gets the listing the first use
/// created; and concurrent first uses of one key create one listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_outlive_a_restart_and_serialise_concurrent_uses() {
    let server = TestServer::start().await;
    let (_, owner) = server.partner("Retry University", "CN").await;
    let body = offer("retry-1", "Membrane bioreactors for textile wastewater");
    let key = [("idempotency-key", "retry-key-1")];
    async fn create(
        server: &TestServer,
        owner: &str,
        body: &Value,
        key: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        server
            .call(
                Method::POST,
                "/v1/offers",
                Some(owner),
                Some(body.clone()),
                key,
            )
            .await
    }
    let (status, _, first) = create(&server, &owner, &body, &key).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");

    let server = TestServer::start_in(server.stop().await).await;
    let (status, _, again) = create(&server, &owner, &body, &key).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(
        again, first,
        "the retry after a restart gets the first response"
    );
    // The same key on the other collection is another request.
    let (status, _, need) = server
        .call(
            Method::POST,
            "/v1/needs",
            Some(&owner),
            Some(json!({"kind": "need", "title": "x"})),
            &key,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validated as a new need: {need}"
    );
    assert!(need["errors"].is_array(), "{need}");

    let concurrent = offer("retry-2", "Solar dryers for apricots");
    let key = [("idempotency-key", "retry-key-2")];
    let call = || {
        server.call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(concurrent.clone()),
            &key,
        )
    };
    let (a, b, c, d) = tokio::join!(call(), call(), call(), call());
    let ids: std::collections::BTreeSet<String> = [a, b, c, d]
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one listing for four concurrent first uses");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_if_match_and_idempotency() {
    let server = TestServer::start().await;
    let (_, owner) = server.partner("Etag University", "CN").await;
    let key = [("idempotency-key", "create-etag-1")];
    let (status, _, first) = server
        .call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(offer("etag-1", "Heat pumps for district heating")),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, again) = server
        .call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(offer("etag-1", "Heat pumps for district heating")),
            &key,
        )
        .await;
    assert_eq!(
        (status, &again["id"]),
        (StatusCode::CREATED, &first["id"]),
        "a retried POST returns the first response"
    );
    let (status, _, reused) = server
        .call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(offer("etag-2", "Something else")),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reused}");
    let (status, _, _) = server
        .call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(offer("etag-1", "Heat pumps for district heating")),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the external id is taken");

    let id = first["id"].as_str().unwrap();
    let path = format!("/v1/offers/{id}");
    let changed = offer("etag-1", "Heat pumps for district heating, second edition");
    assert_eq!(
        server
            .call(
                Method::PUT,
                &path,
                Some(&owner),
                Some(changed.clone()),
                &[("if-match", "\"7\"")]
            )
            .await
            .0,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        server
            .call(
                Method::PUT,
                &path,
                Some(&owner),
                Some(changed.clone()),
                &[("if-match", "seven")]
            )
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (status, headers, replaced) = server
        .call(
            Method::PUT,
            &path,
            Some(&owner),
            Some(changed),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (status, headers["etag"].to_str().unwrap()),
        (StatusCode::OK, "\"2\""),
        "{replaced}"
    );
    let (status, headers, patched) = server
        .call(
            Method::PATCH,
            &path,
            Some(&owner),
            Some(json!({"keywords": ["heat pump", "district heating"], "sectors": null})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(
        (status, headers["etag"].to_str().unwrap()),
        (StatusCode::OK, "\"3\""),
        "{patched}"
    );
    assert_eq!(
        patched["keywords"],
        json!(["heat pump", "district heating"])
    );
    assert!(patched["sectors"].is_null(), "null removes a field");
    assert_eq!(
        server
            .call(
                Method::PATCH,
                &path,
                Some(&owner),
                Some(json!({"title": "x"})),
                &[("if-match", "\"2\"")]
            )
            .await
            .0,
        StatusCode::PRECONDITION_FAILED
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_precise_problems_and_writes_nothing() {
    let server = TestServer::start().await;
    let (_, owner) = server.partner("Bad Input Institute", "CN").await;
    let mut bad = offer("bad-1", "ab");
    bad["trl"] = json!(12);
    bad["organisation"]["country"] = json!("China");
    bad["cooperation"] = json!(["barter"]);
    let (status, _, problem) = server
        .call(Method::POST, "/v1/offers", Some(&owner), Some(bad), &[])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec!["title", "cooperation[0]", "organisation.country", "trl"],
        "{problem}"
    );
    let (status, _, problem) = server
        .call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(json!({"title": "x", "colour": "red"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "colour");
    let (status, _, problem) = server
        .call(
            Method::POST,
            "/v1/needs",
            Some(&owner),
            Some(offer("bad-2", "An offer sent to needs")),
            &[],
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
    );
    let huge = json!({"title": "x".repeat(70 * 1024)});
    assert_eq!(
        server
            .call(Method::POST, "/v1/offers", Some(&owner), Some(huge), &[])
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let response = server
        .client
        .post(format!("{}/v1/offers", server.base))
        .bearer_auth(&owner)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = server
        .client
        .post(format!("{}/v1/offers", server.base))
        .bearer_auth(&owner)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let long_query = format!("/v1/search?q={}", "a".repeat(5000));
    assert_eq!(
        server
            .call(Method::GET, &long_query, None, None, &[])
            .await
            .0,
        StatusCode::URI_TOO_LONG
    );
    for query in [
        "limit=-1",
        "limit=1000",
        "offset=20000",
        "kind=both",
        "trl_min=0",
        "colour=red",
        "q=%FF",
        "cursor=abc.def",
    ] {
        let (status, _, problem) = server
            .call(Method::GET, &format!("/v1/search?{query}"), None, None, &[])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
        assert!(
            problem["errors"][0]["field"].is_string(),
            "{query}: {problem}"
        );
    }
    let stats = server
        .call(Method::GET, "/v1/search", None, None, &[])
        .await
        .2;
    assert_eq!(stats["total"], 0, "nothing was written");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_page_through_results() {
    let server = TestServer::start().await;
    let (_, owner) = server.partner("Cursor University", "CN").await;
    for idx in 0..5 {
        let (status, _, _) = server
            .call(
                Method::POST,
                "/v1/offers",
                Some(&owner),
                Some(offer(
                    &format!("page-{idx}"),
                    &format!("Solar pump model {idx}"),
                )),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/search?q=solar&limit=2".to_owned();
    loop {
        let page = server.call(Method::GET, &path, None, None, &[]).await.2;
        seen.extend(search_ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/search?q=solar&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);
    let first = server
        .call(Method::GET, "/v1/search?q=solar&limit=2", None, None, &[])
        .await
        .2;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, _, _) = server
        .call(
            Method::GET,
            &format!("/v1/search?q=pump&limit=2&cursor={cursor}"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a cursor is bound to its query"
    );
    // The signing key lives in the data directory: a cursor outlives a restart.
    let cursor = cursor.to_owned();
    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let (status, _, next) = server
        .call(
            Method::GET,
            &format!("/v1/search?q=solar&limit=2&cursor={cursor}"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(search_ids(&next).len(), 2, "{next}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_and_openapi_cover_every_route() {
    let server = TestServer::start().await;
    assert_eq!(
        server
            .call(Method::GET, "/healthz", None, None, &[])
            .await
            .2["status"],
        "ok"
    );
    assert_eq!(
        server.call(Method::GET, "/readyz", None, None, &[]).await.0,
        StatusCode::OK
    );
    let spec = server
        .call(Method::GET, "/v1/openapi.json", None, None, &[])
        .await
        .2;
    for route in silkmatch_http::table() {
        let method = route.method.as_str().to_lowercase();
        assert!(
            spec["paths"][route.path][&method].is_object(),
            "{} {} missing from the OpenAPI document",
            route.method,
            route.path
        );
        let path = route.path.replace("{id}", "01UNKNOWN");
        let (_, _, body) = server
            .call(route.method.clone(), &path, None, None, &[])
            .await;
        assert!(
            !body.to_string().contains("no route for"),
            "{} {} is not routed",
            route.method,
            route.path
        );
    }
    let metrics = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("silkmatch_requests_total{route=\"GET /healthz\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("silkmatch_index_bytes"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_leaves_every_acknowledged_write_in_the_store() {
    let server = TestServer::start().await;
    let (_, owner) = server.partner("Shutdown University", "CN").await;
    let (status, _, created) = server
        .call(
            Method::POST,
            "/v1/offers",
            Some(&owner),
            Some(offer("stop-1", "Wind turbine blade recycling")),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let dir = server.stop().await;
    let reopened = Engine::open(dir.path()).unwrap();
    assert!(
        reopened
            .get(created["id"].as_str().unwrap())
            .unwrap()
            .is_some()
    );
}
