//! Rendering and durable files. Every file a run writes appears whole or not at all (written to a
//! temporary name, fsynced, renamed, directory fsynced), so a `kill -9` leaves either a finished
//! chunk or nothing, and readers never see half a file.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use super::Ranked;
use crate::error::{IndexError, Result};

/// The listing's JSONL line (without the newline): the deterministic serialisation of `Ranked`.
pub fn jsonl_line(ranked: &Ranked) -> String {
    serde_json::to_string(ranked).expect("Ranked always serialises")
}

/// The CSV header line (with newline).
pub fn csv_header() -> &'static str {
    "listing_id,listing_kind,rank,candidate_id,candidate_external_id,candidate_kind,score,forward,backward,title,summary\n"
}

/// The listing's CSV rows, one per candidate, each ending in a newline (RFC 4180 quoting).
pub fn csv_rows(ranked: &Ranked) -> String {
    let mut out = String::new();
    for candidate in &ranked.candidates {
        let fields = [
            quote(&ranked.id),
            quote(&ranked.kind),
            candidate.rank.to_string(),
            quote(&candidate.id),
            quote(candidate.external_id.as_deref().unwrap_or("")),
            quote(&candidate.kind),
            candidate.score.to_string(),
            candidate.forward.to_string(),
            candidate.backward.to_string(),
            quote(&candidate.title),
            quote(&candidate.summary),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `path` atomically: `write` fills a temporary sibling, which is fsynced and renamed over
/// `path`, and the directory is fsynced so the rename survives a crash.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp"));
    let file = File::create(&temporary).map_err(|err| io_error(&temporary, err))?;
    let mut writer = BufWriter::new(file);
    write(&mut writer).map_err(|err| io_error(&temporary, err))?;
    let file = writer
        .into_inner()
        .map_err(|err| io_error(&temporary, err.into_error()))?;
    file.sync_all().map_err(|err| io_error(&temporary, err))?;
    std::fs::rename(&temporary, path).map_err(|err| io_error(path, err))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|err| io_error(dir, err))
}

/// A chunk file: a header line naming the run and the chunk, then one `Ranked` per line.
pub(crate) fn write_chunk(path: &Path, run_id: &str, chunk: usize, lists: &[Ranked]) -> Result<()> {
    write_atomically(path, |out| {
        writeln!(
            out,
            "{}",
            serde_json::json!({ "run": run_id, "chunk": chunk })
        )?;
        for ranked in lists {
            writeln!(out, "{}", jsonl_line(ranked))?;
        }
        Ok(())
    })
}

/// Reads a chunk file back, refusing one that belongs to another run or is damaged.
pub(crate) fn read_chunk(path: &Path, run_id: &str, chunk: usize) -> Result<Vec<Ranked>> {
    let foreign = |reason: String| {
        IndexError::Batch(format!(
            "{} is not a chunk of this run ({reason}); remove the output directory to start over",
            path.display()
        ))
    };
    let file = File::open(path).map_err(|err| io_error(path, err))?;
    let mut lines = BufReader::new(file).lines();
    let header = lines
        .next()
        .transpose()
        .map_err(|err| io_error(path, err))?
        .ok_or_else(|| foreign("it is empty".into()))?;
    let expected = serde_json::json!({ "run": run_id, "chunk": chunk }).to_string();
    if header != expected {
        return Err(foreign(format!(
            "its header is `{header}`, expected `{expected}`"
        )));
    }
    lines
        .enumerate()
        .map(|(number, line)| {
            let line = line.map_err(|err| io_error(path, err))?;
            serde_json::from_str(&line)
                .map_err(|err| foreign(format!("line {}: {err}", number + 2)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Candidate;

    fn ranked() -> Ranked {
        Ranked {
            id: "n1".into(),
            kind: "need".into(),
            candidates: vec![Candidate {
                rank: 1,
                id: "o1".into(),
                external_id: Some("ext,1".into()),
                kind: "offer".into(),
                title: "Say \"hi\"".into(),
                score: 0.5,
                forward: 0.25,
                backward: 1.0,
                summary: "terms: a, b".into(),
            }],
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            csv_rows(&ranked()),
            "n1,need,1,o1,\"ext,1\",offer,0.5,0.25,1,\"Say \"\"hi\"\"\",\"terms: a, b\"\n"
        );
    }

    #[test]
    fn chunks_round_trip_and_foreign_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000.chunk");
        write_chunk(&path, "run-a", 0, &[ranked()]).unwrap();
        assert_eq!(read_chunk(&path, "run-a", 0).unwrap(), vec![ranked()]);
        let err = read_chunk(&path, "run-b", 0).unwrap_err().to_string();
        assert!(err.contains("is not a chunk of this run"), "{err}");
        std::fs::write(&path, "{\"chunk\":0,\"run\":\"run-a\"}\n{broken\n").unwrap();
        let err = read_chunk(&path, "run-a", 0).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
