//! The web interface in a real browser: headless Chromium driven through WebDriver (Debian's
//! `chromium` and `chromium-driver`, installed by `scripts/browser-deps.sh` when missing) against
//! the real `silkmatch serve` on loopback. Screenshots of the main pages go to
//! `target/screenshots/` (git-ignored).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::{binary, ok, repo_root};

/// A real `silkmatch serve` on an ephemeral loopback port, on a temp data dir holding the demo
/// listings and two partner organisations with tokens.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Token of the first partner (Almaty, KZ).
    pub token_a: String,
    /// Token of the second partner (Xi'an, CN).
    pub token_b: String,
    /// An administrator's token.
    pub admin: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Served {
    /// The server's data directory (other commands may work on it while it serves).
    pub fn data(&self) -> &std::path::Path {
        self._dir.path()
    }
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or("").trim().to_owned()
}

impl Served {
    /// Imports the demo listings, creates the partners and starts the server.
    pub fn start() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let demo = repo_root().join("fixtures/demo.jsonl");
        ok(data, &["import", demo.to_str().unwrap()]);
        let partner = |name: &str, country: &str| {
            let org = last_line(&ok(
                data,
                &[
                    "org",
                    "create",
                    "--name",
                    name,
                    "--country",
                    country,
                    "--kind",
                    "research_institute",
                ],
            ));
            last_line(&ok(
                data,
                &["token", "create", "--org", &org, "--name", "web tests"],
            ))
        };
        let token_a = partner("Almaty Solar Institute", "KZ");
        let token_b = partner("Xi'an Water Works", "CN");
        let admin_org = last_line(&ok(
            data,
            &[
                "org",
                "create",
                "--name",
                "Transfer Centre",
                "--country",
                "CN",
            ],
        ));
        let admin = last_line(&ok(
            data,
            &[
                "token", "create", "--org", &admin_org, "--name", "admin", "--admin",
            ],
        ));
        let mut child = Command::new(binary())
            .arg("--data")
            .arg(data)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("SILKMATCH_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Served {
            base,
            token_a,
            token_b,
            admin,
            child,
            _dir: dir,
        }
    }

    /// Creates a listing through the API with a partner's token.
    pub async fn post(&self, token: &str, collection: &str, body: &Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/{collection}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver on a free loopback port, stopped on drop.
struct Driver {
    url: String,
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    if !Path::new("/usr/bin/chromedriver").exists() {
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/browser-deps.sh"))
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "scripts/browser-deps.sh failed: Chromium and chromedriver are needed"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("/usr/bin/chromedriver")
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Driver {
        url: format!("http://127.0.0.1:{port}"),
        child,
    }
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        &format!("--user-data-dir={}", profile.display()),
    ];
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": "/usr/bin/chromium", "args": args }),
    );
    // chromedriver needs a moment to listen; retry the session for up to 30 s.
    let mut last_error = String::new();
    for _ in 0..60 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&driver.url)
            .await
        {
            Ok(client) => return client,
            Err(err) => last_error = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no WebDriver session: {last_error}");
}

