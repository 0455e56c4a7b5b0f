//! A listing's analysed text as the store keeps it beside the listing, written with the body. A
//! match candidate is then prepared by decoding its terms instead of tokenising, folding and
//! stemming its whole text again, which was most of a batch run's time.
//!
//! The bytes are derived data, like the search index: a row without them, or with the bytes of
//! another format or analysis version, is analysed afresh when read, and `silkmatch reindex`
//! rewrites them all. Decoding checks every length and never trusts the bytes: anything malformed
//! reads as "not stored".
//!
//! Layout: a 5-byte header (`FORMAT`, then `ANALYSIS_VERSION` little-endian, which is bumped whenever
//! the analysis changes); the sorted distinct terms of all fields (LEB128 length, UTF-8 bytes); per
//! field in `TextField` order, its token count, its number of distinct terms and, for each, the
//! term's place in that list and its count; then the keywords (normalised, as written).

use std::collections::BTreeMap;

use rayon::prelude::*;
use silkmatch_core::matching::{TermVector, TextField};

use crate::engine::{Engine, Progress};
use crate::error::Result;
use crate::matching::analyse_body;
use crate::store;

/// Bumped whenever the layout changes.
const FORMAT: u8 = 1;

/// Bumped whenever the analysis matching uses changes (it was the index's `SCHEMA_VERSION`, 3,
/// until matching cut Chinese into whole words: 4). Rows stored under another version are analysed
/// afresh when read, and `silkmatch reindex` rewrites them.
pub(crate) const ANALYSIS_VERSION: u32 = 4;

/// The header every analysis stored by this build starts with.
pub(crate) fn header() -> [u8; 5] {
    let version = ANALYSIS_VERSION.to_le_bytes();
    [FORMAT, version[0], version[1], version[2], version[3]]
}

/// The bytes stored for an analysed listing.
pub(crate) fn encode(vector: &TermVector, keywords: &BTreeMap<String, String>) -> Vec<u8> {
    let mut terms: Vec<&str> = vector.counts.keys().map(String::as_str).collect();
    terms.sort_unstable();
    let mut bytes = Vec::with_capacity(64 + terms.iter().map(|term| term.len() + 3).sum::<usize>());
    bytes.extend_from_slice(&header());
    put_varint(&mut bytes, terms.len() as u64);
    for term in &terms {
        put_str(&mut bytes, term);
    }
    for (field, length) in TextField::ALL.into_iter().zip(vector.lengths) {
        put_varint(&mut bytes, u64::from(length));
        let mut entries: Vec<(usize, u32)> = vector
            .field_terms(field)
            .map(|(term, count)| {
                let place = terms
                    .binary_search(&term.as_str())
                    .expect("every term is in the list");
                (place, count)
            })
            .collect();
        entries.sort_unstable();
        put_varint(&mut bytes, entries.len() as u64);
        for (place, count) in entries {
            put_varint(&mut bytes, place as u64);
            put_varint(&mut bytes, u64::from(count));
        }
    }
    put_varint(&mut bytes, keywords.len() as u64);
    for (key, keyword) in keywords {
        put_str(&mut bytes, key);
        put_str(&mut bytes, keyword);
    }
    bytes
}

