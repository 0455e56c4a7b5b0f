//! Query building. User text is never parsed as query syntax: it is analysed like documents are, and
//! the resulting terms become scored clauses. Filters become unscored clauses.

use std::collections::BTreeMap;
use std::ops::Bound;

use silkmatch_core::matching::FIELD_BOOSTS;
use silkmatch_core::{Cooperation, Kind, LanguageTag, Sector, TechnologyField, Timestamp, Trl};
use silkmatch_core::{Country, Ipr, OrganisationKind, Sdg, Status};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use crate::analyzers::{Analysis, is_request_word};
use crate::schema::{ANYWHERE, Fields, cooperation_code, kind_code, pack, position, status_code};

/// Query terms per analyzer, with how often each occurs in the query text.
#[derive(Debug, Clone, Default)]
pub struct AnalysedText {
    /// Term text → occurrences, over every analyzer used.
    pub terms: BTreeMap<String, u32>,
}

impl AnalysedText {
    /// Whether analysis left nothing to search for (only stop words, punctuation, empty).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// Analyses free text with every analyzer whose script appears in it (Han → Chinese, Cyrillic →
/// Russian, Arabic → Arabic, Latin → English, plus the detected Latin language and the unstemmed
/// fallback), plus the analyzers of `languages` when given. Terms the analyzers agree on count once.
pub fn analyse_query(text: &str, languages: &[LanguageTag]) -> AnalysedText {
    let mut analyses: Vec<Analysis> = languages
        .iter()
        .map(|tag| Analysis::for_language(tag.as_str()))
        .collect();
    let has = |predicate: fn(char) -> bool| text.chars().any(predicate);
    if has(is_han) {
        analyses.push(Analysis::Chinese);
    }
    if has(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) {
        analyses.push(Analysis::Russian);
    }
    if has(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
        analyses.push(Analysis::Arabic);
        analyses.push(Analysis::Other); // Persian and Urdu share the script; keep unstemmed forms too.
    }
    if has(|c| c.is_ascii_alphanumeric() || ('\u{00C0}'..='\u{024F}').contains(&c)) {
        analyses.push(Analysis::English);
        analyses.push(Analysis::Other);
        // Detection needs a few words to be reliable, and costs more than analysing a short query.
        let words = text.split_whitespace().count();
        if let Some(detected) = (words >= 4)
            .then(|| silkmatch_core::detect_language(text))
            .flatten()
        {
            analyses.push(Analysis::for_language(detected.as_str()));
        }
    }
    analyses.sort();
    analyses.dedup();
    let mut per_analysis: Vec<BTreeMap<String, u32>> = Vec::new();
    for analysis in analyses {
        let mut counts = BTreeMap::new();
        for term in analysis.terms(text) {
            if is_request_word(analysis, &term) {
                continue;
            }
            *counts.entry(term).or_insert(0) += 1;
        }
        per_analysis.push(counts);
    }
    // A term produced by several analyzers keeps the highest count, not the sum: "pump" analysed
    // by English and by the fallback is one query word, not two.
    let mut terms: BTreeMap<String, u32> = BTreeMap::new();
    for counts in per_analysis {
        for (term, count) in counts {
            let entry = terms.entry(term).or_insert(0);
            *entry = (*entry).max(count);
        }
    }
    AnalysedText { terms }
}

fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

/// A scored disjunction over every text field: BM25 per (field, term), weighted by field and by how
/// often the term occurs in the query. `None` when there is nothing to match.
pub fn text_query(fields: &Fields, analysed: &AnalysedText) -> Option<Box<dyn Query>> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (term_text, occurrences) in &analysed.terms {
        for (text_field, field) in fields.text_fields() {
            let term = Term::from_field_text(field, term_text);
            let query: Box<dyn Query> =
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
            let weight = FIELD_BOOSTS[text_field.idx()] * *occurrences as f32;
            clauses.push((Occur::Should, Box::new(BoostQuery::new(query, weight))));
        }
    }
    (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
}

/// Structured filters of a search; every list is "any of".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Offers or needs only.
    pub kind: Option<Kind>,
    /// Organisation countries.
    pub countries: Vec<Country>,
    /// WIPO fields.
    pub technology_fields: Vec<TechnologyField>,
    /// NACE sections.
    pub sectors: Vec<Sector>,
    /// Cooperation types.
    pub cooperation: Vec<Cooperation>,
    /// Lowest readiness (offers' `trl`, needs' `trl_min`).
    pub trl_min: Option<Trl>,
    /// Highest readiness.
    pub trl_max: Option<Trl>,
    /// Languages of the main text.
    pub languages: Vec<LanguageTag>,
    /// IPR protection (offers).
    pub ipr: Vec<Ipr>,
    /// Kinds of the owning organisation.
    pub organisation_kinds: Vec<OrganisationKind>,
    /// SDGs addressed.
    pub sdgs: Vec<Sdg>,
    /// Listings open to partners from any of these countries (their `target_countries` name one of
    /// them, or are empty, meaning anywhere).
    pub open_to_countries: Vec<Country>,
    /// Listing ids to leave out (the query listing itself, when matching).
    pub exclude_ids: Vec<String>,
    /// Organisation ids to leave out (matching never proposes one's own listings).
    pub exclude_owners: Vec<String>,
}

