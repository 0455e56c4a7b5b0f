//! How much a shared structured value says (matching spec, "Soft signals": structure by evidence).
//! A technology field, sector or keyword that a large share of listings carry says next to nothing
//! when two listings share it; a rare one says much. The measure is the value's inverse document
//! frequency scaled to [0, 1] by the largest it can be in this corpus: `ln(N / df) / ln N`, 1 for a
//! value only one listing has, 0 for one every listing has.

use rustc_hash::FxHashMap;

/// How many listings carry each structured value, from the index that found the candidates.
#[derive(Debug, Clone)]
pub struct StructureStats {
    /// Listings counted.
    pub listings: u64,
    /// Listings per WIPO technology field, by field id (index 0 unused).
    pub technology: [u64; 36],
    /// Listings per NACE section, `A` at index 0.
    pub sectors: [u64; 21],
    /// Listings per keyword, by normalised keyword (the query listing's keywords only: a keyword two
    /// listings share is one of them).
    pub keywords: FxHashMap<String, u64>,
}

impl Default for StructureStats {
    fn default() -> StructureStats {
        StructureStats {
            listings: 0,
            technology: [0; 36],
            sectors: [0; 21],
            keywords: FxHashMap::default(),
        }
    }
}

impl StructureStats {
    /// The evidence of sharing a value `df` listings carry, in [0, 1]. Without statistics (no
    /// listings counted) every shared value counts fully, as the signals did before evidence.
    pub fn evidence(&self, df: u64) -> f32 {
        if self.listings <= 1 {
            return 1.0;
        }
        let n = self.listings as f64;
        let df = (df.max(1) as f64).min(n);
        ((n / df).ln() / n.ln()).clamp(0.0, 1.0) as f32
    }

    /// Listings of a technology field (`None` without statistics).
    pub fn technology_df(&self, field: u8) -> Option<u64> {
        (self.listings > 0).then(|| {
            self.technology
                .get(usize::from(field))
                .copied()
                .unwrap_or(0)
        })
    }

    /// Listings of a NACE section letter (`None` without statistics).
    pub fn sector_df(&self, letter: char) -> Option<u64> {
        let idx = (letter as usize).checked_sub('A' as usize)?;
        (self.listings > 0).then(|| self.sectors.get(idx).copied().unwrap_or(0))
    }

    /// Listings with a keyword (`None` when it was not counted).
    pub fn keyword_df(&self, key: &str) -> Option<u64> {
        self.keywords.get(key).copied()
    }

    /// The evidence of a shared value whose count may be unknown (then it counts fully).
    pub fn evidence_of(&self, df: Option<u64>) -> f32 {
        df.map_or(1.0, |df| self.evidence(df))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_values_say_much_and_common_ones_little() {
        let stats = StructureStats {
            listings: 10_000,
            ..StructureStats::default()
        };
        assert_eq!(stats.evidence(1), 1.0);
        assert_eq!(stats.evidence(0), 1.0);
        assert!(stats.evidence(10) > 0.7);
        assert!(stats.evidence(5_000) < 0.1);
        assert_eq!(stats.evidence(10_000), 0.0);
        assert_eq!(stats.evidence(20_000), 0.0);
        let mut last = f32::INFINITY;
        for df in [1, 2, 10, 100, 1_000, 10_000] {
            assert!(stats.evidence(df) <= last);
            last = stats.evidence(df);
        }
        assert_eq!(StructureStats::default().evidence(5), 1.0);
        assert_eq!(StructureStats::default().technology_df(3), None);
    }
}