fn screenshots() -> PathBuf {
    let dir = repo_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the browser is on a page whose URL contains `fragment` (after a click that navigates).
async fn arrive(client: &Client, fragment: &str) {
    for _ in 0..100 {
        if client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains(fragment)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "never reached a page with {fragment:?}: {}",
        client.current_url().await.unwrap()
    );
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let element = client.find(Locator::Css(css)).await.unwrap();
    element.clear().await.unwrap();
    element.send_keys(text).await.unwrap();
}

async fn hits(client: &Client) -> Vec<String> {
    let mut titles = Vec::new();
    for element in client.find_all(Locator::Css("ol.hits h3")).await.unwrap() {
        titles.push(element.text().await.unwrap());
    }
    titles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_in_a_real_browser() {
    let served = Served::start();
    let driver = chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, profile.path()).await;
    let outcome = flow(&served, &client).await;
    let _ = client.close().await;
    outcome.unwrap();
}

async fn flow(served: &Served, c: &Client) -> Result<(), String> {
    let base = &served.base;
    // Home, then a search and a facet filter.
    c.goto(&format!("{base}/"))
        .await
        .map_err(|e| e.to_string())?;
    shot(c, "home").await;
    type_into(c, "#q", "solar").await;
    c.find(Locator::Css("form[role=search] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, "/search?").await;
    let count = text_of(c, "#results-count").await;
    assert!(
        !hits(c).await.is_empty(),
        "solar finds demo listings: {count}"
    );
    shot(c, "results").await;
    let facet = c
        .find(Locator::Css("section[aria-labelledby=facet-country] a"))
        .await
        .unwrap();
    facet.click().await.unwrap();
    arrive(c, "country=").await;
    let url = c.current_url().await.unwrap();
    assert!(
        url.as_str().contains("country="),
        "the facet link filters: {url}"
    );
    c.find(Locator::Css("ol.hits h3 a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, "/listings/").await;
    c.wait()
        .for_element(Locator::Css("article h1"))
        .await
        .unwrap();
    assert!(
        text_of(c, "article")
            .await
            .contains("Sign in to see the contact")
    );
    shot(c, "listing").await;

    // Sign in.
    c.goto(&format!("{base}/signin")).await.unwrap();
    type_into(c, "#token", &served.token_a).await;
    c.find(Locator::Css("main form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, "/my").await;
    assert!(text_of(c, "main h1").await.contains("My listings"));

    // An offer with problems: every message next to its field, everything typed kept.
    c.goto(&format!("{base}/submit/offer")).await.unwrap();
    let title = "Peristaltic photovoltaic irrigation pump <script>alert(1)</script>";
    type_into(c, "#f-title", title).await;
    type_into(c, "#f-contact-email", "not-an-address").await;
    c.find(Locator::Css("button[value=publish]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#problems"))
        .await
        .unwrap();
    shot(c, "form-errors").await;
    let kept = c
        .find(Locator::Css("#f-title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(title), "the typed title is kept");
    for field in ["summary", "technology_fields", "contact-email"] {
        let invalid = c
            .find(Locator::Css(&format!("#f-{field}")))
            .await
            .unwrap()
            .attr("aria-invalid")
            .await
            .unwrap();
        assert_eq!(invalid.as_deref(), Some("true"), "{field} is marked");
        let message = text_of(c, &format!("#f-{field}-msg")).await;
        assert!(!message.is_empty(), "{field} has its message");
    }

    // Corrected and published.
    type_into(
        c,
        "#f-summary",
        "A solar powered peristaltic pump for drip irrigation in dry regions; no batteries, low maintenance.",
    )
    .await;
    c.find(Locator::Css("#f-technology_fields option[value='24']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#f-cooperation-licence"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#f-trl"))
        .await
        .unwrap()
        .select_by_value("7")
        .await
        .unwrap();
    c.find(Locator::Css("#f-ipr"))
        .await
        .unwrap()
        .select_by_value("granted")
        .await
        .unwrap();
    type_into(c, "#f-contact-name", "Aigerim Seitkali").await;
    type_into(c, "#f-contact-email", "aigerim@example.org").await;
    c.find(Locator::Css("button[value=publish]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, "/my?saved=").await;
    let mine = text_of(c, "table.mine").await;
    assert!(
        mine.contains("<script>alert(1)</script>"),
        "the title shows as text: {mine}"
    );
    shot(c, "my-listings").await;

    // Found in search.
    c.goto(&format!("{base}/search?q=peristaltic"))
        .await
        .unwrap();
    let found = hits(c).await;
    assert!(
        found
            .iter()
            .any(|hit| hit.contains("Peristaltic photovoltaic")),
        "{found:?}"
    );

    // Another partner's need sees it among its matches.
    let need = served
        .post(
            &served.token_b,
            "needs",
            &json!({
                "language": "en", "status": "published",
                "title": "Solar irrigation pump for drip irrigation",
                "summary": "We need a solar powered pump for drip irrigation on dry farmland, with low maintenance.",
                "technology_fields": [24], "trl_min": 5, "cooperation": ["licence"],
                "organisation": {"name": "Xi'an Water Works", "kind": "research_institute", "country": "CN"},
                "contact": {"name": "Li Wei", "email": "li.wei@example.org"}
            }),
        )
        .await;
    let need_id = need["id"].as_str().unwrap();
    c.goto(&format!("{base}/listings/{need_id}/matches"))
        .await
        .unwrap();
    let matches = text_of(c, "main").await;
    assert!(
        matches.contains("Peristaltic photovoltaic"),
        "the new offer is a match: {matches}"
    );
    assert!(
        matches.contains("Why") || matches.contains("Strongest signals"),
        "{matches}"
    );
    shot(c, "matches").await;
    c.goto(&format!("{base}/listings/{need_id}/recommendations"))
        .await
        .unwrap();
    assert!(text_of(c, "main").await.contains("No overnight run yet"));
    // The nightly run, beside the running server, then the same page lists what it ranked.
    let nightly = tempfile::tempdir().unwrap();
    let out = nightly.path().join("run");
    ok(
        served.data(),
        &[
            "batch",
            "rank",
            "--direction",
            "needs",
            "--k",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    c.goto(&format!("{base}/listings/{need_id}/recommendations"))
        .await
        .unwrap();
    let overnight = text_of(c, "main").await;
    assert!(
        overnight.contains("As of the overnight run")
            && overnight.contains("Peristaltic photovoltaic"),
        "{overnight}"
    );
    shot(c, "recommendations").await;

    // Withdrawn: gone from search.
    c.goto(&format!("{base}/my")).await.unwrap();
    c.find(Locator::Css("form[action$='/withdraw'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(c, "done=withdraw").await;
    assert!(text_of(c, "div.notice").await.contains("Withdrawn"));
    c.goto(&format!("{base}/search?q=peristaltic"))
        .await
        .unwrap();
    let after = hits(c).await;
    assert!(
        !after
            .iter()
            .any(|hit| hit.contains("Peristaltic photovoltaic")),
        "{after:?}"
    );

    // Chinese, remembered; Arabic listing text right to left; a phone-width page.
    c.goto(&format!("{base}/lang/zh?back=/search%3Fq%3Dsolar"))
        .await
        .unwrap();
    assert_eq!(text_of(c, "header nav ul li a").await, "搜索");
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(
        text_of(c, "main h1").await.contains("技术合作伙伴"),
        "the language is remembered"
    );
    shot(c, "home-zh").await;
    c.goto(&format!("{base}/search?language=ar&lang=ar"))
        .await
        .unwrap();
    let dir = c
        .find(Locator::Css("ol.hits h3"))
        .await
        .unwrap()
        .attr("dir")
        .await
        .unwrap();
    assert_eq!(dir.as_deref(), Some("rtl"));
    shot(c, "results-ar").await;
    c.set_window_size(375, 812).await.unwrap();
    c.goto(&format!("{base}/search?q=solar&lang=en"))
        .await
        .unwrap();
    shot(c, "results-phone").await;
    c.goto(&format!("{base}/submit/need?lang=en"))
        .await
        .unwrap();
    shot(c, "form-phone").await;

    // Keyboard: the first Tab reaches the skip link, which leads to the main content.
    c.goto(&format!("{base}/?lang=en")).await.unwrap();
    let body = c.find(Locator::Css("body")).await.unwrap();
    body.send_keys(&char::from(fantoccini::key::Key::Tab).to_string())
        .await
        .unwrap();
    let focused = c.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Skip to content");
    assert_eq!(
        focused.attr("href").await.unwrap().as_deref(),
        Some("#main")
    );
    Ok(())
}
