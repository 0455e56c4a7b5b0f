//! The offer/need form: what was typed (kept verbatim, so nothing is lost when it is shown again),
//! the `Draft` it makes for `core::validate`, and every problem shown next to its field.
//!
//! Field names are the data model's JSON paths (`title`, `organisation.country`, `contact.email`),
//! so validation problems land on their inputs without a mapping table.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use maud::{Markup, html};
use silkmatch_core::{
    Cooperation, Draft, DraftContact, DraftOrganisation, Ipr, Kind, ListingBody, OrganisationKind,
    Problem, ProblemCode, TechnologyField,
};

use silkmatch_index::store::OrganisationRecord;

use super::i18n::{Lang, t};
use super::layout::csrf_field;
use super::session::Visitor;
use crate::app::App;
use crate::error::ApiError;
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
        let bytes = Bytes::from_request(request, app)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge {
                        limit: crate::MAX_BODY_BYTES,
                    }
                } else {
                    ApiError::MalformedBody(Problem::new(
                        "",
                        ProblemCode::InvalidFormat,
                        "The form could not be read.",
                    ))
                }
            })?;
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

    fn all(&self, name: &str) -> &[String] {
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
    by_field: HashMap<String, Vec<String>>,
    general: Vec<String>,
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

    fn count(&self) -> usize {
        self.by_field.values().map(Vec::len).sum::<usize>() + self.general.len()
    }
}

/// Where the form posts and what it edits.
pub struct FormTarget<'a> {
    /// The kind being written.
    pub kind: Kind,
    /// The form's action path.
    pub action: &'a str,
    /// The version being edited (for a stale-edit check), `None` when creating.
    pub version: Option<u64>,
}

