//! What a client sends: loosely typed, so that validation can see every field and report every
//! problem at once instead of stopping at the first value serde cannot convert.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::validate::{Problem, ProblemCode};

/// A listing as submitted (HTTP body, import line, CLI file). Unknown fields are rejected by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Field meanings are those of `ListingBody`; the data model documents them.
pub struct Draft {
    pub kind: Option<String>,
    pub external_id: Option<String>,
    pub status: Option<String>,
    pub language: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub advantages: Option<String>,
    pub requirements: Option<String>,
    pub partner_sought: Option<String>,
    #[serde(default)]
    pub translations: BTreeMap<String, DraftTranslation>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub technology_fields: Vec<i64>,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default)]
    pub sdgs: Vec<i64>,
    pub trl: Option<i64>,
    pub trl_min: Option<i64>,
    pub ipr: Option<String>,
    #[serde(default)]
    pub patents: Vec<String>,
    #[serde(default)]
    pub cooperation: Vec<String>,
    pub organisation: Option<DraftOrganisation>,
    #[serde(default)]
    pub target_countries: Vec<String>,
    pub budget: Option<DraftBudget>,
    pub price_negotiable: Option<bool>,
    pub contact: Option<DraftContact>,
}

/// A submitted translation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct DraftTranslation {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
}

/// A submitted organisation block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct DraftOrganisation {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub size: Option<String>,
    pub country: Option<String>,
}

/// A submitted budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct DraftBudget {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub currency: Option<String>,
}

/// A submitted contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct DraftContact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Parses one JSON listing. A shape error (bad JSON, wrong type, unknown field) is one problem
/// with the path of the offending field, since nothing past it can be read reliably.
pub fn parse_draft(json: &str) -> Result<Draft, Problem> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let draft: Draft =
        serde_path_to_error::deserialize(&mut deserializer).map_err(shape_problem)?;
    deserializer.end().map_err(|err| {
        Problem::new(
            "",
            ProblemCode::MalformedJson,
            format!("Trailing characters after the listing: {err}."),
        )
    })?;
    Ok(draft)
}

/// Same as `parse_draft`, from an already parsed JSON value (CSV rows, merge patches).
pub fn draft_from_value(value: serde_json::Value) -> Result<Draft, Problem> {
    serde_path_to_error::deserialize(value).map_err(shape_problem)
}

fn shape_problem<E: std::fmt::Display + ErrorCategory>(
    err: serde_path_to_error::Error<E>,
) -> Problem {
    let path = err.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let inner = err.inner();
    let detail = inner.to_string();
    if !inner.is_data() {
        return Problem::new(
            path,
            ProblemCode::MalformedJson,
            format!("The listing is not valid JSON: {detail}."),
        );
    }
    if let Some(rest) = detail.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        // serde_path_to_error already ends the path with the unknown field's name.
        return Problem::new(
            path,
            ProblemCode::UnknownField,
            format!("`{name}` is not a field of this object."),
        );
    }
    Problem::new(
        path.clone(),
        ProblemCode::InvalidType,
        format!("`{path}` has the wrong type: {detail}."),
    )
}

/// Distinguishes data errors (wrong type, unknown field) from syntax errors across serde_json's error types.
trait ErrorCategory {
    fn is_data(&self) -> bool;
}

impl ErrorCategory for serde_json::Error {
    fn is_data(&self) -> bool {
        self.is_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let problem = parse_draft(r#"{"kind":"offer","organisation":{"name":"x","colour":"red"}}"#)
            .unwrap_err();
        assert_eq!(problem.field, "organisation.colour");
        assert_eq!(problem.code, ProblemCode::UnknownField);
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let problem = parse_draft(r#"{"trl":"five"}"#).unwrap_err();
        assert_eq!(
            (problem.field.as_str(), problem.code),
            ("trl", ProblemCode::InvalidType)
        );
        let problem = parse_draft(r#"{"technology_fields":[1,"x"]}"#).unwrap_err();
        assert_eq!(problem.field, "technology_fields[1]");
    }

    #[test]
    fn broken_json_is_malformed() {
        assert_eq!(
            parse_draft(r#"{"kind":"#).unwrap_err().code,
            ProblemCode::MalformedJson
        );
        assert_eq!(
            parse_draft("not json").unwrap_err().code,
            ProblemCode::MalformedJson
        );
        assert_eq!(
            parse_draft("{} {}").unwrap_err().code,
            ProblemCode::MalformedJson
        );
    }
}
