//! Facet counts: how many matching listings per country, technology field, sector, cooperation type,
//! readiness level and language. Computed from fast fields in the same pass as the top hits.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
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

/// A multiply-shift hasher for the small integer codes counted here: SipHash's resistance to
/// hash flooding buys nothing for codes the index wrote, and costs most of the counting time.
#[derive(Default)]
/// The hasher of `Counts`.
pub struct CodeHasher(u64);

impl Hasher for CodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (value ^ (value >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Facet value → matching documents.
pub type Counts = HashMap<u64, u64, BuildHasherDefault<CodeHasher>>;

/// Counts facet values over every document the query matches.
pub struct FacetCollector;

/// Per-segment state of `FacetCollector`.
pub struct FacetSegmentCollector {
    columns: Vec<Column<u64>>,
    counts: Vec<Counts>,
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetSegmentCollector> {
        let columns = FACETS
            .iter()
            .map(|(name, _)| segment.fast_fields().u64(name))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(FacetSegmentCollector {
            counts: vec![Counts::default(); columns.len()],
            columns,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Vec<Counts>>) -> tantivy::Result<Facets> {
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
    type Fruit = Vec<Counts>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        for (column, counts) in self.columns.iter().zip(self.counts.iter_mut()) {
            for value in column.values_for_doc(doc) {
                *counts.entry(value).or_insert(0) += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.counts
    }
}
