//! Durability of the real server process (api.md, "Durability": a 2xx on a write means the change
//! survives a crash of the process from that moment on). Concurrent writers run against
//! `silkmatch serve`, which is killed with SIGKILL while writes are in flight and restarted on the same
//! data directory; and SIGTERM stops it after committing what was queued.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::common::{binary, offer, ok, stats};

/// Longest the server may take to say where it listens.
const STARTUP: Duration = Duration::from_secs(30);
/// Longest any one request may take.
const REQUEST: Duration = Duration::from_secs(10);
/// Concurrent writers.
const WRITERS: usize = 8;

/// A `silkmatch serve` process. Dropping it kills it (SIGKILL), so a failed assertion leaves no
/// server behind; the server's log is printed when the test is failing.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts the server on a free loopback port and waits until it says where it serves.
    fn start(data: &Path, log: PathBuf) -> Server {
        let child = Command::new(binary())
            .arg("--data")
            .arg(data)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("SILKMATCH_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the binary starts");
        let mut server = Server {
            child,
            base: String::new(),
            log,
        };
        let stdout = server.child.stdout.take().unwrap();
        let (lines, received) = std::sync::mpsc::channel();
        // Reads stdout to its end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + STARTUP;
        while server.base.is_empty() {
            let line = received
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| {
                    panic!("the server did not say where it serves within {STARTUP:?}")
                });
            if let Some((_, rest)) = line.split_once("serving on http://") {
                let addr = rest.split_whitespace().next().unwrap();
                server.base = format!("http://{addr}");
            }
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL, and reap.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit.
    fn terminate(&mut self, within: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop within {within:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- server log {} ---\n{log}", self.log.display());
        }
    }
}

/// A data directory with one partner organisation; returns its token.
fn partner(data: &Path) -> String {
    let org = ok(
        data,
        &[
            "org",
            "create",
            "--name",
            "Durable Lab",
            "--country",
            "KZ",
            "--kind",
            "university",
        ],
    );
    let created = ok(
        data,
        &["token", "create", "--org", org.trim(), "--name", "writers"],
    );
    created.lines().last().unwrap().trim().to_owned()
}

