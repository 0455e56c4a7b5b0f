//! The in-memory vector index: every current listing vector as 8-bit codes, searched exactly.
//!
//! Exact search over 8-bit codes was chosen over a graph index (HNSW): it is deterministic (the
//! nightly batch must give byte-identical output on a resumed run, and graph construction depends on
//! insertion order and random levels), it takes any filter as an allowed set before top-k with no
//! loss of recall, and at this project's sizes (10^5–10^6 listings of 384 dimensions, 388 bytes each)
//! a scan of the allowed set costs milliseconds. The codes only choose a shortlist (4 × k); the
//! full vectors, kept beside them, order it, so near-ties are settled exactly. Recall against exact
//! `f32` search is measured in the tests and in `benches/dense.rs`.

use std::collections::BinaryHeap;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// A listing version's vector: the change sequence number it stands for and the unit vector.
pub type Entry<'a> = (u64, &'a str, &'a [f32]);

/// Codes scanned per parallel task.
const SCAN_CHUNK: usize = 16_384;

/// Unit vectors quantised to `i8` with one scale each (`x ≈ code × scale`), addressed by the change
/// sequence number of the listing version they stand for.
#[derive(Default)]
pub struct VectorIndex {
    dimensions: usize,
    codes: Vec<i8>,
    scales: Vec<f32>,
    /// The full-precision vectors, to rescore the best by codes exactly.
    exact: Vec<f32>,
    /// Slot → the `seq` it stands for.
    seqs: Vec<u64>,
    /// `seq` → slot.
    by_seq: FxHashMap<u64, u32>,
    /// Listing id → slot: a listing keeps its slot when its vector moves to a newer version.
    by_listing: FxHashMap<String, u32>,
}

/// An allowed set of change sequence numbers (the documents a filter matched), as a bitset.
#[derive(Debug, Clone, Default)]
pub struct SeqSet {
    words: Vec<u64>,
    len: usize,
}

impl SeqSet {
    /// Adds a sequence number.
    pub fn insert(&mut self, seq: u64) {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        if self.words[word] & (1 << bit) == 0 {
            self.words[word] |= 1 << bit;
            self.len += 1;
        }
    }

    /// Whether a sequence number is in the set.
    pub fn contains(&self, seq: u64) -> bool {
        self.words
            .get((seq / 64) as usize)
            .is_some_and(|word| word & (1 << (seq % 64)) != 0)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().enumerate().flat_map(|(index, word)| {
            let mut word = *word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let bit = word.trailing_zeros();
                word &= word - 1;
                Some(index as u64 * 64 + u64::from(bit))
            })
        })
    }

    /// Adds every member of another set.
    pub fn union_with(&mut self, other: &SeqSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (word, theirs) in self.words.iter_mut().zip(&other.words) {
            *word |= theirs;
        }
        self.len = self
            .words
            .iter()
            .map(|word| word.count_ones() as usize)
            .sum();
    }
}

/// A quantised unit vector, with the vector itself for exact rescoring.
pub struct Code {
    codes: Vec<i8>,
    scale: f32,
    exact: Vec<f32>,
}

/// Quantises a vector to `i8` codes with one scale (its largest magnitude maps to 127).
pub fn quantise(vector: &[f32]) -> Code {
    let largest = vector
        .iter()
        .fold(0.0f32, |max, value| max.max(value.abs()));
    let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
    Code {
        codes: vector
            .iter()
            .map(|value| (value / scale).round().clamp(-127.0, 127.0) as i8)
            .collect(),
        scale,
        exact: vector.to_vec(),
    }
}

fn dot(a: &[i8], b: &[i8]) -> i32 {
    // Sixteen independent lanes of `i16` products widened to `i32`: a shape the compiler turns into
    // packed multiply-adds even for the baseline x86-64 target.
    let mut lanes = [0i32; 16];
    let (a_chunks, b_chunks) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| i32::from(i16::from(*x) * i16::from(*y)))
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..16 {
            lanes[lane] += i32::from(i16::from(x[lane]) * i16::from(y[lane]));
        }
    }
    lanes.iter().sum::<i32>() + tail
}

