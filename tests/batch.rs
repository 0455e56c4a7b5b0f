//! `silkmatch batch rank` on the real binary: determinism across thread counts, resumption after
//! `kill -9`, incremental runs, recommendations over HTTP, and refusals of bad input.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::common::*;

/// Reference time of every run here, so runs are comparable (a day after the fixtures' import).
pub(crate) fn now_arg() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Rounded to the hour so tests that compare separate runs use one reference time.
    ((seconds / 3600 + 24) * 3600).to_string()
}

fn batch_command<S: AsRef<OsStr>>(data: &Path, args: &[S], threads: usize) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("--data")
        .arg(data)
        .arg("batch")
        .args(args)
        .env("SILKMATCH_LOG", "warn")
        .env("RAYON_NUM_THREADS", threads.to_string());
    command
}

fn batch<S: AsRef<OsStr>>(data: &Path, args: &[S], threads: usize) -> Output {
    batch_command(data, args, threads).output().unwrap()
}

#[track_caller]
pub(crate) fn batch_ok<S: AsRef<OsStr>>(data: &Path, args: &[S], threads: usize) -> String {
    let output = batch(data, args, threads);
    assert!(
        output.status.success(),
        "batch failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[track_caller]
fn batch_fails<S: AsRef<OsStr>>(data: &Path, args: &[S]) -> String {
    let output = batch(data, args, 2);
    assert!(
        !output.status.success(),
        "batch should fail: {}",
        text(&output.stdout)
    );
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A data directory with the 300 demo listings.
pub(crate) fn demo(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let fixtures = repo_root().join("fixtures/demo.jsonl");
    ok(&data, &["import", fixtures.to_str().unwrap()]);
    data
}

/// `rank` with `args`, `--now now` and `--out out`.
pub(crate) fn rank_args(args: &[&str], now: &str, out: &Path) -> Vec<String> {
    ["rank"]
        .iter()
        .chain(args)
        .map(|arg| (*arg).to_owned())
        .chain([
            "--now".into(),
            now.into(),
            "--out".into(),
            out.display().to_string(),
        ])
        .collect()
}

#[track_caller]
fn assert_same_output(a: &Path, b: &Path) {
    for name in ["recommendations.jsonl", "recommendations.csv"] {
        assert_eq!(read(&a.join(name)), read(&b.join(name)), "{name} differs");
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn lines(path: &Path) -> Vec<Value> {
    read(path)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn output_is_byte_identical_with_one_and_two_threads_and_agrees_with_match() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let now = now_arg();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for (out, threads) in [(&one, 1), (&two, 2)] {
        let args = ["--direction", "both", "--k", "20", "--chunk-size", "32"];
        let stdout = batch_ok(&data, &rank_args(&args, &now, out), threads);
        assert!(
            stdout.contains("ranked 300 listings (150 needs, 150 offers"),
            "{stdout}"
        );
    }
    assert_same_output(&one, &two);
    let summary: Value = serde_json::from_str(&read(&one.join("summary.json"))).unwrap();
    assert_eq!(summary["listings"], 300);
    assert!(one.join("_SUCCESS").exists());
    let csv = read(&one.join("recommendations.csv"));
    assert_eq!(
        csv.lines().count() as u64 - 1,
        summary["scores"]["count"].as_u64().unwrap()
    );

    // The same pair of listings scores as `silkmatch match` scores it (match ranks at the wall clock,
    // the batch at its reference time a day later: only freshness can differ, by a little).
    let first = &lines(&one.join("recommendations.jsonl"))[0];
    let id = first["id"].as_str().unwrap();
    let matched: Value =
        serde_json::from_str(&ok(&data, &["match", "need", id, "--k", "20", "--json"])).unwrap();
    let batch_ids: Vec<&Value> = first["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    let match_ids: Vec<&Value> = matched["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(batch_ids, match_ids);
    for (batch, matched) in first["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .zip(matched["matches"].as_array().unwrap())
    {
        let (a, b) = (
            batch["score"].as_f64().unwrap(),
            matched["score"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 0.01, "{a} vs {b}");
    }
}

#[test]
fn a_run_killed_at_any_moment_resumes_to_the_uninterrupted_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let now = now_arg();
    let reference = dir.path().join("reference");
    let args = [
        "--direction",
        "needs",
        "--k",
        "10",
        "--chunk-size",
        "8",
        "--no-store",
    ];
    batch_ok(&data, &rank_args(&args, &now, &reference), 2);

    let out = dir.path().join("killed");
    let killed_args = rank_args(&args, &now, &out);
    let chunks = |out: &Path| {
        std::fs::read_dir(out.join(".batch"))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| entry.file_name().to_string_lossy().starts_with("chunk-"))
                    .count()
            })
            .unwrap_or(0)
    };
    // Kill it three times, each after it has finished a few more chunks (150 needs: 19 chunks).
    let mut kills = 0;
    for target in [1, 6, 12] {
        let mut child = batch_command(&data, &killed_args, 2)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        loop {
            if chunks(&out) >= target || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        if !out.join("_SUCCESS").exists() {
            assert!(
                !out.join("summary.json").exists(),
                "no summary before the run is complete"
            );
        }
    }
    assert!(kills >= 1, "the run was never interrupted");
    let stdout = batch_ok(&data, &killed_args, 2);
    assert!(
        stdout.contains("resumed run") || stdout.contains("already holds"),
        "{stdout}"
    );
    assert_same_output(&out, &reference);
    // Once complete, running again changes nothing.
    let again = batch_ok(&data, &killed_args, 1);
    assert!(again.contains("already holds this finished run"), "{again}");
}

/// The demo line with this external id, as JSON.
fn demo_listing(external_id: &str) -> Value {
    read(&repo_root().join("fixtures/demo.jsonl"))
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|value| value["external_id"] == external_id)
        .unwrap()
}

/// Edits, a withdrawal and a new listing, imported on top of the demo.
fn edit_store(dir: &Path, data: &Path) {
    let mut edited = demo_listing("gen-offer-0000078");
    edited["title"] =
        json!("Surface acoustic wave filters and robot-assisted laparoscopy instruments");
    let mut withdrawn = demo_listing("gen-offer-0000120");
    withdrawn["status"] = json!("withdrawn");
    let mut new_offer = demo_listing("gen-offer-0000024");
    new_offer["external_id"] = json!("new-offer-1");
    new_offer["title"] = json!("Haptic force feedback for minimally invasive surgical robots");
    let mut edited_need = demo_listing("gen-need-0000001");
    edited_need["summary"] =
        json!("Robot-assisted laparoscopy with haptic feedback and LED displays.");
    let file = jsonl(
        dir,
        "edits.jsonl",
        &[edited, withdrawn, new_offer, edited_need],
    );
    ok(data, &["import", file.to_str().unwrap()]);
}

#[test]
fn an_incremental_run_equals_a_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let now = now_arg();
    let out = |name: &str| dir.path().join(name);
    let args = |extra: &[&str], name: &str| {
        let all: Vec<&str> = ["--direction", "both", "--k", "10"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        rank_args(&all, &now, &out(name))
    };
    let err = batch_fails(&data, &args(&["--since-last-run"], "early"));
    assert!(err.contains("no finished run is recorded"), "{err}");
    batch_ok(&data, &args(&[], "first"), 2);
    edit_store(dir.path(), &data);
    batch_ok(&data, &args(&["--since-last-run"], "incremental"), 2);
    batch_ok(&data, &args(&["--no-store"], "full"), 2);

    let summary: Value =
        serde_json::from_str(&read(&out("incremental").join("summary.json"))).unwrap();
    let (ranked, carried) = (
        summary["ranked"].as_u64().unwrap(),
        summary["carried_over"].as_u64().unwrap(),
    );
    assert!(ranked > 0 && carried > 0, "{summary}");
    assert_eq!(
        summary["listings"], 300,
        "one offer withdrawn, one added: {summary}"
    );

    let incremental = lines(&out("incremental").join("recommendations.jsonl"));
    let full = lines(&out("full").join("recommendations.jsonl"));
    assert_eq!(incremental.len(), full.len());
    let ids = |value: &Value| -> Vec<String> {
        value["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut exact = 0;
    for (a, b) in incremental.iter().zip(&full) {
        assert_eq!(a["id"], b["id"]);
        // Every list names the same candidates in the same order as a full run; carried-over lists'
        // scores may differ in the last digits, because the edits moved corpus statistics (docs/batch.md).
        assert_eq!(ids(a), ids(b), "listing {}", a["id"]);
        for (x, y) in a["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["candidates"].as_array().unwrap())
        {
            let (x, y) = (x["score"].as_f64().unwrap(), y["score"].as_f64().unwrap());
            assert!((x - y).abs() < 0.02, "listing {}: {x} vs {y}", a["id"]);
        }
        exact += usize::from(a == b);
    }
    assert!(
        exact >= ranked as usize,
        "re-ranked lists are exactly a full run's: {exact} of {ranked}"
    );
    // The withdrawn offer is nowhere in the output.
    let withdrawn = read(&out("incremental").join("recommendations.jsonl"));
    assert!(!withdrawn.contains("gen-offer-0000120"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommendations_are_served_over_http_without_withdrawn_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let out = dir.path().join("out");
    // The nightly run works while the server is up (it reads the index the server writes).
    let (base, stop, server) = serve(&data).await;
    let rank = rank_args(&["--direction", "both", "--k", "5"], &now_arg(), &out);
    let data_dir = data.clone();
    tokio::task::spawn_blocking(move || batch_ok(&data_dir, &rank, 2))
        .await
        .unwrap();
    let first = lines(&out.join("recommendations.jsonl"))
        .into_iter()
        .find(|line| line["kind"] == "need" && line["candidates"].as_array().unwrap().len() >= 2)
        .unwrap();
    let need = first["id"].as_str().unwrap().to_owned();
    let withdrawn_id = first["candidates"][0]["external_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let summary: Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();

    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                status,
                content_type,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, _, body) = get(format!("/v1/needs/{need}/recommendations")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ranked_at"], summary["ranked_at"]);
    assert_eq!(body["recommendations"], first["candidates"]);
    assert!(!body.to_string().contains("\"contact\""), "{body}");

    let (status, content_type, body) = get(format!("/v1/offers/{need}/recommendations")).await;
    assert_eq!(
        (status, content_type.as_deref()),
        (404, Some("application/problem+json")),
        "{body}"
    );
    let (status, _, _) = get("/v1/needs/nope/recommendations".into()).await;
    assert_eq!(status, 404);

    // Withdraw the best candidate (through an import, as a partner's system would): it disappears.
    let mut withdrawn = demo_listing(&withdrawn_id);
    withdrawn["status"] = json!("withdrawn");
    let file = jsonl(dir.path(), "withdraw.jsonl", &[withdrawn]);
    // The server holds the index lock, so it is stopped for the import and started again.
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    ok(&data, &["import", file.to_str().unwrap()]);
    let (base, stop, server) = serve(&data).await;
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = get(format!("/v1/needs/{need}/recommendations")).await;
    assert_eq!(status, 200);
    let served: Vec<&str> = body["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["external_id"].as_str().unwrap())
        .collect();
    assert!(!served.contains(&withdrawn_id.as_str()), "{served:?}");
    assert_eq!(
        served.len(),
        first["candidates"].as_array().unwrap().len() - 1
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

type Server = tokio::task::JoinHandle<std::io::Result<()>>;

/// The real server on loopback over `data`: its address, its stop switch, its task.
async fn serve(data: &Path) -> (String, tokio::sync::oneshot::Sender<()>, Server) {
    let engine = silkmatch_index::Engine::open(data).unwrap();
    let app = silkmatch_http::App::new(engine, silkmatch_http::Config::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(silkmatch_http::serve(listener, app, async move {
        stopped.await.ok();
    }));
    (base, stop, server)
}

#[test]
fn bad_input_is_refused_with_a_clear_message_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let err = batch_fails(&empty, &["rank", "--out", out_arg]);
    assert!(
        err.contains("nothing to rank: the store in")
            && err.contains("holds no open needs or offers"),
        "{err}"
    );
    assert!(!out.exists(), "no output for an empty store");

    let data = demo(dir.path());
    let err = batch_fails(&data, &["rank", "--partition", "3/3", "--out", out_arg]);
    assert!(
        err.contains("--partition `3/3`: shard 3 is out of range: shards of 3 are numbered 0 to 2"),
        "{err}"
    );
    let err = batch_fails(&data, &["rank", "--k", "0", "--out", out_arg]);
    assert!(err.contains("--k must be between 1 and 100"), "{err}");
    let err = batch_fails(&data, &["rank", "--now", "yesterday", "--out", out_arg]);
    assert!(
        err.contains("--now `yesterday` is neither unix seconds nor an RFC 3339 time"),
        "{err}"
    );
    assert!(!out.exists());

    // An output directory that cannot be written (a path through a regular file).
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = batch_fails(
        &data,
        &["rank", "--out", file.join("out").to_str().unwrap()],
    );
    assert!(err.contains("is not writable"), "{err}");
    let err = batch_fails(&data, &["rank", "--out", file.to_str().unwrap()]);
    assert!(err.contains("is a file, not a directory"), "{err}");

    // A directory holding something else.
    let busy = dir.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let err = batch_fails(&data, &["rank", "--out", busy.to_str().unwrap()]);
    assert!(
        err.contains("already holds files of something else (notes.txt)"),
        "{err}"
    );

    // A corrupt checkpoint, and a checkpoint of another run.
    let now = now_arg();
    let args = [
        "rank",
        "--direction",
        "needs",
        "--k",
        "5",
        "--now",
        &now,
        "--no-store",
        "--out",
        out_arg,
    ];
    batch_ok(&data, &args, 2);
    std::fs::remove_file(out.join("_SUCCESS")).unwrap();
    let err = batch_fails(
        &data,
        &[
            "rank",
            "--direction",
            "needs",
            "--k",
            "6",
            "--now",
            &now,
            "--out",
            out_arg,
        ],
    );
    assert!(
        err.contains("holds another run (direction needs, k 5"),
        "{err}"
    );
    std::fs::write(
        out.join(".batch/checkpoint.json"),
        "{\"format\": \"something-else\"}",
    )
    .unwrap();
    let err = batch_fails(&data, &args);
    assert!(
        err.contains("is not a usable silkmatch batch checkpoint"),
        "{err}"
    );
    // A chunk from another run.
    std::fs::remove_dir_all(&out).unwrap();
    batch_ok(&data, &args, 2);
    std::fs::remove_file(out.join("_SUCCESS")).unwrap();
    let chunk = out.join(".batch/chunk-000000.jsonl");
    let text = read(&chunk).replacen("{\"chunk\":0,\"run\":\"", "{\"chunk\":0,\"run\":\"x", 1);
    std::fs::write(&chunk, text).unwrap();
    let err = batch_fails(&data, &args);
    assert!(err.contains("is not a chunk of this run"), "{err}");
    assert!(!out.join("_SUCCESS").exists());

    // Listings whose publication lapses before the run's reference time are not open: a run dated
    // after every expiry has nothing to rank.
    let later = (now.parse::<i64>().unwrap() + 400 * 86_400).to_string();
    let err = batch_fails(
        &data,
        &[
            "rank",
            "--now",
            &later,
            "--out",
            dir.path().join("later").to_str().unwrap(),
        ],
    );
    assert!(err.contains("nothing to rank"), "{err}");
}