fn client() -> Client {
    Client::builder()
        .timeout(REQUEST)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

/// What a POST of an offer came to.
enum Posted {
    /// 201: the id from `Location` (complete even if the body was cut off).
    Acknowledged(String),
    /// Any other status, with the body.
    Refused(StatusCode, String),
    /// No status: the connection failed or the request timed out. Not acknowledged.
    NoAnswer,
}

async fn post_offer(
    client: &Client,
    base: &str,
    token: &str,
    external_id: &str,
    title: &str,
) -> Posted {
    let sent = client
        .post(format!("{base}/v1/offers"))
        .bearer_auth(token)
        .json(&offer(external_id, title))
        .send()
        .await;
    let Ok(response) = sent else {
        return Posted::NoAnswer;
    };
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    match (status, location) {
        (StatusCode::CREATED, Some(location)) => {
            let id = location.rsplit('/').next().unwrap().to_owned();
            if let Ok(value) = serde_json::from_str::<Value>(&body) {
                assert_eq!(value["id"], id.as_str(), "Location and body agree");
            }
            Posted::Acknowledged(id)
        }
        (status, _) => Posted::Refused(status, body),
    }
}

async fn get_json(client: &Client, url: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// What the writers saw, shared between them and the test.
#[derive(Default)]
struct Ledger {
    /// (id, the unique word of its title), acknowledged with 201.
    acknowledged: Mutex<Vec<(String, String)>>,
    count: AtomicUsize,
    /// Statuses other than 201 (a live server should take every one of these writes).
    refused: Mutex<Vec<String>>,
    attempts: AtomicUsize,
    stop: AtomicBool,
}

/// Posts offers with unique title words until the server goes away or `stop` is set.
async fn writer(client: Client, base: String, token: String, ledger: Arc<Ledger>, writer: usize) {
    for n in 0.. {
        if ledger.stop.load(Ordering::SeqCst) {
            return;
        }
        let word = format!("zq{writer}x{n}");
        ledger.attempts.fetch_add(1, Ordering::SeqCst);
        let external_id = format!("durable-{writer}-{n}");
        let title = format!("Durable {word} pump");
        match post_offer(&client, &base, &token, &external_id, &title).await {
            Posted::Acknowledged(id) => {
                ledger.acknowledged.lock().unwrap().push((id, word));
                ledger.count.fetch_add(1, Ordering::SeqCst);
            }
            Posted::Refused(status, body) => {
                ledger
                    .refused
                    .lock()
                    .unwrap()
                    .push(format!("{status} {body}"));
                return;
            }
            Posted::NoAnswer => return,
        }
    }
}

/// `kill -9` while 8 clients write: every write answered 201 before the kill is stored, readable
/// by its owner and found by search after a restart, and no listing is in the store but not the
/// index (or the reverse).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_of_the_server() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = partner(&data);
    let mut server = Server::start(&data, dir.path().join("first.log"));

    let ledger = Arc::new(Ledger::default());
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            tokio::spawn(writer(
                client(),
                server.base.clone(),
                token.clone(),
                Arc::clone(&ledger),
                w,
            ))
        })
        .collect();
    // A moment that differs from run to run, well into the writing.
    let threshold =
        150 + (started.elapsed().subsec_nanos() as usize ^ std::process::id() as usize) % 60;
    let deadline = Instant::now() + Duration::from_secs(30);
    while ledger.count.load(Ordering::SeqCst) < threshold {
        let refused = ledger.refused.lock().unwrap().clone();
        assert!(
            refused.is_empty(),
            "the live server refused writes: {refused:?}"
        );
        assert!(
            writers.iter().any(|handle| !handle.is_finished()),
            "every writer stopped before the kill"
        );
        assert!(
            Instant::now() < deadline,
            "only {} writes acknowledged in 30 s",
            ledger.count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill(); // SIGKILL, with writes in flight
    let killed_at = ledger.count.load(Ordering::SeqCst);
    ledger.stop.store(true, Ordering::SeqCst);
    for handle in writers {
        tokio::time::timeout(REQUEST + Duration::from_secs(5), handle)
            .await
            .expect("writers stop once the server is gone")
            .unwrap();
    }
    let refused = ledger.refused.lock().unwrap().clone();
    assert!(
        refused.is_empty(),
        "the live server refused writes: {refused:?}"
    );
    let acknowledged = ledger.acknowledged.lock().unwrap().clone();
    let attempts = ledger.attempts.load(Ordering::SeqCst);
    assert!(acknowledged.len() >= killed_at && killed_at >= threshold);
    drop(server);

    let server = Server::start(&data, dir.path().join("second.log"));
    let client = client();
    let (status, ready) = get_json(&client, &server.url("/readyz"), None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the index caught up on open: {ready}"
    );
    // Every acknowledged write, read back by its owner and found by its unique word (8 at a time).
    let chunks: Vec<Vec<(String, String)>> = acknowledged
        .chunks(acknowledged.len().div_ceil(WRITERS))
        .map(<[(String, String)]>::to_vec)
        .collect();
    let checks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
            tokio::spawn(async move {
                let mut lost = Vec::new();
                for (id, word) in chunk {
                    let (status, listing) =
                        get_json(&client, &format!("{base}/v1/offers/{id}"), Some(&token)).await;
                    if status != StatusCode::OK
                        || !listing["title"].as_str().unwrap_or("").contains(&word)
                    {
                        lost.push(format!("GET {id} ({word}): {status} {listing}"));
                        continue;
                    }
                    let (status, found) =
                        get_json(&client, &format!("{base}/v1/search?q={word}"), None).await;
                    let ids: Vec<&str> = found["hits"]
                        .as_array()
                        .map(|hits| hits.iter().filter_map(|hit| hit["id"].as_str()).collect())
                        .unwrap_or_default();
                    if status != StatusCode::OK || ids != [id.as_str()] {
                        lost.push(format!("search {word} for {id}: {status} {found}"));
                    }
                }
                lost
            })
        })
        .collect();
    let mut lost = Vec::new();
    for check in checks {
        lost.extend(check.await.unwrap());
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes are not all there after kill -9:\n{}",
        lost.len(),
        acknowledged.len(),
        lost.join("\n")
    );
    // Every stored listing (acknowledged or not) is searchable: all their titles say "durable".
    let (status, found) = get_json(
        &client,
        &server.url("/v1/search?q=durable&limit=1&facets=false"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let searchable = found["total"].as_u64().unwrap();
    drop(server);

    let stats = stats(&data);
    let stored = stats["store"]["listings"].as_u64().unwrap();
    assert_eq!(
        stats["index_documents"].as_u64(),
        Some(stored),
        "index and store agree: {stats}"
    );
    assert_eq!(
        searchable, stored,
        "every stored listing is found by search: {stats}"
    );
    // At most one write per writer was in flight, stored without an answer.
    let acknowledged = acknowledged.len() as u64;
    let summary = format!(
        "{stored} stored, {acknowledged} acknowledged, {attempts} attempted, killed at {killed_at}, {:?}",
        started.elapsed()
    );
    eprintln!("{summary}");
    assert!(
        attempts as u64 > acknowledged,
        "writes were in flight at the kill: {summary}"
    );
    assert!(
        (acknowledged..=acknowledged + WRITERS as u64).contains(&stored),
        "at most one unanswered write per writer is stored: {summary}"
    );
}

/// SIGTERM while writes are in flight: the server answers what it took, commits it, and exits 0;
/// every write it acknowledged is in the store afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_commits_queued_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = partner(&data);
    let mut server = Server::start(&data, dir.path().join("server.log"));
    let client = client();
    let mut acknowledged = Vec::new();
    for n in 0..3 {
        let title = format!("Graceful zg{n} pump");
        match post_offer(
            &client,
            &server.base,
            &token,
            &format!("graceful-{n}"),
            &title,
        )
        .await
        {
            Posted::Acknowledged(id) => acknowledged.push((id, title)),
            Posted::Refused(status, body) => panic!("{status} {body}"),
            Posted::NoAnswer => panic!("no answer"),
        }
    }
    // More writes, and SIGTERM as soon as they are on their way.
    let in_flight: Vec<_> = (3..3 + WRITERS)
        .map(|n| {
            let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
            tokio::spawn(async move {
                let title = format!("Graceful zg{n} pump");
                let posted =
                    post_offer(&client, &base, &token, &format!("graceful-{n}"), &title).await;
                (posted, title, Instant::now())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let terminated_at = Instant::now();
    let status = tokio::task::block_in_place(|| server.terminate(Duration::from_secs(30)));
    assert!(
        status.success(),
        "the server exits 0 after SIGTERM: {status}"
    );
    let mut answered_after_sigterm = 0;
    for handle in in_flight {
        let (posted, title, answered_at) = tokio::time::timeout(REQUEST, handle)
            .await
            .unwrap()
            .unwrap();
        answered_after_sigterm += usize::from(answered_at > terminated_at);
        match posted {
            Posted::Acknowledged(id) => acknowledged.push((id, title)),
            Posted::Refused(status, body) => {
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}")
            }
            Posted::NoAnswer => {}
        }
    }
    drop(server);
    eprintln!(
        "{} of {} writes acknowledged, {answered_after_sigterm} answered after SIGTERM was sent",
        acknowledged.len(),
        3 + WRITERS
    );
    for (id, title) in &acknowledged {
        let shown: Value = serde_json::from_str(&ok(&data, &["show", id])).unwrap();
        assert_eq!(shown["id"], id.as_str());
        assert_eq!(shown["body"]["title"], title.as_str(), "{shown}");
        assert_eq!(shown["status"], "published", "{shown}");
    }
    let stats = stats(&data);
    let stored = stats["store"]["listings"].as_u64().unwrap();
    assert!(stored >= acknowledged.len() as u64, "{stats}");
    assert_eq!(stats["index_documents"].as_u64(), Some(stored), "{stats}");
}
