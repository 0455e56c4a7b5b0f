//! One batch run from plan to `_SUCCESS`: plan (or reload the checkpoint), rank the missing chunks
//! in parallel, assemble the output in order, store the lists for the API, write the summary last.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use silkmatch_core::Timestamp;

use super::checkpoint::{Checkpoint, PlanEntry, WorkDir};
use super::output::{
    csv_header, csv_rows, io_error, jsonl_line, read_chunk, sync_dir, write_atomically, write_chunk,
};
use super::plan::{Direction, Partition, open_listings};
use super::summary::{Summary, Tally};
use super::{Ranked, incremental, rank_one};
use crate::dense::VectorsAt;
use crate::engine::{Engine, Progress};
use crate::error::{IndexError, Result};
use crate::store::{self, Columns, recommendations::RunRecord};

/// The finished output files, relative to `--out`.
pub const JSONL: &str = "recommendations.jsonl";
/// CSV output, one row per candidate.
pub const CSV: &str = "recommendations.csv";
/// Written last but one: the run's report.
pub const SUMMARY: &str = "summary.json";
/// Written last: its presence says the output is complete.
pub const SUCCESS: &str = "_SUCCESS";

/// How to run.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Which listings get recommendations.
    pub direction: Direction,
    /// Candidates per listing (1 to 100).
    pub k: usize,
    /// Output directory (created; must be empty or hold this run's checkpoint).
    pub out: PathBuf,
    /// One shard of the plan.
    pub partition: Option<Partition>,
    /// Re-rank only what changed since the last finished run; carry the rest over.
    pub since_last_run: bool,
    /// Reference time of a new run (a resumed run keeps its own); the wall clock when `None`.
    pub now: Option<Timestamp>,
    /// The wall clock when the command started.
    pub wall_clock: Timestamp,
    /// Listings per chunk (the unit of checkpointing).
    pub chunk_size: usize,
    /// Score a need's best candidate must reach to count in the summary's share.
    pub threshold: f32,
    /// Store the lists in the record store for the API.
    pub publish: bool,
    /// Rank with the listing vectors as embedding had them at this change sequence number instead
    /// of as stored now: shards of one run started at different times (while a server embeds)
    /// then rank with the same vectors. Must not be ahead of the store.
    pub vectors_seq: Option<u64>,
}

/// What `run` did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run's report.
    pub summary: Summary,
    /// The directory already held this finished run; nothing was redone.
    pub already_complete: bool,
}

fn batch_error(message: String) -> IndexError {
    IndexError::Batch(message)
}

