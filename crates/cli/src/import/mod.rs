//! `silkmatch import`: JSONL or CSV in, validated listings out.
//!
//! What a failed import leaves behind, exactly:
//! - an invalid record (without `--skip-invalid`): nothing; every record is validated before the
//!   first is written, and every problem is reported with its line and field;
//! - a crash or kill midway: every batch reported as committed (`committed N of M`) is in the store,
//!   nothing of the batch in flight is; the search index catches up on the next open. Re-running the
//!   same file completes the import: records with an `external_id` are upserted, unchanged ones skipped.

mod records;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use silkmatch_core::{Problem, Validated, validate};
use silkmatch_index::{IndexCommit, Owner, Write, Written};

use records::{Format, Record, read_records};

/// Records written per SQLite transaction.
const BATCH: usize = 2_000;
/// Batches between index commits during an import.
const BATCHES_PER_INDEX_COMMIT: usize = 25;
/// Problems printed before summarising the rest.
const MAX_PRINTED_PROBLEMS: usize = 50;

/// Arguments of `silkmatch import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSONL (one listing per line) or CSV file.
    file: PathBuf,
    /// Owner of every record (an organisation id); without it, each record's `organisation` block
    /// names its owner, created on first sight.
    #[arg(long)]
    org: Option<String>,
    /// Import the valid records and report the invalid ones instead of importing nothing.
    #[arg(long)]
    skip_invalid: bool,
    /// File format; by default from the extension (.jsonl/.json/.ndjson or .csv).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Jsonl,
    Csv,
}

impl ImportArgs {
    /// Defaults for importing one file (as the demo does).
    pub fn for_file(file: PathBuf) -> ImportArgs {
        ImportArgs {
            file,
            org: None,
            skip_invalid: false,
            format: None,
        }
    }
}

/// A problem with one record of the file.
struct LineProblem {
    line: u64,
    problem: Problem,
}

/// Runs the import.
pub fn run(data: &Path, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        Some(FormatArg::Jsonl) => Format::Jsonl,
        Some(FormatArg::Csv) => Format::Csv,
        None => Format::from_path(&args.file)?,
    };
    let now = crate::now();

    // Pass 1: validate everything, write nothing.
    let mut problems: Vec<LineProblem> = Vec::new();
    let mut seen_external_ids: HashMap<(String, String), u64> = HashMap::new();
    let mut n_records = 0u64;
    read_records(&args.file, format, &mut |chunk| {
        n_records += chunk.len() as u64;
        let checked: Vec<(u64, Result<Validated, Vec<Problem>>)> = chunk
            .into_par_iter()
            .map(|record| (record.line, check(record)))
            .collect();
        for (line, outcome) in checked {
            match outcome {
                Ok(validated) => {
                    if let Some(external_id) = &validated.body.external_id {
                        let owner_key = args.org.clone().unwrap_or_else(|| {
                            format!(
                                "{}\u{0}{}",
                                validated.body.organisation.name,
                                validated.body.organisation.country
                            )
                        });
                        if let Some(first) =
                            seen_external_ids.insert((owner_key, external_id.clone()), line)
                        {
                            problems.push(LineProblem {
                                line,
                                problem: Problem::new(
                                    "external_id",
                                    silkmatch_core::ProblemCode::Duplicate,
                                    format!("`external_id` `{external_id}` already appears on line {first} for the same owner."),
                                ),
                            });
                        }
                    }
                }
                Err(record_problems) => problems.extend(
                    record_problems
                        .into_iter()
                        .map(|problem| LineProblem { line, problem }),
                ),
            }
        }
        Ok(())
    })?;
    if n_records == 0 {
        bail!(
            "{} holds no listings: nothing to import",
            args.file.display()
        );
    }
    let bad_lines: std::collections::BTreeSet<u64> =
        problems.iter().map(|problem| problem.line).collect();
    report_problems(&args.file, &problems);
    if !bad_lines.is_empty() && !args.skip_invalid {
        eprintln!(
            "error: {} of {n_records} records in {} are invalid; nothing was imported (fix them, or pass --skip-invalid to import the {} valid ones)",
            bad_lines.len(),
            args.file.display(),
            n_records - bad_lines.len() as u64
        );
        return Ok(ExitCode::FAILURE);
    }

    // Pass 2: write the valid records in durable batches.
    let engine = crate::open(data)?;
    let owner = match &args.org {
        Some(id) => {
            engine.organisation(id)?.with_context(|| {
                format!(
                    "organisation `{id}` does not exist (create it first, or import without --org)"
                )
            })?;
            Owner::Id(id.clone())
        }
        None => Owner::FromListing,
    };
    let to_write = n_records - bad_lines.len() as u64;
    let bar = crate::progress::bar("importing");
    bar.set_length(to_write);
    let plain_progress = !std::io::stderr().is_terminal();
    let mut totals = Totals::default();
    let mut batches_since_commit = 0;
    read_records(&args.file, format, &mut |chunk| {
        let valid: Vec<Validated> = chunk
            .into_par_iter()
            .filter(|record| !bad_lines.contains(&record.line))
            .map(|record| {
                check(record).map_err(|_| {
                    anyhow::anyhow!("a record changed between the two passes over the file")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        for batch in valid.chunks(BATCH) {
            let writes = batch
                .iter()
                .cloned()
                .map(|validated| Write::Upsert {
                    owner: owner.clone(),
                    validated,
                })
                .collect();
            batches_since_commit += 1;
            let commit = if batches_since_commit >= BATCHES_PER_INDEX_COMMIT {
                IndexCommit::Now
            } else {
                IndexCommit::Later
            };
            if commit == IndexCommit::Now {
                batches_since_commit = 0;
            }
            for outcome in engine.write(writes, now, commit)? {
                match outcome {
                    Ok(Written::Created(_)) => totals.created += 1,
                    Ok(Written::Updated(_)) => totals.updated += 1,
                    Ok(Written::Unchanged(_)) => totals.unchanged += 1,
                    Err(err) => {
                        totals.failed += 1;
                        eprintln!("{}: record not written: {err}", args.file.display());
                    }
                }
            }
            let done = totals.created + totals.updated + totals.unchanged + totals.failed;
            bar.set_position(done);
            if plain_progress {
                eprintln!("progress: committed {done} of {to_write} listings");
            }
        }
        Ok(())
    })?;
    engine.commit_index()?;
    bar.finish_and_clear();
    engine.close()?;
    println!(
        "imported {}: {} created, {} updated, {} unchanged, {} invalid skipped{}",
        args.file.display(),
        totals.created,
        totals.updated,
        totals.unchanged,
        bad_lines.len(),
        if totals.failed > 0 {
            format!(", {} failed", totals.failed)
        } else {
            String::new()
        }
    );
    Ok(if totals.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Default)]
struct Totals {
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
}

fn check(record: Record) -> Result<Validated, Vec<Problem>> {
    let draft = record.draft.map_err(|problem| vec![problem])?;
    validate(&draft)
}

fn report_problems(file: &Path, problems: &[LineProblem]) {
    for LineProblem { line, problem } in problems.iter().take(MAX_PRINTED_PROBLEMS) {
        eprintln!("{}:{line}: {problem}", file.display());
    }
    if problems.len() > MAX_PRINTED_PROBLEMS {
        eprintln!(
            "{}: … and {} more problems",
            file.display(),
            problems.len() - MAX_PRINTED_PROBLEMS
        );
    }
}
