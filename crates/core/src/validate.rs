//! Validation of drafts against the data model. Every problem is collected, each with the JSON path
//! of its field, a stable code and a sentence for people; the same rules serve HTTP, CLI and batch.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::language::detect_language;
use crate::model::*;

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;

/// Machine-readable reason a field was refused; stable, part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The field must be present and non-blank.
    Required,
    /// Longer than allowed, in characters.
    TooLong,
    /// Shorter than allowed, in characters.
    TooShort,
    /// More list items than allowed.
    TooMany,
    /// Fewer list items than required.
    TooFew,
    /// Not one of the allowed values.
    UnknownValue,
    /// A number outside its range.
    OutOfRange,
    /// A list item given twice.
    Duplicate,
    /// The field does not apply to this kind of listing.
    NotApplicable,
    /// The value does not have the expected form (e-mail, phone, code).
    InvalidFormat,
    /// A value of the wrong JSON type.
    InvalidType,
    /// A field the model does not have.
    UnknownField,
    /// Not JSON at all, or truncated.
    MalformedJson,
}

impl ProblemCode {
    /// The code as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::Required => "required",
            ProblemCode::TooLong => "too_long",
            ProblemCode::TooShort => "too_short",
            ProblemCode::TooMany => "too_many",
            ProblemCode::TooFew => "too_few",
            ProblemCode::UnknownValue => "unknown_value",
            ProblemCode::OutOfRange => "out_of_range",
            ProblemCode::Duplicate => "duplicate",
            ProblemCode::NotApplicable => "not_applicable",
            ProblemCode::InvalidFormat => "invalid_format",
            ProblemCode::InvalidType => "invalid_type",
            ProblemCode::UnknownField => "unknown_field",
            ProblemCode::MalformedJson => "malformed_json",
        }
    }
}

/// One thing wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON path, e.g. `organisation.country` or `keywords[3]`; empty for the whole document.
    pub field: String,
    /// Stable machine-readable code.
    pub code: ProblemCode,
    /// A sentence for people: what was expected and what was found.
    pub message: String,
}

impl Problem {
    /// Builds a problem.
    pub fn new(field: impl Into<String>, code: ProblemCode, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} ({})", self.message, self.code.as_str())
        } else {
            write!(
                f,
                "{}: {} ({})",
                self.field,
                self.message,
                self.code.as_str()
            )
        }
    }
}

/// A draft that passed validation, with the lifecycle state it asked for (imports may carry one).
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The listing body.
    pub body: ListingBody,
    /// The requested status, when the draft named one.
    pub status: Option<Status>,
}

/// Character limits of the data model, in Unicode scalar values.
pub mod limits {
    use std::ops::RangeInclusive;
    /// Title length.
    pub const TITLE: RangeInclusive<usize> = 3..=256;
    /// Summary length.
    pub const SUMMARY: RangeInclusive<usize> = 10..=500;
    /// Description length.
    pub const DESCRIPTION: usize = 4000;
    /// Advantages, requirements and partner sought.
    pub const LONG_TEXT: usize = 2000;
    /// Number of keywords.
    pub const KEYWORDS: usize = 20;
    /// Length of one keyword.
    pub const KEYWORD: usize = 64;
    /// Number of technology fields.
    pub const TECHNOLOGY_FIELDS: RangeInclusive<usize> = 1..=5;
    /// Number of sectors.
    pub const SECTORS: usize = 3;
    /// External id length.
    pub const EXTERNAL_ID: usize = 128;
    /// Organisation and contact names.
    pub const NAME: usize = 256;
    /// Number of patents listed.
    pub const PATENTS: usize = 50;
    /// One patent number.
    pub const PATENT: usize = 64;
    /// E-mail length (RFC 5321 path limit).
    pub const EMAIL: usize = 254;
    /// Phone length.
    pub const PHONE: usize = 32;
}

