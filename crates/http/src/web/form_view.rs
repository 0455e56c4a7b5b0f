//! How the offer/need form looks: every field with its label, hint and problems (tied to the input
//! with `aria-describedby` and `aria-invalid`), and a summary of the problems linking to the fields.

use maud::{Markup, html};
use silkmatch_core::{Cooperation, Ipr, Kind, OrganisationKind, TechnologyField};

use super::form::{Errors, Values};
use super::i18n::{Lang, t};
use super::layout::csrf_field;
use super::session::Visitor;

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