/// Runs (or resumes, or recognises as finished) a batch ranking into `options.out`.
pub fn run(engine: &Engine, options: &BatchOptions, progress: Progress<'_>) -> Result<Outcome> {
    let started = Instant::now();
    if !(1..=100).contains(&options.k) {
        return Err(batch_error(format!(
            "--k must be between 1 and 100; got {}",
            options.k
        )));
    }
    if options.chunk_size == 0 {
        return Err(batch_error("--chunk-size must be at least 1".into()));
    }
    if options.since_last_run && options.partition.is_some() {
        return Err(batch_error(
            "--since-last-run ranks the whole store; it cannot be combined with --partition".into(),
        ));
    }
    let out = &options.out;
    if out.exists() && !out.is_dir() {
        return Err(batch_error(format!(
            "--out {} is a file, not a directory",
            out.display()
        )));
    }
    let work = WorkDir::new(out);
    let (checkpoint, plan, resumed, planned_with) = if work.checkpoint().exists() {
        let (checkpoint, plan) = Checkpoint::load(&work)?;
        check_same_run(&checkpoint, options)?;
        (checkpoint, plan, true, None)
    } else {
        // The vectors as stored now (or at `--vectors-seq`), pinned before planning so that
        // `--since-last-run` sees the ones the run ranks with.
        let vectors = vectors_for_run(engine, options.vectors_seq)?;
        let pinned = engine.pin_vectors(vectors.as_ref())?;
        let (checkpoint, plan) = new_plan(engine, options, vectors)?;
        prepare_dir(out, &work)?;
        checkpoint.save(&work, &plan)?;
        (checkpoint, plan, false, Some(pinned))
    };
    if out.join(SUCCESS).exists() {
        let path = out.join(SUMMARY);
        let text = std::fs::read_to_string(&path).map_err(|err| io_error(&path, err))?;
        let summary = serde_json::from_str(&text).map_err(|err| {
            batch_error(format!(
                "{} is damaged ({err}); remove {} to finish the run again",
                path.display(),
                out.join(SUCCESS).display()
            ))
        })?;
        return Ok(Outcome {
            summary,
            already_complete: true,
        });
    }

    // The vectors the run was planned with, whatever was embedded since (a resumed run too).
    let _pinned = match planned_with {
        Some(pinned) => pinned,
        None => engine
            .pin_vectors(checkpoint.vectors.as_ref())
            .map_err(|err| {
                batch_error(format!(
                    "{err}; remove {} to rank again with the vectors there are now",
                    out.display()
                ))
            })?,
    };
    let now = Timestamp::from_unix(checkpoint.now);
    let chunks: Vec<&[PlanEntry]> = plan.chunks(checkpoint.chunk_size).collect();
    let total = plan.len() as u64;
    let mut done: u64 = chunks
        .iter()
        .enumerate()
        .filter(|(number, _)| work.chunk(*number).exists())
        .map(|(_, chunk)| chunk.len() as u64)
        .sum();
    progress(done, total);
    let mut ranked_now = 0u64;
    for (number, chunk) in chunks.iter().enumerate() {
        let path = work.chunk(number);
        if path.exists() {
            continue;
        }
        let base = checkpoint.base_run.as_deref();
        let lists = rank_chunk(engine, chunk, checkpoint.k, now, base)?;
        ranked_now += chunk.iter().filter(|(_, rank)| *rank).count() as u64;
        write_chunk(&path, &checkpoint.run_id, number, &lists)?;
        done += chunk.len() as u64;
        progress(done, total);
    }

    let mut tally = Tally::new(options.threshold);
    assemble(out, &work, &checkpoint, chunks.len(), &mut tally)?;
    if options.publish {
        publish(engine, &work, &checkpoint, chunks.len(), options.wall_clock)?;
    }
    let expired: HashSet<String> = engine
        .store
        .read(|connection| {
            store::recommendations::expired_between(
                connection,
                checkpoint.now,
                options.wall_clock.unix(),
            )
        })?
        .into_iter()
        .collect();
    let ranked_total = plan.iter().filter(|(_, rank)| *rank).count() as u64;
    let seconds = started.elapsed().as_secs_f64();
    let summary = Summary {
        run_id: checkpoint.run_id.clone(),
        direction: checkpoint.direction.clone(),
        k: checkpoint.k,
        partition: checkpoint.partition.clone(),
        ranked_at: now.to_rfc3339(),
        store_seq: checkpoint.store_seq,
        listings: tally.listings,
        needs: tally.needs,
        offers: tally.offers,
        ranked: ranked_total,
        carried_over: total - ranked_total,
        without_candidates: tally.without_candidates,
        threshold: tally.threshold(),
        needs_above_threshold: tally.needs_above_threshold,
        share_of_needs_above_threshold: tally.share_above_threshold(),
        scores: tally.distribution(),
        dropped: total - tally.listings,
        expired_since_ranked_at: plan.iter().filter(|(id, _)| expired.contains(id)).count() as u64,
        resumed,
        duration_seconds: seconds,
        listings_per_second: if seconds > 0.0 {
            ranked_now as f64 / seconds
        } else {
            0.0
        },
    };
    let json = serde_json::to_string_pretty(&summary).expect("serialises");
    write_atomically(&out.join(SUMMARY), |file| file.write_all(json.as_bytes()))?;
    write_atomically(&out.join(SUCCESS), |_| Ok(()))?;
    Ok(Outcome {
        summary,
        already_complete: false,
    })
}

/// The listing vectors a run ranks with: those stored now, or, given `at_seq`, those embedding had
/// when it reached that change (the same for every shard of a run that passes the same number).
pub fn vectors_for_run(engine: &Engine, at_seq: Option<u64>) -> Result<Option<VectorsAt>> {
    let stored = engine.stored_vectors_at()?;
    let Some(seq) = at_seq else {
        return Ok(stored);
    };
    match stored {
        Some(stored) if seq <= stored.reached_seq => Ok(Some(VectorsAt {
            model: stored.model,
            reached_seq: seq,
        })),
        Some(stored) => Err(batch_error(format!(
            "--vectors-seq {seq} is ahead of embedding, which has reached change {}",
            stored.reached_seq
        ))),
        None if seq == 0 => Ok(None),
        None => Err(batch_error(format!(
            "--vectors-seq {seq}: nothing has been embedded in this store"
        ))),
    }
}

/// Ranks the listings of `ids` in the order given (those no longer open at `now` left out), in
/// parallel: the stdin mode that lets any scheduler (Spark's `RDD.pipe`) feed ids to the binary.
pub fn rank_ids(engine: &Engine, ids: &[String], k: usize, now: Timestamp) -> Result<Vec<Ranked>> {
    let plan: Vec<PlanEntry> = ids.iter().map(|id| (id.clone(), true)).collect();
    rank_chunk(engine, &plan, k, now, None)
}

