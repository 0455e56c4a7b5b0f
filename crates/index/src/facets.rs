//! Facet counts: how many matching listings per country, technology field, sector, cooperation type,
//! readiness level and language. Computed from fast fields in the same pass as the top hits.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, SegmentReader};

use crate::schema::unpack;

/// The facets every search returns, by name of the search parameter that filters on them.
const FACETS: [(&str, Decode); 6] = [
    ("country", Decode::Packed),
    ("technology_field", Decode::Number),
    ("sector", Decode::Packed),
    ("cooperation", Decode::Cooperation),
    ("trl", Decode::Number),
    ("language", Decode::Packed),
];

#[derive(Debug, Clone, Copy)]
enum Decode {
    Packed,
    Number,
    Cooperation,
}

impl Decode {
    fn label(self, value: u64) -> String {
        match self {
            Decode::Packed => unpack(value),
            Decode::Number => value.to_string(),
            Decode::Cooperation => silkmatch_core::Cooperation::ALL
                .get(value as usize)
                .map_or_else(
                    || value.to_string(),
                    |cooperation| cooperation.as_str().to_owned(),
                ),
        }
    }
}

/// One facet value and how many matching listings carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// The value as the filter parameter spells it (`CN`, `13`, `licence`).
    pub value: String,
    /// Matching listings with that value.
    pub count: u64,
}

/// Facet name → values, most frequent first (ties by value).
pub type Facets = BTreeMap<String, Vec<FacetCount>>;

/// Per-segment facet tables kept across searches: about 16 bytes per listing of the segment.
/// Bounded by bytes; a segment dropped by a merge simply ages out.
pub const DEFAULT_FACET_TABLE_BYTES: u64 = 256 * 1024 * 1024;

/// The facet values of one segment, read once from its fast fields and kept: each document's
/// values of every facet, side by side, as small ordinals into the segment's distinct (facet, value)
/// pairs. A segment never changes once written (deletions are applied before documents reach the
/// collector), so a table keyed by segment id is never stale, and counting a document is one short
/// run of increments into one small array, instead of decoding six fast fields and hashing values.
#[derive(Debug)]
pub struct SegmentFacets {
    /// Document `d`'s ordinals are `ordinals[starts[d]..starts[d + 1]]`.
    starts: Vec<u32>,
    /// Every document's ordinals, all facets together.
    ordinals: Vec<u16>,
    /// Ordinal → (facet, value); ordinals of one facet are contiguous and ascending by value.
    values: Vec<(usize, u64)>,
    bytes: u64,
}

impl SegmentFacets {
    /// `None` if the segment has more distinct facet values than ordinals can name (facet values
    /// are closed vocabularies, a few hundred in all, so never in practice).
    fn read(segment: &SegmentReader) -> tantivy::Result<Option<SegmentFacets>> {
        let max_doc = segment.max_doc() as usize;
        let mut values: Vec<(usize, u64)> = Vec::new();
        // Per facet: the document boundaries and the values, as read.
        let mut read: Vec<(Vec<u32>, Vec<u64>)> = Vec::with_capacity(FACETS.len());
        for (facet_idx, (name, _)) in FACETS.iter().enumerate() {
            let column = segment.fast_fields().u64(name)?;
            let mut starts = Vec::with_capacity(max_doc + 1);
            let mut per_doc = Vec::with_capacity(max_doc);
            for doc in 0..max_doc as DocId {
                starts.push(per_doc.len() as u32);
                per_doc.extend(column.values_for_doc(doc));
            }
            starts.push(per_doc.len() as u32);
            let mut distinct = per_doc.clone();
            distinct.sort_unstable();
            distinct.dedup();
            values.extend(distinct.into_iter().map(|value| (facet_idx, value)));
            read.push((starts, per_doc));
        }
        if values.len() > usize::from(u16::MAX) + 1 {
            return Ok(None);
        }
        let total: usize = read.iter().map(|(_, per_doc)| per_doc.len()).sum();
        if u32::try_from(total).is_err() {
            return Ok(None);
        }
        let mut starts = Vec::with_capacity(max_doc + 1);
        let mut ordinals = Vec::with_capacity(total);
        for doc in 0..max_doc {
            starts.push(ordinals.len() as u32);
            for (facet_idx, (facet_starts, per_doc)) in read.iter().enumerate() {
                for value in &per_doc[facet_starts[doc] as usize..facet_starts[doc + 1] as usize] {
                    let ordinal = values
                        .binary_search(&(facet_idx, *value))
                        .expect("every value read is listed");
                    ordinals.push(ordinal as u16);
                }
            }
        }
        starts.push(ordinals.len() as u32);
        let bytes = (starts.len() * 4 + ordinals.len() * 2 + values.len() * 16 + 64) as u64;
        Ok(Some(SegmentFacets {
            starts,
            ordinals,
            values,
            bytes,
        }))
    }
}

