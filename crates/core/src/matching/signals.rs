//! The structural soft signals (matching spec, "Soft signals"). Each returns a value in [0, 1], or
//! `None` when one side does not say (a missing field is neutral: the directed score is the
//! weighted mean of the signals that are known); the evidence behind it is gathered in
//! `explain.rs`. Technology fields, sectors and keywords count by evidence (`evidence.rs`): what a
//! shared value says depends on how few listings carry it.

use super::evidence::StructureStats;
use crate::{Cooperation, Listing, OrganisationKind, Timestamp};

/// Shared WIPO fields, by evidence: the best of a shared field's evidence and half a shared area's
/// (a field of the same area, counted by the listings of the whole area). `None` when either
/// listing names no field.
pub fn technology(a: &Listing, b: &Listing, stats: &StructureStats) -> Option<f32> {
    let (a, b) = (&a.body.technology_fields, &b.body.technology_fields);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let area_df = |field: crate::TechnologyField| -> Option<u64> {
        let area = field.area();
        (1..=35u8)
            .filter(|other| crate::codes::technology_area(*other) == area)
            .map(|other| stats.technology_df(other))
            .sum::<Option<u64>>()
    };
    let mut best = 0.0f32;
    for field in a {
        for other in b {
            let value = if field == other {
                stats.evidence_of(stats.technology_df(field.get()))
            } else if field.area() == other.area() {
                0.5 * stats.evidence_of(area_df(*field))
            } else {
                0.0
            };
            best = best.max(value);
        }
    }
    Some(best)
}

/// Shared keywords (normalised keys), by evidence: the best shared keyword's. `None` when either
/// listing has none.
pub fn keywords<A, B>(
    a: &std::collections::BTreeMap<String, A>,
    b: &std::collections::BTreeMap<String, B>,
    stats: &StructureStats,
) -> Option<f32> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    // The common keys looked up from the smaller map (most listings have a few keywords).
    let best = |small: &mut dyn Iterator<Item = &String>, has: &dyn Fn(&String) -> bool| {
        small
            .filter(|key| has(key))
            .map(|key| stats.evidence_of(stats.keyword_df(key)))
            .fold(0.0, f32::max)
    };
    Some(if a.len() <= b.len() {
        best(&mut a.keys(), &|key| b.contains_key(key))
    } else {
        best(&mut b.keys(), &|key| a.contains_key(key))
    })
}

/// Shared NACE sections, by evidence: the best shared section's. `None` when either listing names
/// none.
pub fn sector(a: &Listing, b: &Listing, stats: &StructureStats) -> Option<f32> {
    let (a, b) = (&a.body.sectors, &b.body.sectors);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some(
        a.iter()
            .filter(|sector| b.contains(sector))
            .map(|sector| stats.evidence_of(stats.sector_df(sector.letter())))
            .fold(0.0, f32::max),
    )
}

/// How well the offer's readiness suits the need: full marks up to two levels above the need's
/// minimum, then gently less (a much more mature technology usually costs more and fits less).
pub fn readiness(need: &Listing, offer: &Listing) -> f32 {
    let gap = i32::from(offer.body.readiness().get()) - i32::from(need.body.readiness().get());
    match gap {
        i32::MIN..=-1 => 0.0,
        0..=2 => 1.0,
        _ => (1.0 - 0.2 * (gap - 2) as f32).max(0.2),
    }
}

fn is_research(kind: OrganisationKind) -> bool {
    matches!(
        kind,
        OrganisationKind::University | OrganisationKind::ResearchInstitute
    )
}

fn is_company(kind: OrganisationKind) -> bool {
    matches!(kind, OrganisationKind::Sme | OrganisationKind::LargeCompany)
}

/// Fit of the organisation kinds for the cooperation both accept: research offering to industry
/// through licences or joint work is the classic transfer; company to company through licences,
/// manufacturing or sales next; research to research through joint development; anything else 0.5.
pub fn partner(need: &Listing, offer: &Listing) -> f32 {
    let (wanted, offered) = (&need.body.cooperation, &offer.body.cooperation);
    let any = |types: &[Cooperation]| {
        types
            .iter()
            .any(|kind| wanted.contains(kind) && offered.contains(kind))
    };
    let (from, to) = (offer.body.organisation.kind, need.body.organisation.kind);
    if is_research(from) && is_company(to) {
        if any(&[
            Cooperation::Licence,
            Cooperation::JointDevelopment,
            Cooperation::CommissionedDevelopment,
            Cooperation::TechnicalAssistance,
        ]) {
            1.0
        } else {
            0.7
        }
    } else if is_company(from) && is_company(to) {
        if any(&[
            Cooperation::Licence,
            Cooperation::Assignment,
            Cooperation::Manufacturing,
            Cooperation::TechnicalAssistance,
            Cooperation::Investment,
        ]) {
            0.9
        } else {
            0.6
        }
    } else if is_research(from) && is_research(to) {
        if any(&[Cooperation::JointDevelopment]) {
            0.8
        } else {
            0.5
        }
    } else if is_company(from) && is_research(to) {
        0.6
    } else {
        0.5
    }
}

