//! The offer/need form: what was typed (kept verbatim, so nothing is lost when it is shown again),
//! the `Draft` it makes for `core::validate`, and every problem shown next to its field.
//!
//! Field names are the data model's JSON paths (`title`, `organisation.country`, `contact.email`),
//! so validation problems land on their inputs without a mapping table.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use axum::http::header;
use silkmatch_core::{
    Draft, DraftContact, DraftOrganisation, Kind, ListingBody, Problem, ProblemCode,
};

use silkmatch_index::store::OrganisationRecord;

use crate::app::App;
use crate::error::ApiError;
use crate::extract::read_body;
use crate::routes::search::pairs;

/// A urlencoded form body, decoded into name/value pairs. Other content types, bodies over the
/// router's limit and bad encodings are refused with a page naming the problem.
pub struct FormBody(pub Vec<(String, String)>);

impl FromRequest<App> for FormBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &App) -> Result<Self, Self::Rejection> {
        let urlencoded = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !urlencoded {
            return Err(ApiError::MalformedBody(Problem::new(
                "",
                ProblemCode::InvalidFormat,
                "Send this form from its page (application/x-www-form-urlencoded).",
            )));
        }
        let bytes = read_body(request, app, |_| {
            Problem::new(
                "",
                ProblemCode::InvalidFormat,
                "The form could not be read.",
            )
        })
        .await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            ApiError::MalformedBody(Problem::new(
                "",
                ProblemCode::InvalidFormat,
                "The form is not valid UTF-8.",
            ))
        })?;
        Ok(FormBody(pairs(Some(text))?))
    }
}

impl FormBody {
    /// The last value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the form holds: every value as typed.
#[derive(Debug, Clone, Default)]
pub struct Values(HashMap<String, Vec<String>>);

/// Fields whose several values are a list (checkboxes, multiple select).
const MULTI: [&str; 2] = ["technology_fields", "cooperation"];
/// Free-text fields (one value each).
const TEXTS: [&str; 16] = [
    "language",
    "title",
    "summary",
    "description",
    "advantages",
    "requirements",
    "partner_sought",
    "keywords",
    "sectors",
    "trl",
    "trl_min",
    "ipr",
    "organisation.name",
    "organisation.kind",
    "organisation.country",
    "target_countries",
];
const CONTACT: [&str; 3] = ["contact.name", "contact.email", "contact.phone"];

impl Values {
    /// The form's fields out of a posted body (anything else posted is ignored).
    pub fn from_form(form: &FormBody) -> Values {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in &form.0 {
            if MULTI.contains(&name.as_str())
                || TEXTS.contains(&name.as_str())
                || CONTACT.contains(&name.as_str())
            {
                map.entry(name.clone()).or_default().push(value.clone());
            }
        }
        Values(map)
    }

    /// A new form with the signed-in organisation's name, kind and country filled in.
    pub fn prefilled(organisation: &OrganisationRecord) -> Values {
        let mut values = Values::default();
        for (name, value) in [
            ("organisation.name", organisation.name.clone()),
            ("organisation.kind", organisation.kind.clone()),
            ("organisation.country", organisation.country.clone()),
        ] {
            values.0.insert(name.to_owned(), vec![value]);
        }
        values
    }