/// Checks a draft against every rule of the data model and returns the typed listing, or all problems.
/// A missing `language` is detected from the title and summary. Contact is required only when the
/// draft asks to be `published` (see `check_publishable`).
pub fn validate(draft: &Draft) -> Result<Validated, Vec<Problem>> {
    let mut problems = Vec::new();
    let p = &mut problems;

    let kind = parse_enum(
        p,
        "kind",
        draft.kind.as_deref(),
        Kind::parse,
        Kind::allowed,
        true,
    );
    let status = parse_enum(
        p,
        "status",
        draft.status.as_deref(),
        Status::parse,
        Status::allowed,
        false,
    );
    let external_id = optional_text(
        p,
        "external_id",
        draft.external_id.as_deref(),
        1..=limits::EXTERNAL_ID,
    );
    let title = required_text(p, "title", draft.title.as_deref(), limits::TITLE);
    let summary = required_text(p, "summary", draft.summary.as_deref(), limits::SUMMARY);
    let description = optional_text(
        p,
        "description",
        draft.description.as_deref(),
        0..=limits::DESCRIPTION,
    );
    let advantages = optional_text(
        p,
        "advantages",
        draft.advantages.as_deref(),
        0..=limits::LONG_TEXT,
    );
    let requirements = optional_text(
        p,
        "requirements",
        draft.requirements.as_deref(),
        0..=limits::LONG_TEXT,
    );
    let partner_sought = optional_text(
        p,
        "partner_sought",
        draft.partner_sought.as_deref(),
        0..=limits::LONG_TEXT,
    );

    let (language, language_detected) = match draft.language.as_deref() {
        Some(code) => match LanguageTag::new(code) {
            Some(tag) => (Some(tag), false),
            None => {
                p.push(Problem::new(
                    "language",
                    ProblemCode::InvalidFormat,
                    format!("`language` must be a BCP-47 primary tag of two or three lower-case letters such as `en` or `zh`; got `{code}`."),
                ));
                (None, false)
            }
        },
        None => {
            let sample = format!(
                "{} {}",
                draft.title.as_deref().unwrap_or(""),
                draft.summary.as_deref().unwrap_or("")
            );
            match detect_language(&sample) {
                Some(tag) => (Some(tag), true),
                None => {
                    p.push(Problem::new("language", ProblemCode::Required, "`language` is missing and could not be detected from the title and summary; give it, e.g. `en`."));
                    (None, false)
                }
            }
        }
    };

    let translations = check_translations(p, &draft.translations, language.as_ref());
    let keywords = check_keywords(p, &draft.keywords);
    let technology_fields = numbers(
        p,
        "technology_fields",
        &draft.technology_fields,
        TechnologyField::new,
        TechnologyField::RANGE,
    );
    check_count(
        p,
        "technology_fields",
        draft.technology_fields.len(),
        limits::TECHNOLOGY_FIELDS,
    );
    let sectors = codes(
        p,
        "sectors",
        &draft.sectors,
        Sector::new,
        "a NACE Rev. 2 section letter from A to U",
    );
    check_count(p, "sectors", draft.sectors.len(), 0..=limits::SECTORS);
    let sdgs = numbers(p, "sdgs", &draft.sdgs, Sdg::new, Sdg::RANGE);
    let cooperation = check_cooperation(p, &draft.cooperation);
    let organisation = check_organisation(p, draft.organisation.as_ref());
    let target_countries = codes(
        p,
        "target_countries",
        &draft.target_countries,
        Country::new,
        "an ISO 3166-1 alpha-2 country code such as `CN`",
    );
    let contact = draft
        .contact
        .as_ref()
        .and_then(|contact| check_contact(p, contact));

    // Kind-specific fields: offers say what they are, needs what they accept.
    let trl = number(p, "trl", draft.trl, Trl::new, Trl::RANGE);
    let trl_min = number(p, "trl_min", draft.trl_min, Trl::new, Trl::RANGE);
    let ipr = parse_enum(
        p,
        "ipr",
        draft.ipr.as_deref(),
        Ipr::parse,
        Ipr::allowed,
        false,
    );
    let patents = check_patents(p, &draft.patents);
    let budget = draft
        .budget
        .as_ref()
        .and_then(|budget| check_budget(p, budget));
    let mut trl_min = trl_min;
    match kind {
        Some(Kind::Offer) => {
            if draft.trl.is_none() {
                p.push(Problem::new(
                    "trl",
                    ProblemCode::Required,
                    "Offers must give `trl`, the readiness level reached (1 to 9).",
                ));
            }
            if draft.ipr.is_none() {
                p.push(Problem::new(
                    "ipr",
                    ProblemCode::Required,
                    format!("Offers must give `ipr`, one of {}.", Ipr::allowed()),
                ));
            }
            for (field, present) in [
                ("trl_min", draft.trl_min.is_some()),
                ("requirements", draft.requirements.is_some()),
                ("budget", draft.budget.is_some()),
            ] {
                not_applicable(p, field, present, "offers");
            }
        }
        Some(Kind::Need) => {
            trl_min = trl_min.or(Trl::new(1));
            for (field, present) in [
                ("trl", draft.trl.is_some()),
                ("ipr", draft.ipr.is_some()),
                ("patents", !draft.patents.is_empty()),
                ("advantages", draft.advantages.is_some()),
                ("price_negotiable", draft.price_negotiable.is_some()),
            ] {
                not_applicable(p, field, present, "needs");
            }
        }
        None => {}
    }

    if status == Some(Status::Published) && draft.contact.is_none() {
        p.push(contact_required());
    }

    match (kind, language, title, summary, organisation) {
        (Some(kind), Some(language), Some(title), Some(summary), Some(organisation))
            if problems.is_empty() =>
        {
            let is_offer = kind == Kind::Offer;
            Ok(Validated {
                body: ListingBody {
                    kind,
                    external_id,
                    language,
                    language_detected,
                    title,
                    summary,
                    description,
                    advantages,
                    requirements,
                    partner_sought,
                    translations,
                    keywords,
                    technology_fields,
                    sectors,
                    sdgs,
                    trl: if is_offer { trl } else { None },
                    trl_min: if is_offer { None } else { trl_min },
                    ipr,
                    patents,
                    cooperation,
                    organisation,
                    target_countries,
                    budget,
                    price_negotiable: draft.price_negotiable,
                    contact,
                },
                status,
            })
        }
        _ => Err(problems),
    }
}