/// Recency of a listing: 1 when just published or updated, halving its excess over 0.5 each ~250
/// days, never below 0.5, so freshness can break ties but not overturn relevance.
pub fn freshness(listing: &Listing, now: Timestamp) -> f32 {
    let last_change = listing
        .updated_at
        .max(listing.published_at.unwrap_or(listing.updated_at));
    let age_days = ((now.unix() - last_change.unix()).max(0) as f32) / crate::DAY_SECONDS as f32;
    0.5 + 0.5 * (-age_days / 365.0).exp()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;
    use crate::{Sector, TechnologyField};

    fn with_sectors(letters: &[char]) -> Listing {
        let mut listing = crate::matching::tests::listing_for_signals();
        listing.body.sectors = letters
            .iter()
            .map(|letter| Sector::new(&letter.to_string()).expect("a NACE section"))
            .collect();
        listing
    }

    fn with_fields(fields: &[u8]) -> Listing {
        let mut listing = crate::matching::tests::listing_for_signals();
        listing.body.technology_fields = fields
            .iter()
            .map(|field| TechnologyField::new(*field).expect("a WIPO field"))
            .collect();
        listing
    }

    /// 1,000 listings: field 6 (computer technology) in 600 of them, field 11 in 5; sector C in
    /// 700, sector Q in 3; keyword "softwar" in 500, "lidar" in 2.
    fn stats() -> StructureStats {
        let mut stats = StructureStats {
            listings: 1_000,
            ..StructureStats::default()
        };
        stats.technology[6] = 600;
        stats.technology[11] = 5;
        stats.technology[9] = 40;
        stats.sectors[2] = 700;
        stats.sectors[16] = 3;
        stats.keywords.insert("softwar".into(), 500);
        stats.keywords.insert("lidar".into(), 2);
        stats
    }

    #[test]
    fn a_rare_shared_value_says_more_than_a_common_one() {
        let stats = stats();
        let common = technology(&with_fields(&[6]), &with_fields(&[6]), &stats).unwrap();
        let rare = technology(&with_fields(&[11]), &with_fields(&[11]), &stats).unwrap();
        assert!(rare > 0.7 && common < 0.1, "{rare} {common}");
        // A field of the same area counts, less than the field itself.
        let area = technology(&with_fields(&[11]), &with_fields(&[9]), &stats).unwrap();
        assert!(area > 0.0 && area < rare, "{area}");
        assert_eq!(
            technology(&with_fields(&[11]), &with_fields(&[30]), &stats),
            Some(0.0)
        );
        let rare = sector(&with_sectors(&['Q']), &with_sectors(&['Q', 'C']), &stats).unwrap();
        let common = sector(&with_sectors(&['C']), &with_sectors(&['C']), &stats).unwrap();
        assert!(rare > 0.8 && common < 0.06, "{rare} {common}");
        let keys = |words: &[&str]| -> BTreeMap<String, ()> {
            words.iter().map(|word| (word.to_string(), ())).collect()
        };
        let rare = keywords(&keys(&["lidar", "softwar"]), &keys(&["lidar"]), &stats).unwrap();
        let common = keywords(&keys(&["softwar"]), &keys(&["softwar", "x"]), &stats).unwrap();
        assert!(rare > 0.8 && common < 0.15, "{rare} {common}");
    }

    #[test]
    fn a_missing_value_is_neutral_not_a_mismatch() {
        let stats = stats();
        assert_eq!(
            sector(&with_sectors(&[]), &with_sectors(&['C']), &stats),
            None
        );
        assert_eq!(
            sector(&with_sectors(&['Q']), &with_sectors(&['C']), &stats),
            Some(0.0)
        );
        let none: BTreeMap<String, ()> = BTreeMap::new();
        let some: BTreeMap<String, ()> = [("lidar".to_string(), ())].into();
        assert_eq!(keywords(&none, &some, &stats), None);
        assert_eq!(
            technology(&with_fields(&[]), &with_fields(&[6]), &stats),
            None
        );
    }

    proptest! {
        /// `sector` is the best evidence over the intersection of the two lists as sets, known
        /// exactly when both name one.
        #[test]
        fn sector_is_the_best_evidence_of_the_intersection(
            a in proptest::collection::vec(0u8..5, 0..6),
            b in proptest::collection::vec(0u8..5, 0..6),
        ) {
            let stats = stats();
            let letters = |codes: &[u8]| codes.iter().map(|code| (b'A' + code) as char).collect::<Vec<_>>();
            let (a, b) = (letters(&a), letters(&b));
            let (set_a, set_b): (BTreeSet<char>, BTreeSet<char>) = (a.iter().copied().collect(), b.iter().copied().collect());
            let expected = (!set_a.is_empty() && !set_b.is_empty()).then(|| {
                set_a.intersection(&set_b).map(|letter| stats.evidence_of(stats.sector_df(*letter))).fold(0.0, f32::max)
            });
            prop_assert_eq!(sector(&with_sectors(&a), &with_sectors(&b), &stats), expected);
        }

        /// `keywords` is symmetric and the best evidence over the common keys.
        #[test]
        fn keywords_are_the_best_evidence_of_the_common_keys(
            a in proptest::collection::btree_map(0u8..8, 0u8..2, 0..6),
            b in proptest::collection::btree_map(0u8..8, 0u8..2, 0..6),
        ) {
            let mut stats = stats();
            for key in 0u8..8 {
                stats.keywords.insert(key.to_string(), u64::from(key) * 100);
            }
            let named = |map: &BTreeMap<u8, u8>| map.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<String, u8>>();
            let (a, b) = (named(&a), named(&b));
            let expected = (!a.is_empty() && !b.is_empty()).then(|| {
                a.keys().filter(|key| b.contains_key(*key)).map(|key| stats.evidence_of(stats.keyword_df(key))).fold(0.0, f32::max)
            });
            prop_assert_eq!(keywords(&a, &b, &stats), expected);
            prop_assert_eq!(keywords(&b, &a, &stats), expected);
        }
    }
}