/// A scored vector for the heap: higher similarity first, ties to the lower `seq`.
#[derive(PartialEq)]
struct Scored(f32, u64);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    /// "Greater" means worse, so a max-heap keeps the worst of the best `k` on top.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .0
            .total_cmp(&self.0)
            .then_with(|| self.1.cmp(&other.1))
    }
}

impl VectorIndex {
    /// An empty index of vectors of `dimensions`.
    pub fn new(dimensions: usize) -> VectorIndex {
        VectorIndex {
            dimensions,
            ..VectorIndex::default()
        }
    }

    /// Vector length.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// Number of listings with a vector.
    pub fn len(&self) -> usize {
        self.by_listing.len()
    }

    /// Whether no listing has a vector.
    pub fn is_empty(&self) -> bool {
        self.by_listing.is_empty()
    }

    /// Bytes held by the codes and their bookkeeping (for `stats` and the docs).
    pub fn memory_bytes(&self) -> usize {
        self.codes.len()
            + self.exact.len() * 4
            + self.scales.len() * 4
            + self.seqs.len() * 8
            + self.by_seq.len() * 16
            + self.by_listing.len() * 56
    }

    /// Sets a listing's vector as standing for version `seq`; its older version's is dropped.
    pub fn put(&mut self, (seq, listing_id, vector): Entry<'_>) {
        debug_assert_eq!(vector.len(), self.dimensions);
        let code = quantise(vector);
        match self.by_listing.get(listing_id) {
            Some(&slot) => {
                let start = slot as usize * self.dimensions;
                self.codes[start..start + self.dimensions].copy_from_slice(&code.codes);
                self.exact[start..start + self.dimensions].copy_from_slice(vector);
                self.scales[slot as usize] = code.scale;
                self.by_seq.remove(&self.seqs[slot as usize]);
                self.seqs[slot as usize] = seq;
                self.by_seq.insert(seq, slot);
            }
            None => {
                let slot = self.seqs.len() as u32;
                self.codes.extend_from_slice(&code.codes);
                self.exact.extend_from_slice(vector);
                self.scales.push(code.scale);
                self.seqs.push(seq);
                self.by_seq.insert(seq, slot);
                self.by_listing.insert(listing_id.to_owned(), slot);
            }
        }
    }

    /// How many the codes pass on to exact rescoring for a top `k`.
    fn shortlist(&self, k: usize) -> usize {
        (4 * k).max(k + 64)
    }

    fn code(&self, slot: u32) -> &[i8] {
        let start = slot as usize * self.dimensions;
        &self.codes[start..start + self.dimensions]
    }

    fn exact_similarity(&self, query: &Code, slot: u32) -> f32 {
        let start = slot as usize * self.dimensions;
        query
            .exact
            .iter()
            .zip(&self.exact[start..start + self.dimensions])
            .map(|(a, b)| a * b)
            .sum()
    }

    /// The code of version `seq`, as `quantise` made it from the stored vector, if it has one.
    pub fn code_at(&self, seq: u64) -> Option<Code> {
        self.code_of_slot(*self.by_seq.get(&seq)?)
    }

    /// The code of the newest vector a listing has (which may stand for an older version).
    pub fn code_of_listing(&self, listing_id: &str) -> Option<Code> {
        self.code_of_slot(*self.by_listing.get(listing_id)?)
    }

    fn code_of_slot(&self, slot: u32) -> Option<Code> {
        let slot = slot as usize;
        let range = slot * self.dimensions..(slot + 1) * self.dimensions;
        Some(Code {
            codes: self.codes[range.clone()].to_vec(),
            scale: self.scales[slot],
            exact: self.exact[range].to_vec(),
        })
    }

    /// Cosine similarity of the version `seq` with a query, if it has a vector.
    pub fn similarity(&self, query: &Code, seq: u64) -> Option<f32> {
        let slot = *self.by_seq.get(&seq)?;
        Some(self.exact_similarity(query, slot))
    }

