//! `silkmatch import` on good and hostile files: precise messages, all-or-nothing, crash safety.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::common::*;

fn import_fails(contents: &[u8], name: &str) -> (String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A listing already in the store must survive every failed import untouched.
    let good = jsonl(
        dir.path(),
        "good.jsonl",
        &[offer("keep-1", "Solar water pump")],
    );
    ok(&data, &["import", good.to_str().unwrap()]);
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    let stderr = fails(&data, &["import", path.to_str().unwrap()]);
    let stats = stats(&data);
    assert_eq!(
        stats["store"]["listings"], stats["index_documents"],
        "store and index agree"
    );
    (stderr, listing_count(&data))
}

#[test]
fn invalid_records_are_reported_with_line_and_field_and_nothing_is_written() {
    let mut bad = offer("o-2", "Battery recycling plant");
    bad["organisation"]["country"] = json!("Kazakhstan");
    bad["trl"] = json!(11);
    let mut oversized = offer("o-3", "Wind turbine blades");
    oversized["title"] = json!("t".repeat(300));
    let mut unknown_enum = offer("o-4", "Water purification");
    unknown_enum["cooperation"] = json!(["barter"]);
    let lines = [offer("o-1", "Heat pump"), bad, oversized, unknown_enum]
        .map(|value| value.to_string())
        .join("\n");
    let (stderr, count) = import_fails(lines.as_bytes(), "bad.jsonl");
    assert!(
        stderr.contains("bad.jsonl:2: organisation.country: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.jsonl:2: trl: `trl` must be between 1 and 9; got 11. (out_of_range)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "bad.jsonl:3: title: `title` must be at most 256 characters; got 300. (too_long)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("bad.jsonl:4: cooperation[0]: "), "{stderr}");
    assert!(stderr.contains("3 of 4 records"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(count, 1, "only the listing from before");
}

#[test]
fn skip_invalid_imports_the_valid_records() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut bad = offer("o-2", "Battery recycling plant");
    bad["kind"] = json!("offering");
    let file = jsonl(dir.path(), "mixed.jsonl", &[offer("o-1", "Heat pump"), bad]);
    let stdout = ok(&data, &["import", file.to_str().unwrap(), "--skip-invalid"]);
    assert!(
        stdout.contains("1 created") && stdout.contains("1 invalid skipped"),
        "{stdout}"
    );
    assert_eq!(listing_count(&data), 1);
}

#[test]
fn hostile_files_get_precise_messages() {
    let valid = offer("o-1", "Heat pump").to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "utf8.jsonl",
            [valid.as_bytes(), b"\n{\"title\": \"\xff\xfe\"}\n"].concat(),
            "utf8.jsonl:2: The line is not valid UTF-8",
        ),
        (
            "truncated.jsonl",
            format!("{valid}\n{}", &valid[..40]).into_bytes(),
            "The listing is not valid JSON: EOF while parsing",
        ),
        ("empty.jsonl", Vec::new(), "holds no listings"),
        (
            "prose.jsonl",
            b"this is not json\nnor this\n".to_vec(),
            "prose.jsonl:1: The listing is not valid JSON",
        ),
        (
            "dupe.jsonl",
            format!("{valid}\n{valid}\n").into_bytes(),
            "dupe.jsonl:2: external_id: `external_id` `o-1` already appears on line 1",
        ),
        (
            "unknown.jsonl",
            br#"{"kind":"offer","colour":"red"}"#.to_vec(),
            "unknown.jsonl:1: colour: `colour` is not a field",
        ),
        (
            "wrongtype.jsonl",
            br#"{"kind":"offer","trl":"seven"}"#.to_vec(),
            "wrongtype.jsonl:1: trl: `trl` has the wrong type",
        ),
        (
            "extra.csv",
            b"kind,title,colour\noffer,Heat pump,red\n".to_vec(),
            "unknown CSV column `colour` (column 3)",
        ),
        (
            "ragged.csv",
            b"kind,title\noffer,Heat pump,extra\n".to_vec(),
            "ragged.csv:2: The row has 3 fields but the header names 2 columns",
        ),
        (
            "missing.csv",
            b"kind,title\noffer,Heat pump\n".to_vec(),
            "missing.csv:2: summary: `summary` is required",
        ),
        (
            "notes.txt",
            b"whatever".to_vec(),
            "cannot tell the format of",
        ),
    ];
    for (name, contents, expected) in cases {
        let (stderr, count) = import_fails(&contents, name);
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in:\n{stderr}"
        );
        assert_eq!(count, 1, "{name}: the store is unchanged");
    }
}

#[test]
fn csv_imports_like_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = "external_id,kind,language,title,summary,technology_fields,sectors,trl,ipr,cooperation,organisation.name,organisation.kind,organisation.country,contact.name,contact.email,status\n\
               c-1,offer,en,Solar water pump,\"A pump driven by solar panels, for irrigation.\",1;24,A;D,7,granted,licence;manufacturing,Sun Co,sme,PK,Ali,ali@example.org,published\n";
    let file = dir.path().join("in.csv");
    std::fs::write(&file, csv).unwrap();
    ok(&data, &["import", file.to_str().unwrap()]);
    let shown: serde_json::Value = serde_json::from_str(&ok(&data, &["show", "c-1"])).unwrap();
    assert_eq!(shown["body"]["technology_fields"], json!([1, 24]));
    assert_eq!(
        shown["body"]["cooperation"],
        json!(["licence", "manufacturing"])
    );
}

#[test]
fn import_with_unknown_org_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = jsonl(dir.path(), "in.jsonl", &[offer("o-1", "Heat pump")]);
    let err = fails(
        &dir.path().join("data"),
        &["import", file.to_str().unwrap(), "--org", "01NOSUCHORG"],
    );
    assert!(
        err.contains("organisation `01NOSUCHORG` does not exist"),
        "{err}"
    );
}

/// `kill -9` in the middle of an import loses nothing the import reported as committed, and the
/// index catches up with the store on the next open.
#[test]
fn kill_during_import_loses_nothing_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("big.jsonl");
    ok(
        dir.path(),
        &[
            "fixtures",
            "generate",
            "--offers",
            "15000",
            "--needs",
            "15000",
            "--seed",
            "3",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    let mut child = Command::new(binary())
        .arg("--data")
        .arg(&data)
        .args(["import", file.to_str().unwrap()])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = 0u64;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("progress: committed ") {
            reported = rest.split_whitespace().next().unwrap().parse().unwrap();
            if reported >= 6_000 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        reported >= 6_000,
        "the import reported progress before being killed"
    );
    let count = listing_count(&data);
    assert!(count >= reported, "{count} stored < {reported} reported");
    assert!(count < 30_000, "killed before the end ({count})");
    let stats = stats(&data);
    assert_eq!(
        stats["index_documents"], stats["store"]["listings"],
        "the index caught up on open"
    );
    // Running the same import again completes it.
    ok(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(listing_count(&data), 30_000);
}