/// The extra rule for publishing (data model, "Lifecycle"): a published listing must say whom to call.
pub fn check_publishable(body: &ListingBody) -> Result<(), Vec<Problem>> {
    if body.contact.is_some() {
        Ok(())
    } else {
        Err(vec![contact_required()])
    }
}

fn contact_required() -> Problem {
    Problem::new(
        "contact",
        ProblemCode::Required,
        "A published listing needs a `contact` with a name and an e-mail address.",
    )
}

fn not_applicable(problems: &mut Vec<Problem>, field: &str, present: bool, kind: &str) {
    if present {
        problems.push(Problem::new(
            field,
            ProblemCode::NotApplicable,
            format!("`{field}` does not apply to {kind}; remove it."),
        ));
    }
}

fn char_count(text: &str) -> usize {
    text.chars().count()
}

fn check_length(
    problems: &mut Vec<Problem>,
    field: &str,
    text: &str,
    allowed: std::ops::RangeInclusive<usize>,
) -> bool {
    let found = char_count(text);
    if found > *allowed.end() {
        problems.push(Problem::new(
            field,
            ProblemCode::TooLong,
            format!(
                "`{field}` must be at most {} characters; got {found}.",
                allowed.end()
            ),
        ));
        false
    } else if found < *allowed.start() {
        problems.push(Problem::new(
            field,
            ProblemCode::TooShort,
            format!(
                "`{field}` must be at least {} characters; got {found}.",
                allowed.start()
            ),
        ));
        false
    } else {
        true
    }
}

fn required_text(
    problems: &mut Vec<Problem>,
    field: &str,
    text: Option<&str>,
    allowed: std::ops::RangeInclusive<usize>,
) -> Option<String> {
    match text {
        Some(text) if !text.trim().is_empty() => {
            check_length(problems, field, text, allowed).then(|| text.to_owned())
        }
        _ => {
            problems.push(Problem::new(
                field,
                ProblemCode::Required,
                format!(
                    "`{field}` is required ({} to {} characters).",
                    allowed.start(),
                    allowed.end()
                ),
            ));
            None
        }
    }
}

