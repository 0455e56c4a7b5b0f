//! `Filters` as a check of one document at a time. `query::filter_clauses` answers "which documents
//! pass?" by walking the postings (and range-scanning the columns) of every filter, per request, in
//! proportion to the corpus; this answers "does this document pass?" with one bit test, so matching's
//! candidate scan (`matching::term_scan`) applies the hard constraints to each posting it reads, before
//! its top is cut. Both must agree on every document: a test compares them.
//!
//! The bits come from `ValueBits`: per segment, the documents holding one value of one enumerated
//! field, read once from its postings and kept (a segment never changes once written), combined (a
//! union within a filter, an intersection across filters) in a few word operations per 64
//! documents, and the combination kept too, since a batch asks for the same few again and again.
//! What is not in the bits is checked only on the documents a caller keeps (`allows`): expiry, which
//! depends on the request's moment, from its column; the excluded id and owner, from a short sorted
//! list; deleted documents, from the segment's alive bits.

use std::sync::Arc;

use fixedbitset::FixedBitSet;
use silkmatch_core::{Ipr, OrganisationKind, Status, Timestamp, Trl};
use tantivy::columnar::Column;
use tantivy::fastfield::AliveBitSet;
use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, SegmentReader, TERMINATED, Term};

use crate::query::Filters;
use crate::schema::{ANYWHERE, Fields, cooperation_code, kind_code, pack, position, status_code};

/// `Filters` at one moment, with every value turned into the code the index stores.
#[derive(Debug, Clone)]
pub(crate) struct FilterCheck {
    fields: Fields,
    now: i64,
    /// Every filter but expiry and exclusions: per field, the values of which a document needs one
    /// (readiness ranges as their levels, "published" as a status); fields in a fixed order and
    /// values sorted, so equal filters give equal keys into `ValueBits`.
    groups: Groups,
    /// Terms whose documents never pass (an excluded id or owner).
    excluded: Vec<Term>,
}

/// Per field, the values of which a document needs one.
type Groups = Vec<(Field, Vec<u64>)>;

/// A `FilterCheck` bound to one segment.
pub(crate) struct SegmentCheck {
    /// Documents passing every filter but expiry and exclusions (deleted ones included).
    allowed: Arc<FixedBitSet>,
    /// Documents of the excluded ids and owners, ascending.
    excluded: Vec<DocId>,
    expires_at: Column<i64>,
    now: i64,
    alive: Option<AliveBitSet>,
}

impl FilterCheck {
    /// The check `query::filter_clauses(fields, filters, now)` stands for.
    pub(crate) fn new(fields: &Fields, filters: &Filters, now: Timestamp) -> FilterCheck {
        // A filter with no values filters nothing.
        let mut groups: Groups = Vec::new();
        let mut push = |field: Field, accepted: Vec<u64>| {
            if !accepted.is_empty() {
                groups.push((field, accepted));
            }
        };
        push(
            fields.kind,
            filters.kind.map(kind_code).into_iter().collect(),
        );
        push(
            fields.country,
            filters.countries.iter().map(|c| pack(c.as_str())).collect(),
        );
        push(
            fields.technology_field,
            filters
                .technology_fields
                .iter()
                .map(|field| u64::from(field.get()))
                .collect(),
        );
        push(
            fields.sector,
            filters
                .sectors
                .iter()
                .map(|sector| pack(&sector.to_string()))
                .collect(),
        );
        push(
            fields.cooperation,
            filters
                .cooperation
                .iter()
                .map(|cooperation| cooperation_code(*cooperation))
                .collect(),
        );
        push(
            fields.language,
            filters.languages.iter().map(|l| pack(l.as_str())).collect(),
        );
        push(
            fields.ipr,
            filters
                .ipr
                .iter()
                .map(|ipr| position(Ipr::ALL, *ipr))
                .collect(),
        );
        push(
            fields.organisation_kind,
            filters
                .organisation_kinds
                .iter()
                .map(|kind| position(OrganisationKind::ALL, *kind))
                .collect(),
        );
        push(
            fields.sdg,
            filters
                .sdgs
                .iter()
                .map(|sdg| u64::from(sdg.get()))
                .collect(),
        );
        if !filters.open_to_countries.is_empty() {
            push(
                fields.target_country,
                filters
                    .open_to_countries
                    .iter()
                    .map(|country| pack(country.as_str()))
                    .chain([ANYWHERE])
                    .collect(),
            );
        }
        push(fields.status, vec![status_code(Status::Published)]);
        if filters.trl_min.is_some() || filters.trl_max.is_some() {
            // Readiness levels are 1 to 9: a range is the union of the levels in it.
            let low = filters.trl_min.map_or(0, |trl| u64::from(trl.get()));
            let high = filters.trl_max.map_or(u64::MAX, |trl| u64::from(trl.get()));
            let levels = Trl::RANGE
                .map(u64::from)
                .filter(|level| (low..=high).contains(level))
                .collect();
            // An empty range passes nothing: kept as a group with no values, not dropped.
            groups.push((fields.trl, levels));
        }
        for (_, accepted) in &mut groups {
            accepted.sort_unstable();
            accepted.dedup();
        }
        groups.sort();
        let excluded = filters
            .exclude_ids
            .iter()
            .map(|id| Term::from_field_text(fields.id, id))
            .chain(
                filters
                    .exclude_owners
                    .iter()
                    .map(|owner| Term::from_field_text(fields.owner, owner)),
            )
            .collect();
        FilterCheck {
            fields: fields.clone(),
            now: now.unix(),
            groups,
            excluded,
        }
    }

