//! The two sides of a match, prepared for the core model: analysed text, keywords, discriminative
//! terms and corpus statistics. Preparing a candidate means re-analysing its whole text, which costs
//! more than finding it, so prepared candidates are cached by the change sequence number of the
//! version they were built from (which never changes meaning) and the searcher generation whose
//! statistics chose their terms (so a cached side is exactly what a fresh one would be).

use std::collections::BTreeMap;
use std::sync::Arc;

use silkmatch_core::matching::{CorpusStats, MatchSide, StructureStats, TermVector};
use silkmatch_core::{Listing, ListingBody};
use tantivy::{Searcher, Term};

use crate::analyzers::Analysis;
use crate::error::Result;
use crate::schema::{Fields, field_texts};

/// A listing's analysed text and its normalised keywords, from the same analyzers the index uses.
pub fn analyse_listing(listing: &Listing) -> (TermVector, BTreeMap<String, String>) {
    analyse_body(&listing.body)
}

/// `analyse_listing` of any listing with this body: the analysis depends on nothing else, so
/// writers store it with the body (`stored_analysis`).
pub(crate) fn analyse_body(body: &ListingBody) -> (TermVector, BTreeMap<String, String>) {
    let mut vector = TermVector::default();
    for (field, analysis, text) in field_texts(body) {
        let terms = analysis.matching_terms(text);
        vector.lengths[field.idx()] += terms.len() as u32;
        for term in terms {
            vector.add(field, term, 1);
        }
    }
    let own = Analysis::for_language(body.language.as_str());
    let keywords = body
        .keywords
        .iter()
        .map(|keyword| (own.matching_terms(keyword).join(" "), keyword.clone()))
        .filter(|(key, _)| !key.is_empty())
        .collect();
    (vector, keywords)
}

/// Corpus statistics for a set of terms, read from one searcher (document frequencies through
/// `doc_freqs`).
pub(crate) fn corpus_stats<'a>(
    searcher: &Searcher,
    doc_freqs: &DocFreqs,
    fields: &Fields,
    terms: impl Iterator<Item = &'a String>,
) -> Result<CorpusStats> {
    let n_docs = searcher.num_docs();
    let mut average_lengths = [0.0f32; 4];
    for (text_field, field) in fields.text_fields() {
        let mut tokens = 0u64;
        for segment in searcher.segment_readers() {
            tokens += segment.inverted_index(field)?.total_num_tokens();
        }
        average_lengths[text_field.idx()] = if n_docs == 0 {
            0.0
        } else {
            tokens as f32 / n_docs as f32
        };
    }
    // One lookup per distinct term, in this thread: a cached frequency costs less than handing
    // the lookups to other threads and merging their maps.
    let mut doc_freq = rustc_hash::FxHashMap::default();
    for term in terms {
        if !doc_freq.contains_key(term) {
            doc_freq.insert(term.clone(), doc_freqs.get(searcher, fields, term)?);
        }
    }
    Ok(CorpusStats {
        n_docs,
        average_lengths,
        doc_freq,
        structure: StructureStats::default(),
    })
}

/// How many listings of `searcher` carry each technology field and NACE section, and each of
/// `keywords` (normalised keys: a key of several terms counts the listings with its rarest term in
/// their keywords). What a shared one says as evidence (`core::matching::StructureStats`) follows.
pub(crate) fn structure_stats<'a>(
    searcher: &Searcher,
    doc_freqs: &DocFreqs,
    fields: &Fields,
    keywords: impl Iterator<Item = &'a String>,
) -> Result<StructureStats> {
    let mut stats = StructureStats::clone(doc_freqs.structure(searcher, fields)?.as_ref());
    for key in keywords {
        if stats.keywords.contains_key(key) {
            continue;
        }
        let mut rarest: Option<u64> = None;
        for term in key.split(' ').filter(|term| !term.is_empty()) {
            let df = searcher.doc_freq(&Term::from_field_text(fields.keywords, term))?;
            rarest = Some(rarest.map_or(df, |seen| seen.min(df)));
        }
        if let Some(df) = rarest {
            stats.keywords.insert(key.clone(), df);
        }
    }
    Ok(stats)
}

/// Document frequencies kept by default: about 80 B each, so some 20 MB.
pub const DEFAULT_DOC_FREQ_ENTRIES: usize = 262_144;