/// Blank optional texts are treated as absent, so a form's empty box does not store an empty string.
fn optional_text(
    problems: &mut Vec<Problem>,
    field: &str,
    text: Option<&str>,
    allowed: std::ops::RangeInclusive<usize>,
) -> Option<String> {
    let text = text.filter(|text| !text.trim().is_empty())?;
    check_length(problems, field, text, allowed).then(|| text.to_owned())
}

fn parse_enum<T>(
    problems: &mut Vec<Problem>,
    field: &str,
    text: Option<&str>,
    parse: fn(&str) -> Option<T>,
    allowed: fn() -> String,
    required: bool,
) -> Option<T> {
    match text {
        Some(text) => {
            let value = parse(text);
            if value.is_none() {
                problems.push(Problem::new(
                    field,
                    ProblemCode::UnknownValue,
                    format!("`{field}` must be one of {}; got `{text}`.", allowed()),
                ));
            }
            value
        }
        None => {
            if required {
                problems.push(Problem::new(
                    field,
                    ProblemCode::Required,
                    format!("`{field}` is required: one of {}.", allowed()),
                ));
            }
            None
        }
    }
}

fn number<T>(
    problems: &mut Vec<Problem>,
    field: &str,
    value: Option<i64>,
    make: fn(u8) -> Option<T>,
    range: std::ops::RangeInclusive<u8>,
) -> Option<T> {
    let value = value?;
    let checked = u8::try_from(value).ok().and_then(make);
    if checked.is_none() {
        problems.push(Problem::new(
            field,
            ProblemCode::OutOfRange,
            format!(
                "`{field}` must be between {} and {}; got {value}.",
                range.start(),
                range.end()
            ),
        ));
    }
    checked
}

/// A list of small numbers: each checked, duplicates reported, order kept.
fn numbers<T: Ord + Copy>(
    problems: &mut Vec<Problem>,
    field: &str,
    values: &[i64],
    make: fn(u8) -> Option<T>,
    range: std::ops::RangeInclusive<u8>,
) -> Vec<T> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (idx, value) in values.iter().enumerate() {
        let path = format!("{field}[{idx}]");
        if let Some(checked) = number(problems, &path, Some(*value), make, range.clone()) {
            if seen.insert(checked) {
                out.push(checked);
            } else {
                problems.push(Problem::new(
                    path,
                    ProblemCode::Duplicate,
                    format!("{value} is listed twice in `{field}`."),
                ));
            }
        }
    }
    out
}

/// A list of codes: each checked, duplicates reported, order kept.
fn codes<T: Ord + Clone>(
    problems: &mut Vec<Problem>,
    field: &str,
    values: &[String],
    make: fn(&str) -> Option<T>,
    expected: &str,
) -> Vec<T> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (idx, text) in values.iter().enumerate() {
        let path = format!("{field}[{idx}]");
        match make(text) {
            Some(code) if seen.insert(code.clone()) => out.push(code),
            Some(_) => problems.push(Problem::new(
                path,
                ProblemCode::Duplicate,
                format!("`{text}` is listed twice in `{field}`."),
            )),
            None => problems.push(Problem::new(
                path,
                ProblemCode::UnknownValue,
                format!("Each item of `{field}` must be {expected}; got `{text}`."),
            )),
        }
    }
    out
}

fn check_count(
    problems: &mut Vec<Problem>,
    field: &str,
    given: usize,
    allowed: std::ops::RangeInclusive<usize>,
) {
    if given > *allowed.end() {
        problems.push(Problem::new(
            field,
            ProblemCode::TooMany,
            format!(
                "`{field}` takes at most {} items; got {given}.",
                allowed.end()
            ),
        ));
    } else if given < *allowed.start() {
        let code = if given == 0 {
            ProblemCode::Required
        } else {
            ProblemCode::TooFew
        };
        problems.push(Problem::new(
            field,
            code,
            format!(
                "`{field}` needs at least {} item(s); got {given}.",
                allowed.start()
            ),
        ));
    }
}

