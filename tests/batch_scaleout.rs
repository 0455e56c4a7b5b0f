//! Scale-out of `silkmatch batch rank`: `--partition` shards and the Spark recipe both give the
//! single-machine output.

use std::process::Command;

use crate::batch::{batch_ok, demo, now_arg, rank_args, read};
use crate::common::*;

#[test]
fn shards_concatenated_in_order_are_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let now = now_arg();
    let args = ["--direction", "both", "--k", "8", "--no-store"];
    let whole = dir.path().join("whole");
    batch_ok(&data, &rank_args(&args, &now, &whole), 2);
    let (mut jsonl, mut csv) = (String::new(), String::new());
    for shard in 0..3 {
        let out = dir.path().join(format!("shard-{shard}"));
        let partition = format!("{shard}/3");
        let sharded: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--partition", &partition])
            .collect();
        let stdout = batch_ok(&data, &rank_args(&sharded, &now, &out), 2);
        assert!(stdout.contains("ranked 100 listings"), "{stdout}");
        jsonl.push_str(&read(&out.join("recommendations.jsonl")));
        let rows = read(&out.join("recommendations.csv"));
        let header_end = rows.find('\n').unwrap() + 1;
        if shard == 0 {
            csv.push_str(&rows[..header_end]);
        }
        csv.push_str(&rows[header_end..]);
    }
    assert_eq!(jsonl, read(&whole.join("recommendations.jsonl")));
    assert_eq!(csv, read(&whole.join("recommendations.csv")));
}

/// The Spark recipe (benches/spark/run_spark_batch.sh: standalone master and worker on loopback,
/// `RDD.pipe` of need-id partitions into the binary) gives the single-machine output, byte for byte.
/// The script installs pyspark into target/spark-venv on first use (needs PyPI and Java 17).
#[test]
fn spark_union_equals_the_single_machine_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let now = now_arg();
    let single = dir.path().join("single");
    batch_ok(
        &data,
        &[
            "rank",
            "--direction",
            "needs",
            "--k",
            "20",
            "--now",
            &now,
            "--no-store",
            "--out",
            single.to_str().unwrap(),
        ],
        2,
    );
    let spark_out = dir.path().join("spark.jsonl");
    let output = Command::new("bash")
        .arg(repo_root().join("benches/spark/run_spark_batch.sh"))
        .arg(binary())
        .arg(&data)
        .arg(&spark_out)
        .arg(&now)
        .arg("3")
        .arg("20")
        .env("SPARK_VENV", repo_root().join("target/spark-venv"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "spark run failed: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(text(&output.stdout).contains("ranked 150 listings in 3 Spark partitions"));
    assert_eq!(
        read(&spark_out),
        read(&single.join("recommendations.jsonl"))
    );
}