/// Document frequencies of whole-text terms by searcher generation (which names one set of
/// segments, so an entry never goes stale; entries of older generations age out). A match looks up
/// every distinct term of its listing and of each candidate it prepares, one dictionary lookup per
/// index segment each; a batch asks for the same terms again and again.
pub(crate) struct DocFreqs {
    entries: quick_cache::sync::Cache<(u64, String), u64>,
    /// The technology-field and sector counts of one searcher generation (the same for every
    /// request of it: 56 lookups per index segment, which a request would otherwise repeat).
    structure: std::sync::Mutex<Option<(u64, Arc<StructureStats>)>>,
}

impl DocFreqs {
    /// At most `entries` frequencies.
    pub fn new(entries: usize) -> DocFreqs {
        DocFreqs {
            entries: quick_cache::sync::Cache::new(entries.max(1)),
            structure: std::sync::Mutex::new(None),
        }
    }

    /// The number of documents of `searcher` with `term` in the whole text.
    pub fn get(&self, searcher: &Searcher, fields: &Fields, term: &str) -> tantivy::Result<u64> {
        let generation = searcher.generation().generation_id();
        if let Some(doc_freq) = self.entries.get(&TermAt(generation, term)) {
            return Ok(doc_freq);
        }
        let doc_freq = searcher.doc_freq(&Term::from_field_text(fields.body, term))?;
        self.entries.insert((generation, term.to_owned()), doc_freq);
        Ok(doc_freq)
    }

    /// How many listings of `searcher` carry each technology field and NACE section (no keywords).
    pub fn structure(
        &self,
        searcher: &Searcher,
        fields: &Fields,
    ) -> tantivy::Result<Arc<StructureStats>> {
        let generation = searcher.generation().generation_id();
        let mut kept = self
            .structure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((at, stats)) = kept.as_ref()
            && *at == generation
        {
            return Ok(Arc::clone(stats));
        }
        let mut stats = StructureStats {
            listings: searcher.num_docs(),
            ..StructureStats::default()
        };
        for field in 1..=35u8 {
            stats.technology[usize::from(field)] = searcher.doc_freq(&Term::from_field_u64(
                fields.technology_field,
                u64::from(field),
            ))?;
        }
        for (idx, letter) in ('A'..='U').enumerate() {
            stats.sectors[idx] = searcher.doc_freq(&Term::from_field_u64(
                fields.sector,
                crate::schema::pack(&letter.to_string()),
            ))?;
        }
        let stats = Arc::new(stats);
        *kept = Some((generation, Arc::clone(&stats)));
        Ok(stats)
    }

    /// Forgets every frequency (benchmarks measure cold requests with it).
    pub fn clear(&self) {
        self.entries.clear();
        *self
            .structure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

/// A `DocFreqs` key borrowed: a lookup allocates nothing (hashes as the owned key does).
#[derive(Hash)]
struct TermAt<'a>(u64, &'a str);

impl quick_cache::Equivalent<(u64, String)> for TermAt<'_> {
    fn equivalent(&self, key: &(u64, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// Prepared candidates kept by default: about 18 KB each (listing, term vector, keywords, and the
/// decoded listing the search cache keeps beside it; measured as RSS), so some
/// 300 MB; enough for the candidates of a busy day's distinct match requests on a mid-sized corpus.
pub const DEFAULT_SIDE_CACHE_ENTRIES: usize = 16_384;

/// A prepared candidate and the searcher generation whose statistics chose its query terms (and
/// gave their idf, which the terms carry).
pub(crate) struct CachedSide {
    /// Searcher generation whose statistics chose `side.query`.
    pub generation: u64,
    /// The side.
    pub side: Arc<MatchSide>,
}

/// Prepared candidate sides by the change sequence number of the version they were built from.
pub(crate) struct SideCache {
    /// `None` when the cache is off (zero entries).
    entries: Option<quick_cache::sync::Cache<u64, Arc<CachedSide>>>,
}

impl SideCache {
    /// A cache of at most `entries` sides; none at all for 0.
    pub fn new(entries: usize) -> SideCache {
        SideCache {
            entries: (entries > 0).then(|| quick_cache::sync::Cache::new(entries)),
        }
    }

    /// The side of version `seq`, if cached.
    pub fn get(&self, seq: u64) -> Option<Arc<CachedSide>> {
        self.entries.as_ref()?.get(&seq)
    }

    /// Keeps `side`, built from version `seq` under searcher `generation`.
    pub fn insert(&self, seq: u64, generation: u64, side: Arc<MatchSide>) {
        if let Some(entries) = &self.entries {
            entries.insert(seq, Arc::new(CachedSide { generation, side }));
        }
    }

    /// Forgets every side (benchmarks measure cold requests with it).
    pub fn clear(&self) {
        if let Some(entries) = &self.entries {
            entries.clear();
        }
    }
}