fn id_of(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

/// A labelled field with its problems; `input` gets the id, `aria-describedby` and `aria-invalid`.
fn field(
    lang: Lang,
    errors: &Errors,
    name: &str,
    hint: Option<&str>,
    input: impl FnOnce(&str, Option<&str>, bool) -> Markup,
) -> Markup {
    let id = id_of(name);
    let problems = errors.by_field.get(name);
    let described = format!("{id}-msg");
    let invalid = problems.is_some();
    html! {
        div class={ "field" @if invalid { " invalid" } } {
            label for=(id) { (t(lang, &format!("field.{name}"))) }
            @if let Some(hint) = hint { span.hint id={ (id) "-hint" } { (hint) } }
            @if let Some(problems) = problems {
                span.error id=(described) { @for problem in problems { (problem) " " } }
            }
            (input(&id, invalid.then_some(described.as_str()), invalid))
        }
    }
}

/// The whole form.
pub fn render(
    visitor: &Visitor,
    target: &FormTarget<'_>,
    values: &Values,
    errors: &Errors,
) -> Markup {
    let lang = visitor.lang;
    let offer = target.kind == Kind::Offer;
    let text_input = |name: &'static str, kind: &'static str, max: usize| {
        move |id: &str, described: Option<&str>, invalid: bool| {
            html! { input type=(kind) id=(id) name=(name) value=(values.one(name)) maxlength=(max)
            aria-describedby=[described] aria-invalid=[invalid.then_some("true")]; }
        }
    };
    let area = |name: &'static str| {
        move |id: &str, described: Option<&str>, invalid: bool| {
            html! { textarea id=(id) name=(name) rows="5" aria-describedby=[described] aria-invalid=[invalid.then_some("true")] { (values.one(name)) } }
        }
    };
    let chosen_fields = values.all("technology_fields");
    let chosen_ways = values.all("cooperation");
    html! {
        @if !errors.is_empty() {
            div.alert role="alert" tabindex="-1" id="problems" {
                p { strong { (errors.count()) " " (t(lang, "form.problems")) } }
                ul {
                    @for message in &errors.general { li { (message) } }
                    @for (name, messages) in &errors.by_field {
                        @for message in messages { li { a href={ "#" (id_of(name)) } { (t(lang, &format!("field.{name}"))) } ": " (message) } }
                    }
                }
            }
        }
        form.listing method="post" action=(target.action) novalidate {
            (csrf_field(visitor))
            @if let Some(version) = target.version { input type="hidden" name="version" value=(version); }
            fieldset {
                legend { (t(lang, "form.about")) }
                (field(lang, errors, "language", Some(t(lang, "hint.language")), text_input("language", "text", 35)))
                (field(lang, errors, "title", None, text_input("title", "text", 400)))
                (field(lang, errors, "summary", None, area("summary")))
                (field(lang, errors, "description", None, area("description")))
                @if offer { (field(lang, errors, "advantages", None, area("advantages"))) }
                @else { (field(lang, errors, "requirements", None, area("requirements"))) }
                (field(lang, errors, "partner_sought", None, area("partner_sought")))
                (field(lang, errors, "keywords", Some(t(lang, "hint.comma")), text_input("keywords", "text", 2000)))
            }
            fieldset {
                legend { (t(lang, "form.technology")) }
                (field(lang, errors, "technology_fields", Some(t(lang, "hint.multiple")), |id, described, invalid| html! {
                    select id=(id) name="technology_fields" multiple size="6" aria-describedby=[described] aria-invalid=[invalid.then_some("true")] {
                        @for number in 1..=35u8 {
                            @if let Some(tech) = TechnologyField::new(number) {
                                option value=(number) selected[chosen_fields.iter().any(|v| v.trim() == number.to_string())] { (number) " · " (tech.name()) }
                            }
                        }
                    }
                }))
                (field(lang, errors, "sectors", Some(t(lang, "hint.sectors")), text_input("sectors", "text", 100)))
                @if offer {
                    (field(lang, errors, "trl", None, |id, described, invalid| trl_select(id, "trl", values.one("trl"), described, invalid)))
                    (field(lang, errors, "ipr", None, |id, described, invalid| html! {
                        select id=(id) name="ipr" aria-describedby=[described] aria-invalid=[invalid.then_some("true")] {
                            option value="" { "—" }
                            @for ipr in Ipr::ALL { option value=(ipr.as_str()) selected[values.one("ipr") == ipr.as_str()] { (t(lang, &format!("ipr.{}", ipr.as_str()))) } }
                        }
                    }))
                } @else {
                    (field(lang, errors, "trl_min", None, |id, described, invalid| trl_select(id, "trl_min", values.one("trl_min"), described, invalid)))
                }
                div class={ "field" @if errors.by_field.contains_key("cooperation") { " invalid" } } {
                    fieldset.checks id=(id_of("cooperation")) aria-describedby=[errors.by_field.contains_key("cooperation").then_some("f-cooperation-msg")] {
                        legend.label { (t(lang, "field.cooperation")) }
                        @if let Some(problems) = errors.by_field.get("cooperation") {
                            span.error id="f-cooperation-msg" { @for problem in problems { (problem) " " } }
                        }
                        @for way in Cooperation::ALL {
                            @let id = format!("f-cooperation-{}", way.as_str());
                            span {
                                input type="checkbox" id=(id) name="cooperation" value=(way.as_str()) checked[chosen_ways.iter().any(|v| v == way.as_str())];
                                " " label for=(id) { (t(lang, &format!("cooperation.{}", way.as_str()))) }
                            }
                        }
                    }
                }
            }
            fieldset {
                legend { (t(lang, "form.organisation")) }
                (field(lang, errors, "organisation.name", None, text_input("organisation.name", "text", 300)))
                (field(lang, errors, "organisation.kind", None, |id, described, invalid| html! {
                    select id=(id) name="organisation.kind" aria-describedby=[described] aria-invalid=[invalid.then_some("true")] {
                        option value="" { "—" }
                        @for kind in OrganisationKind::ALL { option value=(kind.as_str()) selected[values.one("organisation.kind") == kind.as_str()] { (t(lang, &format!("orgkind.{}", kind.as_str()))) } }
                    }
                }))
                (field(lang, errors, "organisation.country", Some(t(lang, "hint.country")), text_input("organisation.country", "text", 10)))
                (field(lang, errors, "target_countries", Some(t(lang, "hint.countries")), text_input("target_countries", "text", 1000)))
            }
            fieldset {
                legend { (t(lang, "form.contact")) }
                p.hint { (t(lang, "hint.contact")) }
                (field(lang, errors, "contact.name", None, text_input("contact.name", "text", 300)))
                (field(lang, errors, "contact.email", None, text_input("contact.email", "email", 300)))
                (field(lang, errors, "contact.phone", None, text_input("contact.phone", "text", 100)))
            }
            p.actions {
                button type="submit" name="action" value="save" { (t(lang, "form.save")) }
                button.secondary type="submit" name="action" value="publish" { (t(lang, "form.save_publish")) }
            }
        }
    }
}

fn trl_select(
    id: &str,
    name: &str,
    current: &str,
    described: Option<&str>,
    invalid: bool,
) -> Markup {
    html! {
        select id=(id) name=(name) aria-describedby=[described] aria-invalid=[invalid.then_some("true")] {
            option value="" { "—" }
            @for level in 1..=9u8 { option value=(level) selected[current.trim() == level.to_string()] { (level) } }
        }
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
