//! Reading import files into drafts, record by record, with the line each came from. A record that
//! cannot even be read (bad UTF-8, broken JSON, a CSV row of the wrong width) becomes a problem for
//! that line; only an unreadable file stops the import.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value};
use silkmatch_core::{Draft, Problem, ProblemCode, draft_from_value, parse_draft};

/// Records handed to the caller at a time: enough to validate in parallel, small enough to stream.
const CHUNK: usize = 10_000;

/// Supported import formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON listing per line.
    Jsonl,
    /// A header row of field names, one listing per row; lists separated by `;`.
    Csv,
}

impl Format {
    /// From the file extension.
    pub fn from_path(path: &Path) -> anyhow::Result<Format> {
        match path
            .extension()
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
            Some("csv") => Ok(Format::Csv),
            _ => bail!(
                "cannot tell the format of {} from its extension; pass --format jsonl or --format csv",
                path.display()
            ),
        }
    }
}

/// One record of the file.
pub struct Record {
    /// 1-based line where the record starts.
    pub line: u64,
    /// The draft, or why it could not be read.
    pub draft: Result<Draft, Problem>,
}

/// Streams the records of `path` to `each_chunk`.
pub fn read_records(
    path: &Path,
    format: Format,
    each_chunk: &mut dyn FnMut(Vec<Record>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open import file {}", path.display()))?;
    // Only reading failures say "cannot read"; what `each_chunk` reports (a failed write, a full
    // disk) passes through under its own name.
    match format {
        Format::Jsonl => read_jsonl(BufReader::new(file), path, each_chunk),
        Format::Csv => read_csv(file, each_chunk),
    }
}

fn read_jsonl(
    mut reader: impl BufRead,
    path: &Path,
    each_chunk: &mut dyn FnMut(Vec<Record>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .with_context(|| format!("cannot read import file {}", path.display()))?;
        if read == 0 {
            break;
        }
        line += 1;
        let draft = match std::str::from_utf8(&bytes) {
            Err(err) => Err(Problem::new(
                "",
                ProblemCode::MalformedJson,
                format!(
                    "The line is not valid UTF-8 (bad byte at column {}).",
                    err.valid_up_to() + 1
                ),
            )),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse_draft(text.trim_end_matches(['\n', '\r'])),
        };
        chunk.push(Record { line, draft });
        if chunk.len() == CHUNK {
            each_chunk(std::mem::take(&mut chunk))?;
        }
    }
    if !chunk.is_empty() {
        each_chunk(chunk)?;
    }
    Ok(())
}

/// Columns whose cells are lists (`;`-separated) and whether their items are numbers.
const LIST_COLUMNS: [(&str, bool); 7] = [
    ("keywords", false),
    ("technology_fields", true),
    ("sectors", false),
    ("sdgs", true),
    ("patents", false),
    ("cooperation", false),
    ("target_countries", false),
];
/// Columns whose cells are numbers or booleans.
const NUMBER_COLUMNS: [&str; 4] = ["trl", "trl_min", "budget.min", "budget.max"];
const BOOLEAN_COLUMNS: [&str; 1] = ["price_negotiable"];
/// Every column a CSV may have.
const CSV_COLUMNS: [&str; 31] = [
    "kind",
    "external_id",
    "status",
    "language",
    "title",
    "summary",
    "description",
    "advantages",
    "requirements",
    "partner_sought",
    "keywords",
    "technology_fields",
    "sectors",
    "sdgs",
    "trl",
    "trl_min",
    "ipr",
    "patents",
    "cooperation",
    "organisation.name",
    "organisation.kind",
    "organisation.size",
    "organisation.country",
    "target_countries",
    "budget.min",
    "budget.max",
    "budget.currency",
    "price_negotiable",
    "contact.name",
    "contact.email",
    "contact.phone",
];

fn read_csv(
    file: impl Read,
    each_chunk: &mut dyn FnMut(Vec<Record>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader
        .byte_headers()
        .context("the CSV has no header row")?
        .clone();
    let mut names = Vec::new();
    for (idx, raw) in headers.iter().enumerate() {
        let name = std::str::from_utf8(raw)
            .with_context(|| format!("CSV header {} is not valid UTF-8", idx + 1))?
            .trim()
            .to_owned();
        if !CSV_COLUMNS.contains(&name.as_str()) {
            bail!(
                "unknown CSV column `{name}` (column {}); the columns are: {}",
                idx + 1,
                CSV_COLUMNS.join(", ")
            );
        }
        if names.contains(&name) {
            bail!("CSV column `{name}` appears twice");
        }
        names.push(name);
    }
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut row = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let line = row.position().map_or(0, |position| position.line());
                chunk.push(Record {
                    line,
                    draft: csv_row(&names, &row),
                });
            }
            Err(err) => {
                let line = err.position().map_or(0, |position| position.line());
                chunk.push(Record {
                    line,
                    draft: Err(Problem::new(
                        "",
                        ProblemCode::MalformedJson,
                        format!("The CSV row cannot be read: {err}."),
                    )),
                });
            }
        }
        if chunk.len() == CHUNK {
            each_chunk(std::mem::take(&mut chunk))?;
        }
    }
    if !chunk.is_empty() {
        each_chunk(chunk)?;
    }
    Ok(())
}

fn csv_row(names: &[String], row: &csv::ByteRecord) -> Result<Draft, Problem> {
    if row.len() != names.len() {
        return Err(Problem::new(
            "",
            ProblemCode::MalformedJson,
            format!(
                "The row has {} fields but the header names {} columns.",
                row.len(),
                names.len()
            ),
        ));
    }
    let mut object = Map::new();
    for (name, raw) in names.iter().zip(row.iter()) {
        let cell = std::str::from_utf8(raw)
            .map_err(|_| {
                Problem::new(
                    name.as_str(),
                    ProblemCode::InvalidType,
                    format!("`{name}` is not valid UTF-8."),
                )
            })?
            .trim();
        if cell.is_empty() {
            continue;
        }
        let value =
            if let Some((_, numeric)) = LIST_COLUMNS.iter().find(|(column, _)| column == name) {
                let items = cell
                    .split(';')
                    .map(str::trim)
                    .filter(|item| !item.is_empty());
                if *numeric {
                    Value::Array(
                        items
                            .map(|item| number(name, item))
                            .collect::<Result<_, _>>()?,
                    )
                } else {
                    Value::Array(items.map(|item| Value::String(item.to_owned())).collect())
                }
            } else if NUMBER_COLUMNS.contains(&name.as_str()) {
                number(name, cell)?
            } else if BOOLEAN_COLUMNS.contains(&name.as_str()) {
                match cell.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => Value::Bool(true),
                    "false" | "no" | "0" => Value::Bool(false),
                    _ => {
                        return Err(Problem::new(
                            name.as_str(),
                            ProblemCode::InvalidType,
                            format!("`{name}` must be true or false; got `{cell}`."),
                        ));
                    }
                }
            } else {
                Value::String(cell.to_owned())
            };
        match name.split_once('.') {
            Some((parent, child)) => {
                let nested = object
                    .entry(parent.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                nested
                    .as_object_mut()
                    .expect("dotted columns share a parent object")
                    .insert(child.to_owned(), value);
            }
            None => {
                object.insert(name.clone(), value);
            }
        }
    }
    draft_from_value(Value::Object(object))
}

fn number(field: &str, text: &str) -> Result<Value, Problem> {
    text.parse::<i64>().map(Value::from).map_err(|_| {
        Problem::new(
            field,
            ProblemCode::InvalidType,
            format!("`{field}` must be a whole number; got `{text}`."),
        )
    })
}