    /// Every version in `allowed` whose similarity with `query` is above `threshold`, in `seq`
    /// order. The codes rule out what cannot reach it: a code's error is at most half its scale per
    /// dimension, so over unit vectors the dot of two codes is within `(e_a + e_b)·√d` of the exact
    /// one; the full vectors decide the rest. (The incremental batch asks this of a changed listing:
    /// which listings it may now be related to.)
    pub fn above(&self, query: &Code, allowed: &SeqSet, threshold: f32) -> Vec<u64> {
        let root = (self.dimensions as f32).sqrt() * 1.01;
        let passes = |slot: u32| -> bool {
            let seq = self.seqs[slot as usize];
            if !allowed.contains(seq) {
                return false;
            }
            let scale = self.scales[slot as usize];
            let coded = dot(&query.codes, self.code(slot)) as f32 * query.scale * scale;
            let error = (query.scale + scale) / 2.0 * root;
            coded + error > threshold && self.exact_similarity(query, slot) > threshold
        };
        let mut seqs: Vec<u64> = (0..self.seqs.len() as u32)
            .into_par_iter()
            .with_min_len(SCAN_CHUNK)
            .filter(|slot| passes(*slot))
            .map(|slot| self.seqs[slot as usize])
            .collect();
        seqs.sort_unstable();
        seqs
    }

    /// The `k` versions in `allowed` most similar to `query`, best first, ties to the lower `seq`:
    /// exact over the codes, so the filter applies before top-k and costs no recall.
    pub fn nearest(&self, query: &Code, allowed: &SeqSet, k: usize) -> Vec<(u64, f32)> {
        if k == 0 || allowed.is_empty() || self.seqs.is_empty() {
            return Vec::new();
        }
        let score = |slot: u32| -> Scored {
            let similarity = dot(&query.codes, self.code(slot)) as f32
                * query.scale
                * self.scales[slot as usize];
            Scored(similarity, self.seqs[slot as usize])
        };
        let keep = self.shortlist(k);
        let best_of = |slots: &mut dyn Iterator<Item = u32>| -> BinaryHeap<Scored> {
            let mut heap = BinaryHeap::with_capacity(keep + 1);
            for slot in slots {
                let scored = score(slot);
                // Once the heap is full, only a better one than its worst gets in (most do not).
                if heap.len() == keep && heap.peek().is_some_and(|worst| scored >= *worst) {
                    continue;
                }
                heap.push(scored);
                if heap.len() > keep {
                    heap.pop();
                }
            }
            heap
        };
        // A small allowed set is looked up member by member; a large one is a sequential scan of
        // every code, checking membership, in parallel chunks.
        let heaps: Vec<BinaryHeap<Scored>> = if allowed.len() * 4 < self.seqs.len() {
            let slots: Vec<u32> = allowed
                .iter()
                .filter_map(|seq| self.by_seq.get(&seq).copied())
                .collect();
            slots
                .par_chunks(SCAN_CHUNK)
                .map(|chunk| best_of(&mut chunk.iter().copied()))
                .collect()
        } else {
            (0..self.seqs.len() as u32)
                .collect::<Vec<u32>>()
                .par_chunks(SCAN_CHUNK)
                .map(|chunk| {
                    best_of(
                        &mut chunk
                            .iter()
                            .copied()
                            .filter(|slot| allowed.contains(self.seqs[*slot as usize])),
                    )
                })
                .collect()
        };
        // The codes choose a shortlist; the full vectors order it, so near-ties the 8-bit codes
        // cannot separate are settled exactly.
        let mut shortlist: Vec<Scored> = heaps.into_iter().flatten().collect();
        shortlist.sort();
        shortlist.truncate(self.shortlist(k));
        let mut rescored: Vec<Scored> = shortlist
            .into_iter()
            .map(|Scored(_, seq)| Scored(self.exact_similarity(query, self.by_seq[&seq]), seq))
            .collect();
        rescored.sort();
        rescored.truncate(k);
        rescored
            .into_iter()
            .map(|Scored(score, seq)| (seq, score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f32]) -> Vec<f32> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        values.iter().map(|v| v / norm).collect()
    }