/// The analysis in `bytes`, or `None` when they are of another format or analysis version, or
/// malformed.
pub(crate) fn decode(bytes: &[u8]) -> Option<(TermVector, BTreeMap<String, String>)> {
    let mut reader = Reader {
        bytes: bytes.strip_prefix(&header())?,
    };
    let n_terms = reader.len()?;
    let mut terms = Vec::with_capacity(n_terms);
    for _ in 0..n_terms {
        terms.push(reader.str()?);
    }
    if terms.windows(2).any(|pair| pair[0] >= pair[1]) {
        return None;
    }
    // Each term's counts, by its place in `terms` (sorted and distinct, as the encoder writes them);
    // every term must have some (the encoder lists only terms that occur, never a zero count).
    let mut counts = vec![[0u32; 4]; terms.len()];
    let mut vector = TermVector::default();
    for (field, length) in TextField::ALL.into_iter().zip(vector.lengths.iter_mut()) {
        *length = u32::try_from(reader.varint()?).ok()?;
        let n = reader.len()?;
        for _ in 0..n {
            let place = usize::try_from(reader.varint()?).ok()?;
            let count = u32::try_from(reader.varint()?).ok()?;
            let slot = &mut counts.get_mut(place)?[field.idx()];
            if count == 0 || *slot != 0 {
                return None;
            }
            *slot = count;
        }
    }
    if counts.contains(&[0; 4]) {
        return None;
    }
    vector.counts.reserve(terms.len());
    vector
        .counts
        .extend(terms.into_iter().map(str::to_owned).zip(counts));
    let n_keywords = reader.len()?;
    let mut keywords = BTreeMap::new();
    for _ in 0..n_keywords {
        let key = reader.str()?.to_owned();
        keywords.insert(key, reader.str()?.to_owned());
    }
    reader.bytes.is_empty().then_some((vector, keywords))
}

/// Listings analysed per store transaction by `Engine::fill_analyses`.
const FILL_BATCH: usize = 2_000;

impl Engine {
    /// Stores the analysis of every listing that has none, or one of another format or analysis
    /// version (a store from before version 5, or a build whose analysis changed). Matching is
    /// correct without them, only slower; `silkmatch reindex` calls this. Returns how many were
    /// written.
    pub fn fill_analyses(&self, progress: Progress<'_>) -> Result<u64> {
        let header = header();
        let total = self
            .store
            .read(|connection| store::listings::count_without_analysis(connection, &header))?;
        let mut after = 0;
        let mut done = 0;
        progress(done, total);
        loop {
            let rows = self.store.read(|connection| {
                store::listings::without_analysis(connection, after, &header, FILL_BATCH)
            })?;
            let Some((last, _)) = rows.last() else { break };
            after = *last;
            let analysed: Vec<(u64, Vec<u8>)> = rows
                .into_par_iter()
                .map(|(seq, body)| {
                    let (vector, keywords) = analyse_body(&body);
                    (seq, encode(&vector, &keywords))
                })
                .collect();
            self.store.write(|transaction| {
                for (seq, bytes) in &analysed {
                    store::listings::set_analysis(transaction, *seq, bytes)?;
                }
                Ok(())
            })?;
            done += analysed.len() as u64;
            progress(done, total);
        }
        Ok(done)
    }
}

fn put_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

fn put_str(bytes: &mut Vec<u8>, text: &str) {
    put_varint(bytes, text.len() as u64);
    bytes.extend_from_slice(text.as_bytes());
}