    /// The form filled from a stored listing (editing).
    pub fn from_listing(body: &ListingBody) -> Values {
        let mut values = Values::default();
        let mut set = |name: &str, value: String| values.0.insert(name.to_owned(), vec![value]);
        set("language", body.language.as_str().to_owned());
        set("title", body.title.clone());
        set("summary", body.summary.clone());
        for (name, text) in [
            ("description", &body.description),
            ("advantages", &body.advantages),
            ("requirements", &body.requirements),
            ("partner_sought", &body.partner_sought),
        ] {
            set(name, text.clone().unwrap_or_default());
        }
        set("keywords", body.keywords.join(", "));
        set(
            "sectors",
            body.sectors
                .iter()
                .map(|s| s.letter().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        set(
            "trl",
            body.trl
                .map(|trl| trl.get().to_string())
                .unwrap_or_default(),
        );
        set(
            "trl_min",
            body.trl_min
                .map(|trl| trl.get().to_string())
                .unwrap_or_default(),
        );
        set(
            "ipr",
            body.ipr
                .map(|ipr| ipr.as_str().to_owned())
                .unwrap_or_default(),
        );
        set("organisation.name", body.organisation.name.clone());
        set(
            "organisation.kind",
            body.organisation.kind.as_str().to_owned(),
        );
        set(
            "organisation.country",
            body.organisation.country.as_str().to_owned(),
        );
        set(
            "target_countries",
            body.target_countries
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(", "),
        );
        if let Some(contact) = &body.contact {
            set("contact.name", contact.name.clone());
            set("contact.email", contact.email.clone());
            set("contact.phone", contact.phone.clone().unwrap_or_default());
        }
        values.0.insert(
            "technology_fields".into(),
            body.technology_fields
                .iter()
                .map(|field| field.get().to_string())
                .collect(),
        );
        values.0.insert(
            "cooperation".into(),
            body.cooperation
                .iter()
                .map(|way| way.as_str().to_owned())
                .collect(),
        );
        values
    }

    /// The value of a one-value field, as typed.
    pub fn one(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|values| values.last())
            .map_or("", String::as_str)
    }

    pub(super) fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    fn text(&self, name: &str) -> Option<String> {
        let value = self.one(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.one(name)
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The draft these values make, plus the problems found before validation (numbers that are
    /// not numbers). `status` is what the submit button asked for.
    pub fn draft(&self, kind: Kind, status: Option<&str>) -> (Draft, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut number = |name: &str, text: &str| -> Option<i64> {
            match text.trim().parse::<i64>() {
                Ok(number) => Some(number),
                Err(_) => {
                    problems.push(Problem::new(
                        name,
                        ProblemCode::InvalidType,
                        format!("`{text}` is not a whole number."),
                    ));
                    None
                }
            }
        };
        let technology_fields = self
            .all("technology_fields")
            .iter()
            .filter(|value| !value.trim().is_empty())
            .filter_map(|value| number("technology_fields", value))
            .collect();
        let trl = self.text("trl").and_then(|value| number("trl", &value));
        let trl_min = self
            .text("trl_min")
            .and_then(|value| number("trl_min", &value));
        let contact = CONTACT
            .iter()
            .any(|name| self.text(name).is_some())
            .then(|| DraftContact {
                name: self.text("contact.name"),
                email: self.text("contact.email"),
                phone: self.text("contact.phone"),
            });
        let offer = kind == Kind::Offer;
        let draft = Draft {
            kind: Some(kind.as_str().to_owned()),
            status: status.map(str::to_owned),
            language: self.text("language"),
            title: self.text("title"),
            summary: self.text("summary"),
            description: self.text("description"),
            advantages: if offer { self.text("advantages") } else { None },
            requirements: if offer {
                None
            } else {
                self.text("requirements")
            },
            partner_sought: self.text("partner_sought"),
            keywords: self.list("keywords"),
            technology_fields,
            sectors: self
                .list("sectors")
                .into_iter()
                .map(|sector| sector.to_ascii_uppercase())
                .collect(),
            trl: if offer { trl } else { None },
            trl_min: if offer { None } else { trl_min },
            ipr: if offer { self.text("ipr") } else { None },
            cooperation: self
                .all("cooperation")
                .iter()
                .filter(|way| !way.is_empty())
                .cloned()
                .collect(),
            organisation: Some(DraftOrganisation {
                name: self.text("organisation.name"),
                kind: self.text("organisation.kind"),
                size: None,
                country: self
                    .text("organisation.country")
                    .map(|country| country.to_ascii_uppercase()),
            }),
            target_countries: self
                .list("target_countries")
                .into_iter()
                .map(|country| country.to_ascii_uppercase())
                .collect(),
            contact,
            ..Draft::default()
        };
        (draft, problems)
    }
}

/// Problems grouped by the form field they belong to; those of no field go to the top.
#[derive(Debug, Default)]
pub struct Errors {
    pub(super) by_field: HashMap<String, Vec<String>>,
    pub(super) general: Vec<String>,
}

impl Errors {
    /// Sorts problems onto fields: `technology_fields[2]` onto `technology_fields`, `contact` onto
    /// the contact name, unknown paths to the top.
    pub fn new(problems: &[Problem]) -> Errors {
        let mut errors = Errors::default();
        for problem in problems {
            let base = problem.field.split('[').next().unwrap_or("");
            let field = match base {
                "contact" => "contact.name",
                "organisation" => "organisation.name",
                other => other,
            };
            let known =
                MULTI.contains(&field) || TEXTS.contains(&field) || CONTACT.contains(&field);
            if known {
                errors
                    .by_field
                    .entry(field.to_owned())
                    .or_default()
                    .push(problem.message.clone());
            } else {
                errors.general.push(problem.message.clone());
            }
        }
        errors
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_empty()
    }

    pub(super) fn count(&self) -> usize {
        self.by_field.values().map(Vec::len).sum::<usize>() + self.general.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_make_a_draft_and_bad_numbers_are_named() {
        let form = FormBody(vec![
            ("title".into(), " Solar pump ".into()),
            ("technology_fields".into(), "12".into()),
            ("technology_fields".into(), "x".into()),
            ("cooperation".into(), "licence".into()),
            ("organisation.country".into(), "kz".into()),
            ("contact.email".into(), "a@b.example".into()),
            ("requirements".into(), "ignored for offers".into()),
        ]);
        let values = Values::from_form(&form);
        let (draft, problems) = values.draft(Kind::Offer, None);
        assert_eq!(draft.title.as_deref(), Some("Solar pump"));
        assert_eq!(draft.technology_fields, vec![12]);
        assert_eq!(draft.requirements, None);
        assert_eq!(draft.organisation.unwrap().country.as_deref(), Some("KZ"));
        assert_eq!(draft.contact.unwrap().email.as_deref(), Some("a@b.example"));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "technology_fields");
        assert_eq!(
            values.one("title"),
            " Solar pump ",
            "what was typed is kept verbatim"
        );
    }

    #[test]
    fn problems_land_on_their_fields() {
        let errors = Errors::new(&[
            Problem::new("technology_fields[1]", ProblemCode::OutOfRange, "too big"),
            Problem::new("contact", ProblemCode::Required, "needed"),
            Problem::new("budget", ProblemCode::NotApplicable, "no"),
        ]);
        assert!(errors.by_field.contains_key("technology_fields"));
        assert!(errors.by_field.contains_key("contact.name"));
        assert_eq!(errors.general, vec!["no".to_owned()]);
    }
}
