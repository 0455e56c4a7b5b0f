//! Labelled match sets on disk, in either of two layouts, read into one shape with every reference
//! checked, so a mistake in a set is one error naming the file and line, not a silent zero.
//!
//! - **Per direction** (`fixtures/matchset`): `listings.jsonl`, `queries.tsv`
//!   (`direction<TAB>id<TAB>split…`), `need_to_offer.tsv` and `offer_to_need.tsv`.
//! - **Flat** (`../shared/data/sbir-match`, `fixtures/realsets/*`): `listings.jsonl`, `queries.txt`
//!   (one query id per line, optionally `<TAB>dev|test`), `qrels.tsv` (`query<TAB>doc<TAB>gain`,
//!   whatever the query's kind) and optionally `traps.txt` (ids of queries whose right answer is no
//!   partner at all). A query's direction is its kind's; without a split column, queries at even
//!   positions (from 0) are `dev` and odd ones `test`, as for text collections.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;
use silkmatch_core::metrics::Qrels;

use super::text::read_jsonl;

/// Directions, with the judgement file of each in the per-direction layout.
pub const DIRECTIONS: [&str; 2] = ["need_to_offer", "offer_to_need"];

/// A scored query of a set.
pub struct Query {
    /// `need_to_offer` or `offer_to_need`.
    pub direction: &'static str,
    /// The query listing's `external_id`.
    pub external_id: String,
    /// `dev` or `test`.
    pub split: String,
}

/// A labelled match set, checked.
pub struct LabelledSet {
    /// The pool, as import records.
    pub listings: Vec<Value>,
    /// Scored queries.
    pub queries: Vec<Query>,
    /// Judgements per direction.
    pub qrels: BTreeMap<&'static str, Qrels>,
    /// Queries whose right answer is no partner (every candidate breaks a hard constraint).
    pub traps: Vec<String>,
}

impl LabelledSet {
    /// Reads the set in `dir`, in whichever layout it has.
    pub fn read(dir: &Path) -> anyhow::Result<LabelledSet> {
        if !dir.is_dir() {
            bail!("match set {}: not a folder", dir.display());
        }
        let listings_path = required(dir, "listings.jsonl")?;
        let listings: Vec<Value> = read_jsonl(&listings_path)?;
        let kinds = kinds_by_id(&listings, &listings_path)?;
        let set = if dir.join("queries.tsv").is_file() {
            read_per_direction(dir, listings, &kinds)?
        } else if dir.join("queries.txt").is_file() {
            read_flat(dir, listings, &kinds)?
        } else {
            bail!(
                "match set {}: missing queries.txt (or queries.tsv, for a set judged per direction)",
                dir.display()
            );
        };
        if set.queries.is_empty() {
            bail!("match set {}: lists no queries", dir.display());
        }
        Ok(set)
    }
}

fn required(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    if !path.is_file() {
        bail!("match set {}: missing {name}", dir.display());
    }
    Ok(path)
}

/// Each listing's kind by `external_id`; every listing needs both.
fn kinds_by_id(listings: &[Value], path: &Path) -> anyhow::Result<HashMap<String, &'static str>> {
    let mut kinds = HashMap::with_capacity(listings.len());
    for (idx, listing) in listings.iter().enumerate() {
        let line = idx + 1;
        let Some(id) = listing["external_id"].as_str() else {
            bail!("{}:{line}: the listing has no external_id", path.display());
        };
        let kind = match listing["kind"].as_str() {
            Some("need") => "need",
            Some("offer") => "offer",
            _ => bail!(
                "{}:{line}: listing {id}: kind must be need or offer",
                path.display()
            ),
        };
        if kinds.insert(id.to_string(), kind).is_some() {
            bail!("{}:{line}: external_id {id} appears twice", path.display());
        }
    }
    Ok(kinds)
}

fn direction_of(kind: &str) -> &'static str {
    if kind == "need" {
        "need_to_offer"
    } else {
        "offer_to_need"
    }
}