fn check_translations(
    problems: &mut Vec<Problem>,
    drafts: &BTreeMap<String, DraftTranslation>,
    language: Option<&LanguageTag>,
) -> BTreeMap<LanguageTag, Translation> {
    let mut out = BTreeMap::new();
    for (code, draft) in drafts {
        let base = format!("translations.{code}");
        let Some(tag) = LanguageTag::new(code) else {
            problems.push(Problem::new(
                base,
                ProblemCode::InvalidFormat,
                format!("Translation keys must be BCP-47 primary tags such as `en`; got `{code}`."),
            ));
            continue;
        };
        if Some(&tag) == language {
            problems.push(Problem::new(
                base,
                ProblemCode::Duplicate,
                format!(
                    "`{code}` is the listing's own language; put that text in the main fields."
                ),
            ));
            continue;
        }
        let title = required_text(
            problems,
            &format!("{base}.title"),
            draft.title.as_deref(),
            limits::TITLE,
        );
        let summary = required_text(
            problems,
            &format!("{base}.summary"),
            draft.summary.as_deref(),
            limits::SUMMARY,
        );
        let description = optional_text(
            problems,
            &format!("{base}.description"),
            draft.description.as_deref(),
            0..=limits::DESCRIPTION,
        );
        if let (Some(title), Some(summary)) = (title, summary) {
            out.insert(
                tag,
                Translation {
                    title,
                    summary,
                    description,
                },
            );
        }
    }
    out
}

fn check_keywords(problems: &mut Vec<Problem>, keywords: &[String]) -> Vec<String> {
    check_count(problems, "keywords", keywords.len(), 0..=limits::KEYWORDS);
    let mut out = Vec::new();
    for (idx, keyword) in keywords.iter().enumerate() {
        let path = format!("keywords[{idx}]");
        if keyword.trim().is_empty() {
            problems.push(Problem::new(
                path,
                ProblemCode::Required,
                "Keywords must not be blank.",
            ));
        } else if check_length(problems, &path, keyword, 1..=limits::KEYWORD) {
            out.push(keyword.clone());
        }
    }
    out
}

fn check_cooperation(problems: &mut Vec<Problem>, values: &[String]) -> BTreeSet<Cooperation> {
    if values.is_empty() {
        problems.push(Problem::new(
            "cooperation",
            ProblemCode::Required,
            format!(
                "`cooperation` needs at least one of {}.",
                Cooperation::allowed()
            ),
        ));
    }
    let mut out = BTreeSet::new();
    for (idx, text) in values.iter().enumerate() {
        let path = format!("cooperation[{idx}]");
        match Cooperation::parse(text) {
            Some(value) if out.insert(value) => {}
            Some(_) => problems.push(Problem::new(
                path,
                ProblemCode::Duplicate,
                format!("`{text}` is listed twice in `cooperation`."),
            )),
            None => problems.push(Problem::new(
                path,
                ProblemCode::UnknownValue,
                format!(
                    "`cooperation` items must be one of {}; got `{text}`.",
                    Cooperation::allowed()
                ),
            )),
        }
    }
    out
}

fn check_organisation(
    problems: &mut Vec<Problem>,
    draft: Option<&DraftOrganisation>,
) -> Option<Organisation> {
    let Some(draft) = draft else {
        problems.push(Problem::new(
            "organisation",
            ProblemCode::Required,
            "`organisation` is required: name, kind and country.",
        ));
        return None;
    };
    let name = required_text(
        problems,
        "organisation.name",
        draft.name.as_deref(),
        1..=limits::NAME,
    );
    let kind = parse_enum(
        problems,
        "organisation.kind",
        draft.kind.as_deref(),
        OrganisationKind::parse,
        OrganisationKind::allowed,
        true,
    );
    let size = parse_enum(
        problems,
        "organisation.size",
        draft.size.as_deref(),
        OrganisationSize::parse,
        OrganisationSize::allowed,
        false,
    );
    let country = match draft.country.as_deref() {
        None => {
            problems.push(Problem::new(
                "organisation.country",
                ProblemCode::Required,
                "`organisation.country` is required: an ISO 3166-1 alpha-2 code such as `CN`.",
            ));
            None
        }
        Some(code) => {
            let country = Country::new(code);
            if country.is_none() {
                problems.push(Problem::new("organisation.country", ProblemCode::UnknownValue, format!("`organisation.country` must be an ISO 3166-1 alpha-2 code in upper case such as `CN`; got `{code}`.")));
            }
            country
        }
    };
    Some(Organisation {
        name: name?,
        kind: kind?,
        size,
        country: country?,
    })
}