    /// Binds the check to `reader`, with the value bits of `bits`.
    pub(crate) fn for_segment(
        &self,
        reader: &SegmentReader,
        bits: &ValueBits,
    ) -> tantivy::Result<SegmentCheck> {
        let allowed = bits.all_of(reader, &self.groups)?;
        let mut excluded = Vec::new();
        for term in &self.excluded {
            let inverted = reader.inverted_index(term.field())?;
            if let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)? {
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    excluded.push(doc);
                    doc = postings.advance();
                }
            }
        }
        excluded.sort_unstable();
        Ok(SegmentCheck {
            allowed,
            excluded,
            expires_at: reader
                .fast_fields()
                .i64(reader.schema().get_field_name(self.fields.expires_at))?,
            now: self.now,
            alive: reader.alive_bitset().cloned(),
        })
    }
}

impl SegmentCheck {
    /// Whether `doc` passes every filter but expiry, exclusions and deletion: one bit test, for a
    /// scan that looks at many documents and keeps few (`allows` decides for those it keeps).
    pub(crate) fn may_pass(&self, doc: DocId) -> bool {
        self.allowed.contains(doc as usize)
    }

    /// Whether `doc` is alive and passes every filter.
    pub(crate) fn allows(&self, doc: DocId) -> bool {
        self.allowed.contains(doc as usize)
            && self.expires_at.first(doc).is_some_and(|at| at > self.now)
            && self.alive.as_ref().is_none_or(|alive| alive.is_alive(doc))
            && self.excluded.binary_search(&doc).is_err()
    }
}

/// Bounds `ValueBits` by bytes; a segment dropped by a merge ages out.
pub const DEFAULT_VALUE_BITS_BYTES: u64 = 128 * 1024 * 1024;

/// What a set of `ValueBits` holds, in one segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BitsKey {
    /// The documents whose field holds the value.
    Value(SegmentId, Field, u64),
    /// The documents that hold one of the values of every group.
    AllOf(SegmentId, Groups),
}

#[derive(Clone)]
struct BitsBytes;

impl quick_cache::Weighter<BitsKey, Arc<FixedBitSet>> for BitsBytes {
    fn weight(&self, _: &BitsKey, bits: &Arc<FixedBitSet>) -> u64 {
        (bits.len() / 8 + 64) as u64
    }
}

/// Per segment, the documents that hold one value of one indexed `u64` field, and the combinations
/// of them requests asked for (a batch asks for the same few again and again), kept between
/// requests and shared by every match of an engine.
pub(crate) struct ValueBits {
    bits: quick_cache::sync::Cache<BitsKey, Arc<FixedBitSet>, BitsBytes>,
}

impl ValueBits {
    /// Bits of at most `bytes` in all.
    pub(crate) fn new(bytes: u64) -> ValueBits {
        ValueBits {
            bits: quick_cache::sync::Cache::with_weighter(1024, bytes.max(1), BitsBytes),
        }
    }

    /// Forgets every set (they are read again on the next request).
    pub(crate) fn clear(&self) {
        self.bits.clear();
    }

    /// The documents of `reader` that hold one of the values of every group (deleted ones
    /// included).
    fn all_of(&self, reader: &SegmentReader, groups: &Groups) -> tantivy::Result<Arc<FixedBitSet>> {
        let key = BitsKey::AllOf(reader.segment_id(), groups.clone());
        if let Some(bits) = self.bits.get(&key) {
            return Ok(bits);
        }
        let mut all = FixedBitSet::with_capacity(reader.max_doc() as usize);
        all.insert_range(..);
        let mut any = FixedBitSet::with_capacity(reader.max_doc() as usize);
        for (field, values) in groups {
            any.clear();
            for value in values {
                any.union_with(&*self.get(reader, *field, *value)?);
            }
            all.intersect_with(&any);
        }
        let all = Arc::new(all);
        self.bits.insert(key, Arc::clone(&all));
        Ok(all)
    }

    /// The documents of `reader` whose `field` holds `value` (deleted ones included).
    fn get(
        &self,
        reader: &SegmentReader,
        field: Field,
        value: u64,
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        let key = BitsKey::Value(reader.segment_id(), field, value);
        if let Some(bits) = self.bits.get(&key) {
            return Ok(bits);
        }
        let mut bits = FixedBitSet::with_capacity(reader.max_doc() as usize);
        let term = Term::from_field_u64(field, value);
        if let Some(mut postings) = reader
            .inverted_index(field)?
            .read_postings(&term, IndexRecordOption::Basic)?
        {
            let mut doc = postings.doc();
            while doc != TERMINATED {
                bits.insert(doc as usize);
                doc = postings.advance();
            }
        }
        let bits = Arc::new(bits);
        self.bits.insert(key, Arc::clone(&bits));
        Ok(bits)
    }
}
