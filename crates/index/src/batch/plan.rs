//! What a run ranks: the open listings of the chosen kinds, in id order, optionally one shard of them.

use silkmatch_core::{Kind, Timestamp};

use crate::engine::Engine;
use crate::error::{IndexError, Result};
use crate::store;

/// Which listings a run ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Every open need gets its best offers.
    Needs,
    /// Every open offer gets its best needs.
    Offers,
    /// Both: needs first, then offers.
    Both,
}

impl Direction {
    /// The kinds ranked, in output order.
    pub fn kinds(self) -> &'static [Kind] {
        match self {
            Direction::Needs => &[Kind::Need],
            Direction::Offers => &[Kind::Offer],
            Direction::Both => &[Kind::Need, Kind::Offer],
        }
    }

    /// The kinds the ranked listings' candidates are of.
    pub fn candidate_kinds(self) -> &'static [Kind] {
        match self {
            Direction::Needs => &[Kind::Offer],
            Direction::Offers => &[Kind::Need],
            Direction::Both => &[Kind::Need, Kind::Offer],
        }
    }

    /// `needs`, `offers` or `both`, as on the command line and in run records.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Needs => "needs",
            Direction::Offers => "offers",
            Direction::Both => "both",
        }
    }

    /// The inverse of `as_str`.
    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "needs" => Some(Direction::Needs),
            "offers" => Some(Direction::Offers),
            "both" => Some(Direction::Both),
            _ => None,
        }
    }
}

/// Shard `index` of `count`: a contiguous slice of the plan, so the shards' outputs concatenated in
/// shard order are the whole run's output, whichever scheduler ran them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// 0-based shard number.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Partition {
    /// Parses `I/N` with `0 <= I < N`, saying precisely what is wrong otherwise.
    pub fn parse(text: &str) -> Result<Partition> {
        let bad = |reason: String| IndexError::Batch(format!("--partition `{text}`: {reason}"));
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| bad("expected I/N, e.g. 0/4 for the first of four shards".into()))?;
        let index: u32 = index
            .trim()
            .parse()
            .map_err(|_| bad(format!("shard number `{index}` is not a whole number")))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| bad(format!("shard count `{count}` is not a whole number")))?;
        if count == 0 {
            return Err(bad("the shard count must be at least 1".into()));
        }
        if index >= count {
            return Err(bad(format!(
                "shard {index} is out of range: shards of {count} are numbered 0 to {}",
                count - 1
            )));
        }
        Ok(Partition { index, count })
    }

    /// The half-open range of a plan of `len` listings this shard ranks.
    pub fn range(self, len: usize) -> std::ops::Range<usize> {
        let bound =
            |shard: u32| (len as u128 * u128::from(shard) / u128::from(self.count)) as usize;
        bound(self.index)..bound(self.index + 1)
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The ids a run ranks, in output order: open listings of the direction's kinds at `now`.
pub fn open_listings(engine: &Engine, direction: Direction, now: Timestamp) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for kind in direction.kinds() {
        ids.extend(engine.store.read(|connection| {
            store::recommendations::open_ids(connection, kind.as_str(), now.unix())
        })?);
    }
    Ok(ids)
}

/// Prepared candidates a run keeps between listings when it may keep up to `most`: all of them
/// while they can hold at least half the listings candidates come from, else none. A listing's
/// candidates are mostly its own, so the share of candidates found in the cache is about the
/// share of that pool it holds. Where that share is small, keeping candidates costs more than it
/// saves: every prepared side outlives its listing and is freed later by another thread
/// (measured at 1 000 000 offers, `docs/batch.md`).
pub fn match_cache_entries(
    engine: &Engine,
    direction: Direction,
    now: Timestamp,
    most: usize,
) -> Result<usize> {
    let mut pool = 0u64;
    for kind in direction.candidate_kinds() {
        pool += engine.store.read(|connection| {
            store::recommendations::count_open(connection, kind.as_str(), now.unix())
        })?;
    }
    Ok(cache_entries_for_pool(pool, most))
}

/// `match_cache_entries` for a pool of `pool` candidate listings.
fn cache_entries_for_pool(pool: u64, most: usize) -> usize {
    if pool <= 2 * most as u64 { most } else { 0 }
}

/// The ids a run (or shard) plans to rank, in output order.
pub fn plan_ids(
    engine: &Engine,
    direction: Direction,
    partition: Option<Partition>,
    now: Timestamp,
) -> Result<Vec<String>> {
    let ids = open_listings(engine, direction, now)?;
    Ok(match partition {
        Some(partition) => ids[partition.range(ids.len())].to_vec(),
        None => ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_kept_only_while_it_can_hold_half_the_pool() {
        assert_eq!(cache_entries_for_pool(0, 65_536), 65_536);
        assert_eq!(cache_entries_for_pool(100_000, 65_536), 65_536);
        assert_eq!(cache_entries_for_pool(131_072, 65_536), 65_536);
        assert_eq!(cache_entries_for_pool(131_073, 65_536), 0);
        assert_eq!(cache_entries_for_pool(1_000_000, 65_536), 0);
        assert_eq!(cache_entries_for_pool(10, 0), 0);
    }

    #[test]
    fn partitions_cover_the_plan_once_in_order() {
        for len in [0usize, 1, 7, 300, 1001] {
            for count in 1..=9u32 {
                let mut next = 0;
                for index in 0..count {
                    let range = Partition { index, count }.range(len);
                    assert_eq!(range.start, next);
                    next = range.end;
                }
                assert_eq!(next, len);
            }
        }
    }

    #[test]
    fn partitions_out_of_range_are_refused_precisely() {
        assert_eq!(
            Partition::parse("1/4").unwrap(),
            Partition { index: 1, count: 4 }
        );
        let message = |text: &str| Partition::parse(text).unwrap_err().to_string();
        assert!(
            message("4/4").contains("shard 4 is out of range: shards of 4 are numbered 0 to 3")
        );
        assert!(message("0/0").contains("at least 1"));
        assert!(message("x/2").contains("`x` is not a whole number"));
        assert!(message("3").contains("expected I/N"));
        assert!(message("-1/2").contains("not a whole number"));
    }

    #[test]
    fn directions_round_trip() {
        for direction in [Direction::Needs, Direction::Offers, Direction::Both] {
            assert_eq!(Direction::parse(direction.as_str()), Some(direction));
        }
        assert_eq!(Direction::parse("all"), None);
    }
}
