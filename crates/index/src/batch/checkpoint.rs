//! The checkpoint of a run: its parameters, reference time and plan, written once when the run
//! starts. Finished chunk files next to it are the progress; a restarted run reads the checkpoint,
//! checks that it is this run's, and ranks only the chunks that are missing.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::output::{io_error, write_atomically};
use crate::dense::VectorsAt;
use crate::error::{IndexError, Result};

/// The checkpoint format this build reads and writes.
/// (2: the vectors the run ranks with are part of it.)
pub(crate) const FORMAT: &str = "silkmatch-batch/2";

/// What a run is: everything its output depends on besides the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// `FORMAT`.
    pub format: String,
    /// Hash of the fields below and the plan.
    pub run_id: String,
    /// `needs`, `offers`, `both`.
    pub direction: String,
    /// Candidates per listing.
    pub k: usize,
    /// `I/N`, when a shard.
    pub partition: Option<String>,
    /// The reference time, unix seconds.
    pub now: i64,
    /// Store change sequence number when planned.
    pub store_seq: u64,
    /// The run this one is incremental on, when `--since-last-run`.
    pub base_run: Option<String>,
    /// The listing vectors the run ranks with (a resumed run too), `None`: words alone.
    pub vectors: Option<VectorsAt>,
    /// Listings per chunk.
    pub chunk_size: usize,
    /// Listings in the plan (this shard's).
    pub listings: usize,
    /// SHA-256 of the plan file.
    pub plan_sha256: String,
}

/// One planned listing: its id and whether it is ranked (`true`) or its stored list carried over.
pub(crate) type PlanEntry = (String, bool);

/// Files of a run's working directory, `OUT/.batch/`.
pub(crate) struct WorkDir {
    /// `OUT/.batch`.
    pub dir: PathBuf,
}

impl WorkDir {
    pub fn new(out: &Path) -> WorkDir {
        WorkDir {
            dir: out.join(".batch"),
        }
    }

    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint.json")
    }

    pub fn plan(&self) -> PathBuf {
        self.dir.join("plan.tsv")
    }

    pub fn chunk(&self, chunk: usize) -> PathBuf {
        self.dir.join(format!("chunk-{chunk:06}.jsonl"))
    }
}

fn plan_text(plan: &[PlanEntry]) -> String {
    let mut text = String::with_capacity(plan.len() * 30);
    for (id, rank) in plan {
        text.push_str(id);
        text.push('\t');
        text.push(if *rank { '1' } else { '0' });
        text.push('\n');
    }
    text
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Checkpoint {
    /// A new run's checkpoint; its id hashes its parameters and plan.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        direction: &str,
        k: usize,
        partition: Option<String>,
        now: i64,
        store_seq: u64,
        base_run: Option<String>,
        vectors: Option<VectorsAt>,
        chunk_size: usize,
        plan: &[PlanEntry],
    ) -> Checkpoint {
        let plan_sha256 = sha256_hex(plan_text(plan).as_bytes());
        let mut checkpoint = Checkpoint {
            format: FORMAT.into(),
            run_id: String::new(),
            direction: direction.into(),
            k,
            partition,
            now,
            store_seq,
            base_run,
            vectors,
            chunk_size,
            listings: plan.len(),
            plan_sha256,
        };
        let identity = serde_json::to_string(&checkpoint).expect("serialises");
        checkpoint.run_id = sha256_hex(identity.as_bytes())[..16].to_owned();
        checkpoint
    }

    /// Writes the plan, then the checkpoint (the checkpoint's presence means both are whole).
    pub fn save(&self, work: &WorkDir, plan: &[PlanEntry]) -> Result<()> {
        let text = plan_text(plan);
        write_atomically(&work.plan(), |out| out.write_all(text.as_bytes()))?;
        let json = serde_json::to_string_pretty(self).expect("serialises");
        write_atomically(&work.checkpoint(), |out| out.write_all(json.as_bytes()))
    }

    /// Reads a run's checkpoint and plan, refusing anything damaged or written by something else.
    pub fn load(work: &WorkDir) -> Result<(Checkpoint, Vec<PlanEntry>)> {
        let path = work.checkpoint();
        let foreign = |reason: String| {
            IndexError::Batch(format!(
                "{} is not a usable silkmatch batch checkpoint ({reason}); remove the output directory to start over",
                path.display()
            ))
        };
        let text = std::fs::read_to_string(&path).map_err(|err| io_error(&path, err))?;
        let checkpoint: Checkpoint =
            serde_json::from_str(&text).map_err(|err| foreign(err.to_string()))?;
        if checkpoint.format != FORMAT {
            return Err(foreign(format!(
                "format `{}`, this silkmatch writes `{FORMAT}`",
                checkpoint.format
            )));
        }
        let plan_text = std::fs::read(work.plan()).map_err(|err| io_error(&work.plan(), err))?;
        if sha256_hex(&plan_text) != checkpoint.plan_sha256 {
            return Err(foreign(format!(
                "{} does not match its checksum",
                work.plan().display()
            )));
        }
        let plan_text = String::from_utf8(plan_text).map_err(|err| foreign(err.to_string()))?;
        let plan: Vec<PlanEntry> = plan_text
            .lines()
            .map(|line| match line.split_once('\t') {
                Some((id, "1")) => Ok((id.to_owned(), true)),
                Some((id, "0")) => Ok((id.to_owned(), false)),
                _ => Err(foreign(format!("plan line `{line}`"))),
            })
            .collect::<Result<_>>()?;
        let expected = Checkpoint::new(
            &checkpoint.direction,
            checkpoint.k,
            checkpoint.partition.clone(),
            checkpoint.now,
            checkpoint.store_seq,
            checkpoint.base_run.clone(),
            checkpoint.vectors.clone(),
            checkpoint.chunk_size,
            &plan,
        );
        if expected != checkpoint || checkpoint.chunk_size == 0 {
            return Err(foreign("its run id does not match its contents".into()));
        }
        Ok((checkpoint, plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_tampering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let work = WorkDir::new(dir.path());
        std::fs::create_dir_all(&work.dir).unwrap();
        let plan = vec![("a".to_owned(), true), ("b".to_owned(), false)];
        let checkpoint = Checkpoint::new("needs", 20, None, 100, 7, None, None, 16, &plan);
        checkpoint.save(&work, &plan).unwrap();
        assert_eq!(Checkpoint::load(&work).unwrap(), (checkpoint.clone(), plan));
        std::fs::write(work.plan(), "a\t1\n").unwrap();
        let err = Checkpoint::load(&work).unwrap_err().to_string();
        assert!(err.contains("does not match its checksum"), "{err}");
        std::fs::write(work.checkpoint(), "{\"hello\": 1}").unwrap();
        let err = Checkpoint::load(&work).unwrap_err().to_string();
        assert!(
            err.contains("not a usable silkmatch batch checkpoint"),
            "{err}"
        );
        let edited = serde_json::to_string(&Checkpoint { k: 5, ..checkpoint }).unwrap();
        std::fs::write(work.checkpoint(), edited).unwrap();
        std::fs::write(work.plan(), "a\t1\nb\t0\n").unwrap();
        let err = Checkpoint::load(&work).unwrap_err().to_string();
        assert!(err.contains("run id does not match"), "{err}");
    }
}
