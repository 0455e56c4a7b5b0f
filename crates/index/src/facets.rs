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

/// The facet values of one segment, read once from its fast fields and kept: per facet, each
/// document's values as small ordinals into that facet's sorted distinct values. A segment never
/// changes once written (deletions are applied before documents reach the collector), so a table
/// keyed by segment id is never stale, and counting becomes array increments instead of decoding
/// fast fields and hashing values per document.
#[derive(Debug)]
pub struct SegmentFacets {
    facets: Vec<FacetTable>,
    bytes: u64,
}

#[derive(Debug)]
struct FacetTable {
    /// Distinct values in this segment, ascending; an ordinal is a position here.
    values: Vec<u64>,
    /// Per document (when every document has exactly one value) or per value (else).
    ordinals: Vec<u16>,
    /// When documents have zero or several values: document `d`'s ordinals are
    /// `ordinals[starts[d]..starts[d + 1]]`. Empty when there is one value per document.
    starts: Vec<u32>,
}

impl FacetTable {
    fn read(column: &Column<u64>, max_doc: u32) -> Option<FacetTable> {
        let mut per_doc: Vec<u64> = Vec::with_capacity(max_doc as usize);
        let mut starts: Vec<u32> = Vec::with_capacity(max_doc as usize + 1);
        let mut single = true;
        for doc in 0..max_doc {
            starts.push(u32::try_from(per_doc.len()).ok()?);
            let before = per_doc.len();
            per_doc.extend(column.values_for_doc(doc));
            single &= per_doc.len() == before + 1;
        }
        starts.push(u32::try_from(per_doc.len()).ok()?);
        let mut values = per_doc.clone();
        values.sort_unstable();
        values.dedup();
        // Facet values are closed vocabularies (a few hundred at most); anything else is counted
        // the slow way.
        if values.len() > usize::from(u16::MAX) {
            return None;
        }
        let ordinals = per_doc
            .iter()
            .map(|value| values.binary_search(value).expect("value was collected") as u16)
            .collect();
        if single {
            starts = Vec::new();
        }
        Some(FacetTable {
            values,
            ordinals,
            starts,
        })
    }

    fn bytes(&self) -> u64 {
        (self.values.len() * 8 + self.ordinals.len() * 2 + self.starts.len() * 4) as u64
    }
}

impl SegmentFacets {
    fn read(segment: &SegmentReader) -> tantivy::Result<Option<SegmentFacets>> {
        let mut facets = Vec::with_capacity(FACETS.len());
        for (name, _) in FACETS {
            let column = segment.fast_fields().u64(name)?;
            match FacetTable::read(&column, segment.max_doc()) {
                Some(table) => facets.push(table),
                None => return Ok(None),
            }
        }
        let bytes = facets.iter().map(FacetTable::bytes).sum::<u64>() + 64;
        Ok(Some(SegmentFacets { facets, bytes }))
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
        /// Per facet, matching documents per ordinal.
        counts: Vec<Vec<u32>>,
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
            let counts = tables
                .facets
                .iter()
                .map(|table| vec![0u32; table.values.len()])
                .collect();
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
                for (table, counts) in tables.facets.iter().zip(counts.iter_mut()) {
                    if table.starts.is_empty() {
                        counts[usize::from(table.ordinals[doc])] += 1;
                    } else {
                        let (from, to) =
                            (table.starts[doc] as usize, table.starts[doc + 1] as usize);
                        for ordinal in &table.ordinals[from..to] {
                            counts[usize::from(*ordinal)] += 1;
                        }
                    }
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
            FacetSegmentCollector::Tables { tables, counts } => tables
                .facets
                .iter()
                .zip(counts)
                .map(|(table, counts)| {
                    table
                        .values
                        .iter()
                        .zip(counts)
                        .filter(|(_, count)| *count > 0)
                        .map(|(value, count)| (*value, u64::from(count)))
                        .collect()
                })
                .collect(),
            FacetSegmentCollector::Columns { counts, .. } => counts
                .into_iter()
                .map(|counts| counts.into_iter().collect())
                .collect(),
        }
    }
}