/// The per-direction layout of `fixtures/matchset`.
fn read_per_direction(
    dir: &Path,
    listings: Vec<Value>,
    kinds: &HashMap<String, &'static str>,
) -> anyhow::Result<LabelledSet> {
    let mut queries = Vec::new();
    for (at, line) in data_lines(&dir.join("queries.tsv"))? {
        let at = || at.clone();
        let parts: Vec<&str> = line.split('\t').collect();
        let direction = match parts.first().copied() {
            Some("need_to_offer") => "need_to_offer",
            Some("offer_to_need") => "offer_to_need",
            _ => bail!(
                "{}: the first column must be need_to_offer or offer_to_need",
                at()
            ),
        };
        let (Some(external_id), Some(split)) = (parts.get(1), parts.get(2)) else {
            bail!("{}: expected direction, query external id and split", at());
        };
        check_split(split, &at)?;
        check_query(external_id, Some(direction), kinds, &at)?;
        queries.push(Query {
            direction,
            external_id: external_id.to_string(),
            split: split.to_string(),
        });
    }
    let mut qrels = BTreeMap::new();
    for direction in DIRECTIONS {
        let path = required(dir, &format!("{direction}.tsv"))?;
        qrels.insert(
            direction,
            read_checked_qrels(&path, kinds, Some(direction))?,
        );
    }
    Ok(LabelledSet {
        listings,
        queries,
        qrels,
        traps: Vec::new(),
    })
}

/// The flat layout of `../shared/data/sbir-match`.
fn read_flat(
    dir: &Path,
    listings: Vec<Value>,
    kinds: &HashMap<String, &'static str>,
) -> anyhow::Result<LabelledSet> {
    let mut queries = Vec::new();
    for (at, line) in data_lines(&dir.join("queries.txt"))? {
        let at = || at.clone();
        let mut parts = line.split('\t').map(str::trim);
        let external_id = parts.next().unwrap_or_default();
        let direction = check_query(external_id, None, kinds, &at)?;
        let split = match parts.next() {
            Some(split) => {
                check_split(split, &at)?;
                split.to_string()
            }
            None if queries.len() % 2 == 0 => "dev".to_string(),
            None => "test".to_string(),
        };
        queries.push(Query {
            direction,
            external_id: external_id.to_string(),
            split,
        });
    }
    let all = read_checked_qrels(&required(dir, "qrels.tsv")?, kinds, None)?;
    let mut qrels: BTreeMap<&'static str, Qrels> =
        DIRECTIONS.iter().map(|d| (*d, Qrels::new())).collect();
    for (query, docs) in all {
        let direction = direction_of(kinds[&query]);
        qrels
            .get_mut(direction)
            .expect("both directions")
            .insert(query, docs);
    }
    let mut traps = Vec::new();
    let traps_path = dir.join("traps.txt");
    if traps_path.is_file() {
        for (at, line) in data_lines(&traps_path)? {
            let id = line.trim();
            check_query(id, None, kinds, &|| at.clone())?;
            traps.push(id.to_string());
        }
    }
    Ok(LabelledSet {
        listings,
        queries,
        qrels,
        traps,
    })
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The lines of a list file that hold data (not blank, not a `#` comment), each with its
/// `path:line` for messages.
fn data_lines(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    Ok(read(path)?
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(idx, line)| (format!("{}:{}", path.display(), idx + 1), line.to_string()))
        .collect())
}

fn check_split(split: &str, at: &dyn Fn() -> String) -> anyhow::Result<()> {
    if !matches!(split, "dev" | "test") {
        bail!("{}: split must be dev or test; got `{split}`", at());
    }
    Ok(())
}

/// Checks that a query names a listing of the set (of the direction's kind, when given) and
/// returns its direction.
fn check_query(
    id: &str,
    direction: Option<&'static str>,
    kinds: &HashMap<String, &'static str>,
    at: &dyn Fn() -> String,
) -> anyhow::Result<&'static str> {
    let Some(kind) = kinds.get(id) else {
        bail!("{}: query `{id}` is not in listings.jsonl", at());
    };
    let own = direction_of(kind);
    if let Some(direction) = direction
        && direction != own
    {
        bail!(
            "{}: query {id} is a {kind} but is listed under {direction}",
            at()
        );
    }
    Ok(own)
}