/// Ranks (or carries over from `base_run`) one chunk's listings in parallel, results in plan order.
fn rank_chunk(
    engine: &Engine,
    chunk: &[PlanEntry],
    k: usize,
    now: Timestamp,
    base_run: Option<&str>,
) -> Result<Vec<Ranked>> {
    let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
    let listings = engine
        .store
        .read(|connection| store::listings::get_many(connection, &ids, Columns::Listing))?;
    let mut by_id: std::collections::HashMap<String, silkmatch_core::Listing> = listings
        .into_iter()
        .map(|row| (row.listing.id.clone(), row.listing))
        .collect();
    let work: Vec<(silkmatch_core::Listing, bool)> = chunk
        .iter()
        .filter_map(|(id, rank)| by_id.remove(id).map(|listing| (listing, *rank)))
        // A listing withdrawn (or edited to expire) since planning is left out, never ranked.
        .filter(|(listing, _)| listing.is_live(now))
        .collect();
    let results: Vec<Result<Ranked>> = work
        .par_iter()
        .map(|(listing, rank)| {
            if !rank && let Some(carried) = carried_over(engine, &listing.id, base_run)? {
                return Ok(carried);
            }
            rank_one(engine, listing, k, now)
        })
        .collect();
    results.into_iter().collect()
}

/// The list the base run stored for `id`, when there is one. A list stored by any other run (a
/// shard run since, with other parameters) is not carried over: the listing is ranked again.
fn carried_over(engine: &Engine, id: &str, base_run: Option<&str>) -> Result<Option<Ranked>> {
    let stored = engine
        .store
        .read(|connection| store::recommendations::get_list(connection, id))?;
    Ok(stored
        .filter(|stored| Some(stored.run_id.as_str()) == base_run)
        .and_then(|stored| serde_json::from_str(&stored.body).ok()))
}

/// A new run's checkpoint and plan, ranking with `vectors` (which the engine has pinned).
fn new_plan(
    engine: &Engine,
    options: &BatchOptions,
    vectors: Option<VectorsAt>,
) -> Result<(Checkpoint, Vec<PlanEntry>)> {
    let now = options.now.unwrap_or(options.wall_clock);
    let store_seq = engine.store.read(store::listings::last_seq)?;
    let ids = open_listings(engine, options.direction, now)?;
    if ids.is_empty() {
        return Err(batch_error(format!(
            "nothing to rank: the store in {} holds no open {} at {}",
            engine.dir().display(),
            match options.direction {
                Direction::Both => "needs or offers",
                direction => direction.as_str(),
            },
            now.to_rfc3339()
        )));
    }
    let ids = match options.partition {
        Some(partition) => ids[partition.range(ids.len())].to_vec(),
        None => ids,
    };
    let (base_run, plan): (Option<String>, Vec<PlanEntry>) = if options.since_last_run {
        let base = engine
            .store
            .read(store::recommendations::last_full_run)?
            .ok_or_else(|| {
                batch_error("--since-last-run: no finished run is recorded in this store; run `silkmatch batch rank` without it first".into())
            })?;
        if base.direction != options.direction.as_str() || base.k != options.k as u64 {
            return Err(batch_error(format!(
                "--since-last-run: the last run ranked {} with k {}, this one asks for {} with k {}; run a full ranking first",
                base.direction,
                base.k,
                options.direction.as_str(),
                options.k
            )));
        }
        if now.unix() < base.ranked_at {
            return Err(batch_error(format!(
                "--since-last-run: the reference time {} is before the last run's ({})",
                now.to_rfc3339(),
                Timestamp::from_unix(base.ranked_at).to_rfc3339()
            )));
        }
        let affected =
            incremental::affected(engine, &base, vectors.as_ref(), options.direction, now)?;
        let plan = ids.into_iter().map(|id| {
            let rank = affected
                .as_ref()
                .is_none_or(|affected| affected.contains(&id));
            (id, rank)
        });
        (Some(base.id), plan.collect())
    } else {
        (None, ids.into_iter().map(|id| (id, true)).collect())
    };
    let checkpoint = Checkpoint::new(
        options.direction.as_str(),
        options.k,
        options.partition.map(|partition| partition.to_string()),
        now.unix(),
        store_seq,
        base_run,
        vectors,
        options.chunk_size,
        &plan,
    );
    Ok((checkpoint, plan))
}

