//! Hard constraints (matching spec, "Candidates and hard constraints"): a pair that breaks one is
//! never returned, at any rank. The index applies the same rules as filters before top-k; this is the
//! reference, checked again on every candidate.

use serde::Serialize;

use crate::{Kind, Listing, Timestamp};

/// Which hard constraint a pair breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    /// Both sides are offers, or both needs.
    SameKind,
    /// One side is not published, or has expired.
    NotLive,
    /// Both belong to one organisation.
    SameOrganisation,
    /// No cooperation type both accept.
    NoCommonCooperation,
    /// The offer's TRL is below the need's `trl_min`.
    NotReadyEnough,
    /// One side's `target_countries` excludes the other's country.
    CountryExcluded,
}

/// Orders a pair as (need, offer), whichever side asked.
pub fn as_need_and_offer<'a>(a: &'a Listing, b: &'a Listing) -> Option<(&'a Listing, &'a Listing)> {
    match (a.body.kind, b.body.kind) {
        (Kind::Need, Kind::Offer) => Some((a, b)),
        (Kind::Offer, Kind::Need) => Some((b, a)),
        _ => None,
    }
}

/// Checks every hard constraint of a pair at `now`; the first broken one is returned.
pub fn check_hard_constraints(a: &Listing, b: &Listing, now: Timestamp) -> Result<(), Violation> {
    let (need, offer) = as_need_and_offer(a, b).ok_or(Violation::SameKind)?;
    if !need.is_live(now) || !offer.is_live(now) {
        return Err(Violation::NotLive);
    }
    if need.owner == offer.owner {
        return Err(Violation::SameOrganisation);
    }
    if need.body.cooperation.is_disjoint(&offer.body.cooperation) {
        return Err(Violation::NoCommonCooperation);
    }
    if offer.body.readiness() < need.body.readiness() {
        return Err(Violation::NotReadyEnough);
    }
    let accepts = |chooser: &Listing, other: &Listing| {
        chooser.body.target_countries.is_empty()
            || chooser
                .body
                .target_countries
                .contains(&other.body.organisation.country)
    };
    if !accepts(need, offer) || !accepts(offer, need) {
        return Err(Violation::CountryExcluded);
    }
    Ok(())
}