fn any_of(field: Field, values: impl IntoIterator<Item = u64>) -> Option<Box<dyn Query>> {
    let terms: Vec<Term> = values
        .into_iter()
        .map(|value| Term::from_field_u64(field, value))
        .collect();
    (!terms.is_empty()).then(|| Box::new(TermSetQuery::new(terms)) as Box<dyn Query>)
}

/// The unscored clauses for `filters`, plus "published and not expired at `now`", which every public
/// search and every match applies.
pub fn filter_clauses(
    fields: &Fields,
    filters: &Filters,
    now: Timestamp,
) -> Vec<(Occur, Box<dyn Query>)> {
    let mut musts: Vec<Box<dyn Query>> = vec![
        Box::new(TermQuery::new(
            Term::from_field_u64(fields.status, status_code(Status::Published)),
            IndexRecordOption::Basic,
        )),
        Box::new(RangeQuery::new(
            Bound::Excluded(Term::from_field_i64(fields.expires_at, now.unix())),
            Bound::Unbounded,
        )),
    ];
    if let Some(kind) = filters.kind {
        musts.push(Box::new(TermQuery::new(
            Term::from_field_u64(fields.kind, kind_code(kind)),
            IndexRecordOption::Basic,
        )));
    }
    musts.extend(any_of(
        fields.country,
        filters
            .countries
            .iter()
            .map(|country| pack(country.as_str())),
    ));
    musts.extend(any_of(
        fields.technology_field,
        filters
            .technology_fields
            .iter()
            .map(|field| u64::from(field.get())),
    ));
    musts.extend(any_of(
        fields.sector,
        filters
            .sectors
            .iter()
            .map(|sector| pack(&sector.to_string())),
    ));
    musts.extend(any_of(
        fields.cooperation,
        filters
            .cooperation
            .iter()
            .map(|cooperation| cooperation_code(*cooperation)),
    ));
    musts.extend(any_of(
        fields.language,
        filters
            .languages
            .iter()
            .map(|language| pack(language.as_str())),
    ));
    musts.extend(any_of(
        fields.ipr,
        filters.ipr.iter().map(|ipr| position(Ipr::ALL, *ipr)),
    ));
    musts.extend(any_of(
        fields.organisation_kind,
        filters
            .organisation_kinds
            .iter()
            .map(|kind| position(OrganisationKind::ALL, *kind)),
    ));
    musts.extend(any_of(
        fields.sdg,
        filters.sdgs.iter().map(|sdg| u64::from(sdg.get())),
    ));
    if !filters.open_to_countries.is_empty() {
        let accepted = filters
            .open_to_countries
            .iter()
            .map(|country| pack(country.as_str()));
        musts.extend(any_of(fields.target_country, accepted.chain([ANYWHERE])));
    }
    if filters.trl_min.is_some() || filters.trl_max.is_some() {
        let low = filters.trl_min.map_or(Bound::Unbounded, |trl| {
            Bound::Included(Term::from_field_u64(fields.trl, u64::from(trl.get())))
        });
        let high = filters.trl_max.map_or(Bound::Unbounded, |trl| {
            Bound::Included(Term::from_field_u64(fields.trl, u64::from(trl.get())))
        });
        musts.push(Box::new(RangeQuery::new(low, high)));
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = musts
        .into_iter()
        .map(|query| {
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(query, 0.0)) as Box<dyn Query>,
            )
        })
        .collect();
    for id in &filters.exclude_ids {
        clauses.push((
            Occur::MustNot,
            Box::new(TermQuery::new(
                Term::from_field_text(fields.id, id),
                IndexRecordOption::Basic,
            )),
        ));
    }
    for owner in &filters.exclude_owners {
        clauses.push((
            Occur::MustNot,
            Box::new(TermQuery::new(
                Term::from_field_text(fields.owner, owner),
                IndexRecordOption::Basic,
            )),
        ));
    }
    clauses
}

/// The whole query: text (when any) and filters.
pub fn search_query(
    fields: &Fields,
    analysed: &AnalysedText,
    filters: &Filters,
    now: Timestamp,
) -> Box<dyn Query> {
    let mut clauses = filter_clauses(fields, filters, now);
    match text_query(fields, analysed) {
        Some(text) => clauses.push((Occur::Must, text)),
        None => clauses.push((
            Occur::Must,
            Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)),
        )),
    }
    Box::new(BooleanQuery::new(clauses))
}