/// Reads what `encode` wrote, every step bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for (i, byte) in self.bytes.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                return Some(value);
            }
        }
        None
    }

    /// A count of items still to read: never more than the bytes left, so a corrupt count cannot
    /// make the decoder reserve memory the input does not back.
    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.bytes.len()).then_some(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.len()?;
        let (text, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        std::str::from_utf8(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::analyse_listing;

    /// Generated listings in several languages, some with translations.
    fn listings() -> Vec<silkmatch_core::Listing> {
        let config = silkmatch_fixtures::GeneratorConfig {
            offers: 40,
            needs: 40,
            seed: 3,
        };
        silkmatch_fixtures::generate(&config)
            .map(|value| {
                let draft = silkmatch_core::draft_from_value(value).unwrap();
                silkmatch_core::Listing {
                    id: "01JTEST".into(),
                    owner: "o".into(),
                    status: silkmatch_core::Status::Published,
                    version: 1,
                    created_at: silkmatch_core::Timestamp::from_unix(0),
                    updated_at: silkmatch_core::Timestamp::from_unix(0),
                    published_at: None,
                    expires_at: None,
                    body: silkmatch_core::validate(&draft).unwrap().body,
                }
            })
            .collect()
    }

    fn at(day: i64) -> silkmatch_core::Timestamp {
        silkmatch_core::Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .plus_days(day)
    }

    /// An engine holding the generated listings, published.
    fn engine(dir: &std::path::Path) -> Engine {
        let engine = Engine::open(dir).unwrap();
        let writes = listings()
            .into_iter()
            .map(|listing| crate::Write::Upsert {
                owner: crate::Owner::FromListing,
                validated: silkmatch_core::Validated {
                    body: listing.body,
                    status: Some(silkmatch_core::Status::Published),
                },
            })
            .collect();
        for outcome in engine
            .write(writes, at(0), crate::IndexCommit::Now)
            .unwrap()
        {
            outcome.unwrap();
        }
        engine
    }

    fn stored_rows(engine: &Engine) -> Vec<store::ListingRow> {
        let seqs: Vec<u64> = engine
            .store
            .read(|c| store::listings::changed_since(c, 0, 1_000))
            .unwrap()
            .iter()
            .map(|row| row.seq)
            .collect();
        engine
            .store
            .read(|c| store::listings::get_many_by_seq(c, &seqs, store::Columns::WithAnalysis))
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect()
    }

    /// Every stored row carries exactly the analysis of its listing.
    fn assert_every_analysis_is_current(engine: &Engine) {
        for row in stored_rows(engine) {
            let stored = row.analysis.as_deref().and_then(decode);
            assert_eq!(
                stored,
                Some(analyse_listing(&row.listing)),
                "{}",
                row.listing.id
            );
        }
    }

    /// What matching says for every listing, explanations included.
    fn all_matches(engine: &Engine) -> Vec<String> {
        let request = crate::matching::MatchRequest::default();
        stored_rows(engine)
            .iter()
            .map(|row| {
                let found = engine.matches_for(&row.listing, &request, at(1)).unwrap();
                serde_json::to_string(&found).unwrap()
            })
            .collect()
    }

    #[test]
    fn matching_on_stored_analyses_equals_matching_on_fresh_ones_and_reindex_refills_them() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        assert_every_analysis_is_current(&engine);
        let stored = all_matches(&engine);
        assert!(stored.iter().any(|found| found.contains("\"explanation\"")));

        // Half the rows get an analysis of another analysis version, a quarter lose theirs, and a
        // quarter hold text instead: every candidate is analysed afresh, with the same matches.
        engine
            .store
            .write(|t| {
                t.execute_batch(
                    "UPDATE listings SET analysis = CAST(X'01FFFFFFFF' || substr(analysis, 6) AS BLOB) WHERE seq % 2 = 1;
                     UPDATE listings SET analysis = NULL WHERE seq % 4 = 0;
                     UPDATE listings SET analysis = 'not bytes' WHERE seq % 4 = 2;",
                )?;
                Ok(())
            })
            .unwrap();
        engine.clear_caches();
        let fresh = all_matches(&engine);
        assert_eq!(fresh.len(), stored.len());
        for (i, (fresh, stored)) in fresh.iter().zip(&stored).enumerate() {
            assert!(
                fresh == stored,
                "listing {i} matches otherwise when analysed afresh"
            );
        }

        assert_eq!(engine.fill_analyses(&|_, _| {}).unwrap(), 80);
        assert_eq!(engine.fill_analyses(&|_, _| {}).unwrap(), 0);
        assert_every_analysis_is_current(&engine);
    }

    #[test]
    fn a_status_change_keeps_the_analysis_and_a_new_body_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let row = stored_rows(&engine).remove(0);
        let target = crate::Target {
            owner: row.listing.owner.clone(),
            id: row.listing.id.clone(),
            expected_version: None,
        };
        let withdraw = crate::Write::Withdraw {
            target: target.clone(),
        };
        engine
            .write(vec![withdraw], at(1), crate::IndexCommit::Now)
            .unwrap()
            .remove(0)
            .unwrap();
        let withdrawn = engine
            .store
            .read(|c| {
                store::listings::get_many(
                    c,
                    std::slice::from_ref(&row.listing.id),
                    store::Columns::WithAnalysis,
                )
            })
            .unwrap()
            .remove(0);
        assert_ne!(withdrawn.seq, row.seq);
        assert_eq!(withdrawn.analysis, row.analysis);

        let mut body = row.listing.body.clone();
        body.title = "Solar water pumps for arid farms".into();
        body.keywords = vec!["photovoltaic irrigation".into()];
        let replace = crate::Write::Replace {
            target,
            validated: silkmatch_core::Validated { body, status: None },
        };
        engine
            .write(vec![replace], at(2), crate::IndexCommit::Now)
            .unwrap()
            .remove(0)
            .unwrap();
        assert_every_analysis_is_current(&engine);
    }

    #[test]
    fn decoding_gives_back_the_analysis_of_every_fixture_listing() {
        let listings = listings();
        assert_eq!(listings.len(), 80);
        let languages: std::collections::BTreeSet<&str> = listings
            .iter()
            .map(|listing| listing.body.language.as_str())
            .collect();
        assert!(languages.len() >= 3, "{languages:?}");
        for listing in &listings {
            let (vector, keywords) = analyse_listing(listing);
            let bytes = encode(&vector, &keywords);
            assert_eq!(decode(&bytes), Some((vector, keywords)));
        }
    }

    #[test]
    fn other_versions_and_damaged_bytes_read_as_not_stored() {
        let (vector, keywords) = analyse_listing(&listings()[0]);
        let bytes = encode(&vector, &keywords);
        let mut other_version = bytes.clone();
        other_version[1] ^= 1;
        assert_eq!(decode(&other_version), None);
        let mut other_format = bytes.clone();
        other_format[0] = FORMAT + 1;
        assert_eq!(decode(&other_format), None);
        // Every truncation, and trailing bytes, are refused without panicking.
        for end in 0..bytes.len() {
            assert_eq!(decode(&bytes[..end]), None, "truncated at {end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        // Hand-made bytes the encoder never writes: a term listed twice, out of order, without
        // any count, or with a zero count, or a count given twice for one field.
        let handmade = |terms: &[&str], entries: &[(u64, u64)]| {
            let mut bytes = header().to_vec();
            put_varint(&mut bytes, terms.len() as u64);
            for term in terms {
                put_str(&mut bytes, term);
            }
            for field in 0..4 {
                put_varint(&mut bytes, 1);
                let entries: &[(u64, u64)] = if field == 2 { entries } else { &[] };
                put_varint(&mut bytes, entries.len() as u64);
                for (place, count) in entries {
                    put_varint(&mut bytes, *place);
                    put_varint(&mut bytes, *count);
                }
            }
            put_varint(&mut bytes, 0);
            bytes
        };
        assert!(decode(&handmade(&["a", "b"], &[(0, 1), (1, 2)])).is_some());
        assert_eq!(decode(&handmade(&["a", "a"], &[(0, 1), (1, 2)])), None);
        assert_eq!(decode(&handmade(&["b", "a"], &[(0, 1), (1, 2)])), None);
        assert_eq!(decode(&handmade(&["a", "b"], &[(0, 1)])), None);
        assert_eq!(decode(&handmade(&["a", "b"], &[(0, 1), (1, 0)])), None);
        assert_eq!(
            decode(&handmade(&["a", "b"], &[(0, 1), (0, 2), (1, 1)])),
            None
        );
        assert_eq!(decode(&handmade(&["a", "b"], &[(0, 1), (2, 1)])), None);
        // Flipped bytes either decode to something or are refused; never a panic.
        for at in header().len()..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xff;
            let _ = decode(&flipped);
        }
    }
}
