//! Helpers shared by the end-to-end tests: run the binary, build listings, read its JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_silkmatch"))
}

/// Repository root (for fixtures/ and ../shared).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `silkmatch --data DATA ARGS...` to completion.
pub fn run(data: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .arg("--data")
        .arg(data)
        .args(args)
        .env("SILKMATCH_LOG", "warn")
        .output()
        .expect("the binary runs")
}

/// Runs and asserts success, returning stdout.
#[track_caller]
pub fn ok(data: &Path, args: &[&str]) -> String {
    let output = run(data, args);
    assert!(
        output.status.success(),
        "silkmatch {args:?} failed:\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs and asserts failure, returning stderr.
#[track_caller]
pub fn fails(data: &Path, args: &[&str]) -> String {
    let output = run(data, args);
    assert!(
        !output.status.success(),
        "silkmatch {args:?} should fail:\nstdout: {}",
        text(&output.stdout)
    );
    let stderr = text(&output.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "no panics: {stderr}"
    );
    stderr
}

/// Bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A valid published offer.
pub fn offer(external_id: &str, title: &str) -> Value {
    json!({
        "external_id": external_id, "kind": "offer", "language": "en", "title": title,
        "summary": format!("{title}: a technology ready for licensing."), "technology_fields": [24], "sectors": ["E"],
        "trl": 7, "ipr": "granted", "cooperation": ["licence"], "status": "published",
        "organisation": {"name": "Demo University", "kind": "university", "country": "KZ"},
        "contact": {"name": "A. Person", "email": "a.person@example.org"}
    })
}

/// Writes JSON values as a JSONL file.
pub fn jsonl(dir: &Path, name: &str, values: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let lines: Vec<String> = values.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// `silkmatch stats --json`.
pub fn stats(data: &Path) -> Value {
    serde_json::from_str(&ok(data, &["stats", "--json"])).unwrap()
}

/// Number of listings in the store.
pub fn listing_count(data: &Path) -> u64 {
    stats(data)["store"]["listings"].as_u64().unwrap()
}
