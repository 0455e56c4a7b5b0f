//! The web interface's refusals over plain HTTP (no browser): missing and forged CSRF tokens,
//! absent and ended sessions, oversized, missing and hostile form values, crafted query strings.
//! Each must be a clear message on an HTML page with a 4xx status, never a 500, and write nothing.

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Client, StatusCode};

use crate::web::Served;

fn client() -> Client {
    // Browsers ask for HTML; without it a refusal is the API's problem+json.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        "text/html,application/xhtml+xml".parse().unwrap(),
    );
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The `csrf` hidden field of a page.
fn csrf_in(html: &str) -> String {
    let start =
        html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn cookie_in(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// A signed-in browser-like visitor: its session cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(served: &Served, token: &str) -> Session {
    let http = client();
    let form = http
        .get(format!("{}/signin", served.base))
        .send()
        .await
        .unwrap();
    let pre = cookie_in(&form, "sm_pre").unwrap();
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Lax") && !pre.contains("Secure"),
        "{pre}"
    );
    let pre = pre.split(';').next().unwrap().to_owned();
    let csrf = csrf_in(&form.text().await.unwrap());
    let signed = http
        .post(format!("{}/signin", served.base))
        .header(COOKIE, &pre)
        .form(&[("csrf", csrf.as_str()), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let session = cookie_in(&signed, "sm_session").unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/"),
        "{session}"
    );
    let cookie = session.split(';').next().unwrap().to_owned();
    let my = http
        .get(format!("{}/my", served.base))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(my.status(), StatusCode::OK);
    let csrf = csrf_in(&my.text().await.unwrap());
    Session { cookie, csrf }
}

/// Asserts a refusal page: the status, HTML, the message, no raw script.
async fn refused(response: reqwest::Response, status: StatusCode, message: &str) -> String {
    let got = response.status();
    let html_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.text().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert!(html_type.starts_with("text/html"), "{html_type}: {body}");
    assert!(body.contains(message), "expected {message:?} in {body}");
    assert!(
        !body.contains("<script>"),
        "nothing is echoed unescaped: {body}"
    );
    body
}

/// A complete, valid offer form.
fn valid_offer(csrf: &str, title: &str) -> Vec<(String, String)> {
    [
        ("csrf", csrf),
        ("language", "en"),
        ("title", title),
        (
            "summary",
            "A pump that runs on sunlight for drip irrigation in dry regions.",
        ),
        ("technology_fields", "24"),
        ("cooperation", "licence"),
        ("trl", "6"),
        ("ipr", "granted"),
        ("organisation.name", "Almaty Solar Institute"),
        ("organisation.kind", "research_institute"),
        ("organisation.country", "KZ"),
        ("contact.name", "A. Person"),
        ("contact.email", "a.person@example.org"),
        ("action", "publish"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

async fn my_listing_count(served: &Served, session: &Session) -> usize {
    let page = client()
        .get(format!("{}/my", served.base))
        .header(COOKIE, &session.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.matches("<tr><td>").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_forms_refuse_bad_input_clearly_and_write_nothing() {
    let served = Served::start();
    let http = client();
    let base = &served.base;
    let session = sign_in(&served, &served.token_a).await;
    let submit = format!("{base}/submit/offer");

    // Missing and forged CSRF tokens.
    let mut form = valid_offer("", "Missing token offer");
    form.retain(|(name, _)| name != "csrf");
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::FORBIDDEN, "security token").await;
    let form = valid_offer(
        "forged-token-forged-token-forged-token-abc",
        "Forged token offer",
    );
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::FORBIDDEN, "nothing was saved").await;

    // No session, an ended session.
    let response = http
        .post(&submit)
        .form(&valid_offer(&session.csrf, "Anonymous offer"))
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::UNAUTHORIZED, "signed-in partners").await;
    let response = http.get(format!("{base}/my")).send().await.unwrap();
    refused(response, StatusCode::UNAUTHORIZED, "href=\"/signin\"").await;
    let ended = "sm_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let response = http
        .post(&submit)
        .header(COOKIE, ended)
        .form(&valid_offer(&session.csrf, "Ended offer"))
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::UNAUTHORIZED, "session has ended").await;
    let response = http
        .get(format!("{base}/my"))
        .header(COOKIE, ended)
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::UNAUTHORIZED, "session has ended").await;

    // Missing values: every problem, on the form, as a 422.
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .form(&[
            ("csrf", session.csrf.as_str()),
            ("title", "<script>alert(1)</script>"),
        ])
        .send()
        .await
        .unwrap();
    let body = refused(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id=\"f-summary-msg\"",
    )
    .await;
    assert!(
        body.contains("id=\"f-technology_fields-msg\"")
            && body.contains("id=\"f-cooperation-msg\""),
        "{body}"
    );
    assert!(
        body.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "the typed title comes back, escaped"
    );

    // Oversized: a title over its limit is a field problem; a body over the limit is a 413 page.
    let long_title = "x".repeat(5_000);
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .form(&valid_offer(&session.csrf, &long_title))
        .send()
        .await
        .unwrap();
    refused(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id=\"f-title-msg\"",
    )
    .await;
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .form(&valid_offer(&session.csrf, &"y".repeat(200_000)))
        .send()
        .await
        .unwrap();
    // The unread rest of the body makes the connection unusable: the server closes it, and says so
    // (a client that reused it would fail its next request).
    assert_eq!(
        response.headers().get(reqwest::header::CONNECTION),
        Some(&reqwest::header::HeaderValue::from_static("close"))
    );
    refused(response, StatusCode::PAYLOAD_TOO_LARGE, "larger than").await;

    // Not a form at all; unparseable numbers; bad percent-encoding.
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .header(CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::BAD_REQUEST, "x-www-form-urlencoded").await;
    let mut form = valid_offer(&session.csrf, "Bad number offer");
    form.push(("technology_fields".into(), "twenty".into()));
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    refused(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a whole number",
    )
    .await;
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={}&title=%FF%FE", session.csrf))
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::BAD_REQUEST, "percent-encoded").await;
    assert_eq!(
        my_listing_count(&served, &session).await,
        0,
        "nothing was written"
    );

    // Hostile but valid: stored, and shown as text everywhere.
    let response = http
        .post(&submit)
        .header(COOKIE, &session.cookie)
        .form(&valid_offer(
            &session.csrf,
            "<script>alert('x')</script> pump",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let id = location.rsplit('=').next().unwrap().to_owned();
    for path in [
        format!("/listings/{id}"),
        "/search?q=pump".into(),
        "/my".into(),
    ] {
        let page = http
            .get(format!("{base}{path}"))
            .header(COOKIE, &session.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let body = page.text().await.unwrap();
        assert!(!body.contains("<script>"), "{path}: {body}");
        assert!(
            body.contains("&lt;script&gt;"),
            "{path} shows the title as text"
        );
    }

    // Extending a live publication.
    let response = http
        .post(format!("{base}/listings/{id}/extend"))
        .header(COOKIE, &session.cookie)
        .form(&[("csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/my?done=extend");

    // Someone else's listing, an unknown action, a stale version.
    let other = sign_in(&served, &served.token_b).await;
    let response = http
        .post(format!("{base}/listings/{id}/withdraw"))
        .header(COOKIE, &other.cookie)
        .form(&[("csrf", other.csrf.as_str())])
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::FORBIDDEN, "another organisation").await;
    let response = http
        .post(format!("{base}/listings/{id}/delete"))
        .header(COOKIE, &session.cookie)
        .form(&[("csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::NOT_FOUND, "no action").await;
    let response = http
        .post(format!("{base}/listings/{id}/withdraw"))
        .header(COOKIE, &session.cookie)
        .form(&[("csrf", session.csrf.as_str()), ("version", "99")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(my_listing_count(&served, &session).await, 1);

    // Sign-in with a wrong token or a forged form; sign-out ends the session.
    let page = http.get(format!("{base}/signin")).send().await.unwrap();
    let pre = cookie_in(&page, "sm_pre")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_in(&page.text().await.unwrap());
    let response = http
        .post(format!("{base}/signin"))
        .header(COOKIE, &pre)
        .form(&[("csrf", csrf.as_str()), ("token", "smk_nope_nope")])
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::UNAUTHORIZED, "not valid").await;
    let response = http
        .post(format!("{base}/signin"))
        .form(&[("csrf", csrf.as_str()), ("token", served.token_a.as_str())])
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::FORBIDDEN, "security token").await;
    let response = http
        .post(format!("{base}/signout"))
        .header(COOKIE, &other.cookie)
        .form(&[("csrf", other.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = http
        .get(format!("{base}/my"))
        .header(COOKIE, &other.cookie)
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::UNAUTHORIZED, "session has ended").await;

    // Revoking a token ends the sessions opened with it.
    let third = sign_in(&served, &served.token_b).await;
    let token_id = served
        .token_b
        .trim_start_matches("smk_")
        .split('_')
        .next()
        .unwrap();
    let revoked = Client::new()
        .delete(format!("{base}/v1/tokens/{token_id}"))
        .bearer_auth(&served.admin)
        .send()
        .await
        .unwrap();
    assert!(
        revoked.status().is_success(),
        "{}",
        revoked.text().await.unwrap()
    );
    let response = http
        .get(format!("{base}/my"))
        .header(COOKIE, &third.cookie)
        .send()
        .await
        .unwrap();
    refused(response, StatusCode::UNAUTHORIZED, "session has ended").await;

    // Cookies are Secure behind TLS.
    let response = http
        .get(format!("{base}/signin"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(cookie_in(&response, "sm_pre").unwrap().contains("; Secure"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_results_page_answers_crafted_queries_with_a_message() {
    let served = Served::start();
    let http = client();
    let base = &served.base;
    for (query, status, message) in [
        ("colour=red", 400, "not a parameter of this page"),
        ("page=0", 400, "`page` must be"),
        ("page=abc", 400, "`page` must be"),
        ("page=99999", 400, "`page` must be"),
        ("trl_min=99", 400, "between 1 and 9"),
        ("country=%3Cscript%3E", 400, "ISO 3166-1"),
        ("q=%FF%FE", 400, "percent-encoded"),
        ("q=%zz", 400, "percent-encoded"),
        ("sort=worst", 400, "`sort` must be"),
        ("technology_field=99", 400, "WIPO field"),
        ("limit=5", 400, "not a parameter of this page"),
    ] {
        let response = http
            .get(format!("{base}/search?{query}"))
            .send()
            .await
            .unwrap();
        refused(response, StatusCode::from_u16(status).unwrap(), message).await;
    }
    let long = format!("{base}/search?q={}", "a".repeat(5_000));
    refused(
        http.get(long).send().await.unwrap(),
        StatusCode::URI_TOO_LONG,
        "longer than",
    )
    .await;
    refused(
        http.get(format!("{base}/listings/nope"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
        "not found",
    )
    .await;
    refused(
        http.get(format!("{base}/lang/xx")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "no language",
    )
    .await;

    // A good query; the language switch stays on this site.
    let page = http
        .get(format!("{base}/search?q=solar&country=KZ,CN&page=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = http
        .get(format!("{base}/lang/zh?back=//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["location"], "/");
    assert!(
        cookie_in(&page, "sm_lang")
            .unwrap()
            .starts_with("sm_lang=zh")
    );
    let page = http
        .get(format!("{base}/"))
        .header(COOKIE, "sm_lang=zh")
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("lang=\"zh\""));

    // API clients (no Accept: text/html) get problem+json from the same refusal.
    let response = Client::new()
        .get(format!("{base}/search?colour=red"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");

    // The pages need nothing from elsewhere.
    for path in ["/", "/search?q=solar", "/signin"] {
        let body = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for external in ["http://", "https://", "//fonts", "<script"] {
            assert!(!body.contains(external), "{path} references {external}");
        }
    }
}
