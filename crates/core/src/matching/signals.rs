//! The structural soft signals (matching spec, "Soft signals"). Each returns a value in [0, 1];
//! the evidence behind it is gathered in `explain.rs`.

use crate::{Cooperation, Listing, OrganisationKind, Timestamp};

/// Overlap of WIPO fields: a shared field counts 1, a field of the same area 0.5, averaged over both
/// listings' fields so the signal is symmetric.
pub fn technology(a: &Listing, b: &Listing) -> f32 {
    let best_for = |from: &Listing, to: &Listing| -> f32 {
        let fields = &from.body.technology_fields;
        if fields.is_empty() {
            return 0.0;
        }
        let total: f32 = fields
            .iter()
            .map(|field| {
                if to.body.technology_fields.contains(field) {
                    1.0
                } else if to
                    .body
                    .technology_fields
                    .iter()
                    .any(|other| other.area() == field.area())
                {
                    0.5
                } else {
                    0.0
                }
            })
            .sum();
        total / fields.len() as f32
    };
    (best_for(a, b) + best_for(b, a)) / 2.0
}

/// `overlap` of two maps' keys, without building sets (keywords are compared on every pair).
pub fn key_overlap<K: Ord, A, B>(
    a: &std::collections::BTreeMap<K, A>,
    b: &std::collections::BTreeMap<K, B>,
) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    // The common keys counted from the smaller map (most listings have a few keywords).
    let common = if a.len() <= b.len() {
        a.keys().filter(|key| b.contains_key(*key)).count()
    } else {
        b.keys().filter(|key| a.contains_key(*key)).count()
    };
    share_of_smaller(a.len(), b.len(), common)
}

/// Share of the smaller set found in the larger; 0 when either is empty (nothing to compare).
fn share_of_smaller(a: usize, b: usize, common: usize) -> f32 {
    let smaller = a.min(b);
    if smaller == 0 {
        return 0.0;
    }
    common as f32 / smaller as f32
}

/// Overlap of NACE sections: the two lists' overlap as sets, counted in place (a listing names a
/// few sections, and ranking asks on every pair).
pub fn sector(a: &Listing, b: &Listing) -> f32 {
    let (a, b) = (&a.body.sectors, &b.body.sectors);
    let first = |list: &[crate::Sector], idx: usize| !list[..idx].contains(&list[idx]);
    let distinct = |list: &[crate::Sector]| (0..list.len()).filter(|idx| first(list, *idx)).count();
    let common = (0..a.len())
        .filter(|idx| first(a, *idx) && b.contains(&a[*idx]))
        .count();
    share_of_smaller(distinct(a), distinct(b), common)
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
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;
    use crate::Sector;

    fn with_sectors(letters: &[char]) -> Listing {
        let mut listing = crate::matching::tests::listing_for_signals();
        listing.body.sectors = letters
            .iter()
            .map(|letter| Sector::new(&letter.to_string()).expect("a NACE section"))
            .collect();
        listing
    }

    proptest! {
        /// `sector` counts in place what the overlap of the two lists as sets is.
        #[test]
        fn sector_is_the_overlap_of_the_sets(
            a in proptest::collection::vec(0u8..5, 0..6),
            b in proptest::collection::vec(0u8..5, 0..6),
        ) {
            let letters = |codes: &[u8]| codes.iter().map(|code| (b'A' + code) as char).collect::<Vec<_>>();
            let (a, b) = (letters(&a), letters(&b));
            let (set_a, set_b): (BTreeSet<char>, BTreeSet<char>) = (a.iter().copied().collect(), b.iter().copied().collect());
            let expected = share_of_smaller(set_a.len(), set_b.len(), set_a.intersection(&set_b).count());
            prop_assert_eq!(sector(&with_sectors(&a), &with_sectors(&b)).to_bits(), expected.to_bits());
        }

        /// `key_overlap` is the overlap of the two key sets, whichever map is larger.
        #[test]
        fn key_overlap_is_the_overlap_of_the_key_sets(
            a in proptest::collection::btree_map(0u8..8, 0u8..2, 0..6),
            b in proptest::collection::btree_map(0u8..8, 0u8..2, 0..6),
        ) {
            let common = a.keys().filter(|key| b.contains_key(*key)).count();
            let expected = share_of_smaller(a.len(), b.len(), common);
            prop_assert_eq!(key_overlap(&a, &b).to_bits(), expected.to_bits());
            prop_assert_eq!(key_overlap(&b, &a).to_bits(), expected.to_bits());
        }
    }
}