#[derive(Clone)]
struct TableBytes;

impl quick_cache::Weighter<SegmentId, Arc<SegmentFacets>> for TableBytes {
    fn weight(&self, _: &SegmentId, tables: &Arc<SegmentFacets>) -> u64 {
        tables.bytes
    }
}

/// Facet tables by segment, shared by every search of an engine.
pub struct FacetTables {
    tables: quick_cache::sync::Cache<SegmentId, Arc<SegmentFacets>, TableBytes>,
}

impl FacetTables {
    /// Tables of at most `bytes` in all.
    pub fn new(bytes: u64) -> FacetTables {
        FacetTables {
            tables: quick_cache::sync::Cache::with_weighter(64, bytes.max(1), TableBytes),
        }
    }

    /// Forgets every table (they are rebuilt on the next search).
    pub fn clear(&self) {
        self.tables.clear();
    }

    fn for_segment(&self, segment: &SegmentReader) -> tantivy::Result<Option<Arc<SegmentFacets>>> {
        let id = segment.segment_id();
        if let Some(tables) = self.tables.get(&id) {
            return Ok(Some(tables));
        }
        let Some(tables) = SegmentFacets::read(segment)? else {
            return Ok(None);
        };
        let tables = Arc::new(tables);
        self.tables.insert(id, Arc::clone(&tables));
        Ok(Some(tables))
    }
}

/// Counts facet values over every document the query matches.
pub struct FacetCollector<'a> {
    /// Where per-segment tables are kept between searches.
    pub tables: &'a FacetTables,
}

/// Per-segment state of `FacetCollector`.
pub enum FacetSegmentCollector {
    /// Counting by ordinal into arrays, from the segment's tables.
    Tables {
        /// The segment's tables.
        tables: Arc<SegmentFacets>,
        /// Matching documents per ordinal.
        counts: Vec<u32>,
    },
    /// Reading fast fields per document (only if a facet had more distinct values than fit a table).
    Columns {
        /// The facets' columns.
        columns: Vec<Column<u64>>,
        /// Per facet, value → matching documents.
        counts: Vec<BTreeMap<u64, u64>>,
    },
}

impl Collector for FacetCollector<'_> {
    type Fruit = Facets;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetSegmentCollector> {
        if let Some(tables) = self.tables.for_segment(segment)? {
            let counts = vec![0u32; tables.values.len()];
            return Ok(FacetSegmentCollector::Tables { tables, counts });
        }
        let columns = FACETS
            .iter()
            .map(|(name, _)| segment.fast_fields().u64(name))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(FacetSegmentCollector::Columns {
            counts: vec![BTreeMap::new(); columns.len()],
            columns,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Vec<Vec<(u64, u64)>>>) -> tantivy::Result<Facets> {
        let mut merged = vec![BTreeMap::<u64, u64>::new(); FACETS.len()];
        for segment in segments {
            for (facet_idx, counts) in segment.into_iter().enumerate() {
                for (value, count) in counts {
                    *merged[facet_idx].entry(value).or_insert(0) += count;
                }
            }
        }
        Ok(FACETS
            .iter()
            .zip(merged)
            .map(|((name, decode), counts)| {
                let mut values: Vec<FacetCount> = counts
                    .into_iter()
                    .map(|(value, count)| FacetCount {
                        value: decode.label(value),
                        count,
                    })
                    .collect();
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                (name.to_string(), values)
            })
            .collect())
    }
}

impl SegmentCollector for FacetSegmentCollector {
    /// Per facet, (value, matching documents) for values that matched at least once.
    type Fruit = Vec<Vec<(u64, u64)>>;

    #[inline]
    fn collect(&mut self, doc: DocId, _score: Score) {
        match self {
            FacetSegmentCollector::Tables { tables, counts } => {
                let doc = doc as usize;
                let (from, to) = (tables.starts[doc] as usize, tables.starts[doc + 1] as usize);
                for ordinal in &tables.ordinals[from..to] {
                    counts[usize::from(*ordinal)] += 1;
                }
            }
            FacetSegmentCollector::Columns { columns, counts } => {
                for (column, counts) in columns.iter().zip(counts.iter_mut()) {
                    for value in column.values_for_doc(doc) {
                        *counts.entry(value).or_insert(0) += 1;
                    }
                }
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        match self {
            FacetSegmentCollector::Tables { tables, counts } => {
                let mut fruit = vec![Vec::new(); FACETS.len()];
                for ((facet_idx, value), count) in tables.values.iter().zip(counts) {
                    if count > 0 {
                        fruit[*facet_idx].push((*value, u64::from(count)));
                    }
                }
                fruit
            }
            FacetSegmentCollector::Columns { counts, .. } => counts
                .into_iter()
                .map(|counts| counts.into_iter().collect())
                .collect(),
        }
    }
}