fn check_contact(problems: &mut Vec<Problem>, draft: &DraftContact) -> Option<Contact> {
    let name = required_text(
        problems,
        "contact.name",
        draft.name.as_deref(),
        1..=limits::NAME,
    );
    let email = match draft.email.as_deref() {
        None => {
            problems.push(Problem::new(
                "contact.email",
                ProblemCode::Required,
                "`contact.email` is required.",
            ));
            None
        }
        Some(email) if char_count(email) > limits::EMAIL => {
            problems.push(Problem::new(
                "contact.email",
                ProblemCode::TooLong,
                format!(
                    "`contact.email` must be at most {} characters.",
                    limits::EMAIL
                ),
            ));
            None
        }
        Some(email) if !is_plausible_email(email) => {
            problems.push(Problem::new(
                "contact.email",
                ProblemCode::InvalidFormat,
                format!("`contact.email` must look like name@example.org; got `{email}`."),
            ));
            None
        }
        Some(email) => Some(email.to_owned()),
    };
    let phone = match draft
        .phone
        .as_deref()
        .filter(|phone| !phone.trim().is_empty())
    {
        Some(phone) if char_count(phone) > limits::PHONE => {
            problems.push(Problem::new(
                "contact.phone",
                ProblemCode::TooLong,
                format!(
                    "`contact.phone` must be at most {} characters.",
                    limits::PHONE
                ),
            ));
            None
        }
        Some(phone)
            if !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
                || !phone.chars().any(|c| c.is_ascii_digit()) =>
        {
            problems.push(Problem::new(
                "contact.phone",
                ProblemCode::InvalidFormat,
                format!(
                    "`contact.phone` may hold digits, spaces and + - ( ) . only; got `{phone}`."
                ),
            ));
            None
        }
        other => other.map(str::to_owned),
    };
    Some(Contact {
        name: name?,
        email: email?,
        phone,
    })
}

/// Deliberately loose: one `@`, something before it, a dotted domain after it, no spaces.
/// Real validation of an address is sending mail to it.
fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

fn check_patents(problems: &mut Vec<Problem>, patents: &[String]) -> Vec<String> {
    check_count(problems, "patents", patents.len(), 0..=limits::PATENTS);
    let mut out = Vec::new();
    for (idx, patent) in patents.iter().enumerate() {
        let path = format!("patents[{idx}]");
        if patent.trim().is_empty() {
            problems.push(Problem::new(
                path,
                ProblemCode::Required,
                "Patent numbers must not be blank.",
            ));
        } else if check_length(problems, &path, patent, 1..=limits::PATENT) {
            out.push(patent.clone());
        }
    }
    out
}

fn check_budget(problems: &mut Vec<Problem>, draft: &DraftBudget) -> Option<Budget> {
    let mut amount = |field: &str, value: Option<i64>| -> Option<Option<u64>> {
        match value {
            None => Some(None),
            Some(value) => match u64::try_from(value) {
                Ok(value) => Some(Some(value)),
                Err(_) => {
                    problems.push(Problem::new(
                        field,
                        ProblemCode::OutOfRange,
                        format!("`{field}` must not be negative; got {value}."),
                    ));
                    None
                }
            },
        }
    };
    let min = amount("budget.min", draft.min);
    let max = amount("budget.max", draft.max);
    if let (Some(Some(low)), Some(Some(high))) = (min, max)
        && low > high
    {
        problems.push(Problem::new(
            "budget.max",
            ProblemCode::OutOfRange,
            format!("`budget.max` ({high}) must not be below `budget.min` ({low})."),
        ));
        return None;
    }
    let currency = match draft.currency.as_deref() {
        None => {
            problems.push(Problem::new(
                "budget.currency",
                ProblemCode::Required,
                "`budget.currency` is required: an ISO 4217 code such as `CNY`.",
            ));
            None
        }
        Some(code) => {
            let currency = Currency::new(code);
            if currency.is_none() {
                problems.push(Problem::new("budget.currency", ProblemCode::UnknownValue, format!("`budget.currency` must be an ISO 4217 code in upper case such as `CNY`; got `{code}`.")));
            }
            currency
        }
    };
    Some(Budget {
        min: min?,
        max: max?,
        currency: currency?,
    })
}