fn check_same_run(checkpoint: &Checkpoint, options: &BatchOptions) -> Result<()> {
    let requested = (
        options.direction.as_str(),
        options.k,
        options.partition.map(|partition| partition.to_string()),
        options.since_last_run,
    );
    let found = (
        checkpoint.direction.as_str(),
        checkpoint.k,
        checkpoint.partition.clone(),
        checkpoint.base_run.is_some(),
    );
    let now_differs = options.now.is_some_and(|now| now.unix() != checkpoint.now);
    let vectors_seq = checkpoint
        .vectors
        .as_ref()
        .map_or(0, |vectors| vectors.reached_seq);
    let vectors_differ = options.vectors_seq.is_some_and(|seq| seq != vectors_seq);
    if requested != found || now_differs || vectors_differ {
        return Err(batch_error(format!(
            "{} holds another run (direction {}, k {}, partition {}, since-last-run {}, reference time {}, vectors up to change {}); use another --out or remove it",
            options.out.display(),
            found.0,
            found.1,
            found.2.as_deref().unwrap_or("none"),
            found.3,
            Timestamp::from_unix(checkpoint.now).to_rfc3339(),
            vectors_seq
        )));
    }
    Ok(())
}

/// Creates the output and working directories, refusing a directory that holds other files.
fn prepare_dir(out: &Path, work: &WorkDir) -> Result<()> {
    let not_writable = |err: std::io::Error| {
        batch_error(format!(
            "output directory {} is not writable: {err}",
            out.display()
        ))
    };
    std::fs::create_dir_all(&work.dir).map_err(not_writable)?;
    let foreign: Vec<String> = std::fs::read_dir(out)
        .map_err(not_writable)?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".batch")
        .collect();
    if !foreign.is_empty() {
        return Err(batch_error(format!(
            "output directory {} already holds files of something else ({}); use an empty or new directory",
            out.display(),
            foreign.join(", ")
        )));
    }
    let probe = work.dir.join(".probe");
    File::create(&probe).map_err(not_writable)?;
    std::fs::remove_file(&probe).map_err(not_writable)?;
    Ok(())
}

/// Concatenates the chunks in order into the JSONL and CSV outputs (each renamed into place whole).
fn assemble(
    out: &Path,
    work: &WorkDir,
    checkpoint: &Checkpoint,
    chunks: usize,
    tally: &mut Tally,
) -> Result<()> {
    let temporary = |name: &str| out.join(format!(".{name}.tmp"));
    let create = |path: &Path| {
        File::create(path)
            .map(BufWriter::new)
            .map_err(|err| io_error(path, err))
    };
    let (jsonl_tmp, csv_tmp) = (temporary(JSONL), temporary(CSV));
    let mut jsonl = create(&jsonl_tmp)?;
    let mut csv = create(&csv_tmp)?;
    csv.write_all(csv_header().as_bytes())
        .map_err(|err| io_error(&csv_tmp, err))?;
    for number in 0..chunks {
        for ranked in read_chunk(&work.chunk(number), &checkpoint.run_id, number)? {
            tally.add(&ranked);
            writeln!(jsonl, "{}", jsonl_line(&ranked)).map_err(|err| io_error(&jsonl_tmp, err))?;
            csv.write_all(csv_rows(&ranked).as_bytes())
                .map_err(|err| io_error(&csv_tmp, err))?;
        }
    }
    for (writer, temporary, name) in [(jsonl, jsonl_tmp, JSONL), (csv, csv_tmp, CSV)] {
        let file = writer
            .into_inner()
            .map_err(|err| io_error(&temporary, err.into_error()))?;
        file.sync_all().map_err(|err| io_error(&temporary, err))?;
        std::fs::rename(&temporary, out.join(name))
            .map_err(|err| io_error(&out.join(name), err))?;
    }
    sync_dir(out)
}

/// Stores every list for the API (one transaction per chunk; idempotent, so a resumed run repeats
/// it safely), then records the run.
fn publish(
    engine: &Engine,
    work: &WorkDir,
    checkpoint: &Checkpoint,
    chunks: usize,
    wall_clock: Timestamp,
) -> Result<()> {
    for number in 0..chunks {
        let lists = read_chunk(&work.chunk(number), &checkpoint.run_id, number)?;
        engine.store.write(|transaction| {
            for ranked in &lists {
                let candidates: Vec<&str> = ranked
                    .candidates
                    .iter()
                    .map(|candidate| candidate.id.as_str())
                    .collect();
                store::recommendations::put_list(
                    transaction,
                    &ranked.id,
                    &ranked.kind,
                    &checkpoint.run_id,
                    checkpoint.now,
                    &jsonl_line(ranked),
                    &candidates,
                )?;
            }
            Ok(())
        })?;
    }
    let record = RunRecord {
        id: checkpoint.run_id.clone(),
        direction: checkpoint.direction.clone(),
        k: checkpoint.k as u64,
        partition: checkpoint.partition.clone(),
        ranked_at: checkpoint.now,
        finished_at: wall_clock.unix(),
        store_seq: checkpoint.store_seq,
        listings: checkpoint.listings as u64,
        vectors: checkpoint.vectors.clone(),
    };
    engine
        .store
        .write(|transaction| store::recommendations::put_run(transaction, &record))
}