/// A qrels file, every line checked: three or four columns, a numeric gain, both ids in the set,
/// of two kinds (and the query of the direction's kind, when given).
fn read_checked_qrels(
    path: &Path,
    kinds: &HashMap<String, &'static str>,
    direction: Option<&'static str>,
) -> anyhow::Result<Qrels> {
    let text = read(path)?;
    let mut qrels = Qrels::new();
    for (idx, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), idx + 1);
        // Tab-separated (ids may hold spaces); whitespace-separated when a line has no tab.
        let parts: Vec<&str> = if line.contains('\t') {
            line.split('\t').map(str::trim).collect()
        } else {
            line.split_whitespace().collect()
        };
        let (query, doc, gain) = match parts.as_slice() {
            [] => continue,
            [first, ..] if first.starts_with('#') => continue,
            [query, doc, gain] | [query, _, doc, gain] => (*query, *doc, *gain),
            _ => bail!("{}: expected `query doc gain`", at()),
        };
        let gain: f64 = gain
            .parse()
            .ok()
            .filter(|gain: &f64| gain.is_finite())
            .with_context(|| format!("{}: gain `{gain}` is not a number", at()))?;
        check_query(query, direction, kinds, &at)?;
        let Some(doc_kind) = kinds.get(doc) else {
            bail!("{}: listing `{doc}` is not in listings.jsonl", at());
        };
        if *doc_kind == kinds[query] {
            bail!("{}: {query} and {doc} are both {doc_kind}s", at());
        }
        qrels
            .entry(query.to_string())
            .or_default()
            .insert(doc.to_string(), gain);
    }
    Ok(qrels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(id: &str, kind: &str) -> String {
        format!("{{\"external_id\":\"{id}\",\"kind\":\"{kind}\"}}\n")
    }

    fn flat_set(qrels: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("listings.jsonl"),
            listing("n1", "need") + &listing("n2", "need") + &listing("o1", "offer"),
        )
        .unwrap();
        std::fs::write(dir.path().join("queries.txt"), "n1\nn2\n").unwrap();
        std::fs::write(dir.path().join("qrels.tsv"), qrels).unwrap();
        dir
    }

    #[test]
    fn reads_the_flat_layout_with_positional_splits() {
        let dir = flat_set("n1\to1\t3\nn2\to1\t1\n");
        std::fs::write(dir.path().join("traps.txt"), "n2\n").unwrap();
        let set = LabelledSet::read(dir.path()).unwrap();
        let splits: Vec<(&str, &str)> = set
            .queries
            .iter()
            .map(|q| (q.external_id.as_str(), q.split.as_str()))
            .collect();
        assert_eq!(splits, [("n1", "dev"), ("n2", "test")]);
        assert_eq!(set.qrels["need_to_offer"]["n1"]["o1"], 3.0);
        assert!(set.qrels["offer_to_need"].is_empty());
        assert_eq!(set.traps, ["n2"]);
    }

    #[test]
    fn an_unknown_listing_in_qrels_names_the_file_and_line() {
        let dir = flat_set("n1\to1\t3\nn1\to9\t2\n");
        let err = LabelledSet::read(dir.path()).err().unwrap().to_string();
        assert!(
            err.ends_with("qrels.tsv:2: listing `o9` is not in listings.jsonl"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = flat_set("");
        std::fs::remove_file(dir.path().join("qrels.tsv")).unwrap();
        let err = LabelledSet::read(dir.path()).err().unwrap().to_string();
        assert!(err.ends_with("missing qrels.tsv"), "{err}");
        std::fs::remove_file(dir.path().join("queries.txt")).unwrap();
        let err = LabelledSet::read(dir.path()).err().unwrap().to_string();
        assert!(err.contains("missing queries.txt"), "{err}");
    }

    #[test]
    fn a_pair_of_one_kind_and_a_bad_gain_are_refused() {
        let dir = flat_set("n1\tn2\t1\n");
        let err = LabelledSet::read(dir.path()).err().unwrap().to_string();
        assert!(
            err.ends_with("qrels.tsv:1: n1 and n2 are both needs"),
            "{err}"
        );
        let dir = flat_set("n1\to1\tgood\n");
        let err = LabelledSet::read(dir.path()).err().unwrap().to_string();
        assert!(
            err.ends_with("qrels.tsv:1: gain `good` is not a number"),
            "{err}"
        );
    }
}