    /// Deterministic pseudo-random unit vectors.
    fn random_units(n: usize, dimensions: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                let values: Vec<f32> = (0..dimensions)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
                    })
                    .collect();
                unit(&values)
            })
            .collect()
    }

    /// The vectors as listings `L0`, `L1`, ... at versions 1, 2, ...
    fn indexed(vectors: &[Vec<f32>], dimensions: usize) -> VectorIndex {
        let mut index = VectorIndex::new(dimensions);
        for (i, vector) in vectors.iter().enumerate() {
            index.put((i as u64 + 1, &format!("L{i}"), vector));
        }
        index
    }

    #[test]
    fn above_finds_exactly_the_allowed_versions_over_the_threshold() {
        let dimensions = 64;
        let vectors = random_units(3_000, dimensions, 11);
        let index = indexed(&vectors, dimensions);
        let mut allowed = SeqSet::default();
        for seq in (1..=vectors.len() as u64).filter(|seq| seq % 2 == 1) {
            allowed.insert(seq);
        }
        let exact = |query: &[f32], seq: u64| -> f32 {
            query
                .iter()
                .zip(&vectors[seq as usize - 1])
                .map(|(a, b)| a * b)
                .sum()
        };
        let mut checked = 0;
        for query in random_units(20, dimensions, 5) {
            for threshold in [0.1f32, 0.2, 0.3] {
                let expected: Vec<u64> = allowed
                    .iter()
                    .filter(|seq| exact(&query, *seq) > threshold)
                    .collect();
                let found = index.above(&quantise(&query), &allowed, threshold);
                assert_eq!(found, expected, "threshold {threshold}");
                checked += expected.len();
            }
        }
        assert!(
            checked > 100,
            "the thresholds must let some through: {checked}"
        );
    }

    #[test]
    fn nearest_respects_the_allowed_set_and_agrees_with_exact_search() {
        let dimensions = 64;
        let vectors = random_units(3_000, dimensions, 7);
        let index = indexed(&vectors, dimensions);
        let queries = random_units(50, dimensions, 99);
        for (allowed_every, k) in [(1u64, 10usize), (3, 10), (40, 5)] {
            let mut allowed = SeqSet::default();
            for seq in (1..=vectors.len() as u64).filter(|seq| seq % allowed_every == 0) {
                allowed.insert(seq);
            }
            let mut hits = 0;
            for query in &queries {
                let found = index.nearest(&quantise(query), &allowed, k);
                assert!(found.iter().all(|(seq, _)| allowed.contains(*seq)));
                assert!(found.windows(2).all(|pair| pair[0].1 >= pair[1].1));
                let mut exact: Vec<(u64, f32)> = allowed
                    .iter()
                    .map(|seq| {
                        let vector = &vectors[seq as usize - 1];
                        (seq, vector.iter().zip(query).map(|(a, b)| a * b).sum())
                    })
                    .collect();
                exact.sort_by(|a, b| b.1.total_cmp(&a.1));
                exact.truncate(k);
                hits += found
                    .iter()
                    .filter(|(seq, _)| exact.iter().any(|(other, _)| other == seq))
                    .count();
            }
            let recall = hits as f64 / (queries.len() * k) as f64;
            assert!(
                recall >= 0.95,
                "recall@{k} {recall} with every {allowed_every}th allowed"
            );
        }
    }

    #[test]
    fn a_new_version_replaces_the_old_one() {
        let mut index = VectorIndex::new(2);
        index.put((1, "a", &[1.0, 0.0]));
        index.put((2, "b", &[0.0, 1.0]));
        index.put((5, "a", &unit(&[1.0, 1.0])));
        assert_eq!(index.len(), 2);
        let query = quantise(&[1.0, 0.0]);
        assert!(index.similarity(&query, 1).is_none());
        let similarity = index.similarity(&query, 5).unwrap();
        assert!((similarity - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.02);
        let mut all = SeqSet::default();
        for seq in [1, 2, 5] {
            all.insert(seq);
        }
        assert_eq!(all.iter().collect::<Vec<_>>(), vec![1, 2, 5]);
        let mut other = SeqSet::default();
        for seq in [2, 700] {
            other.insert(seq);
        }
        let mut union = all.clone();
        union.union_with(&other);
        assert_eq!(union.iter().collect::<Vec<_>>(), vec![1, 2, 5, 700]);
        assert_eq!(union.len(), 4);
        // A stored version's code is the one `quantise` makes of its vector.
        let stored = index.code_at(5).unwrap();
        let fresh = quantise(&unit(&[1.0, 1.0]));
        assert_eq!(
            (stored.codes, stored.scale, stored.exact),
            (fresh.codes, fresh.scale, fresh.exact)
        );
        assert!(index.code_at(1).is_none());
        let found = index.nearest(&query, &all, 5);
        assert_eq!(
            found.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            vec![5, 2]
        );
    }
}
