//! Submitting and editing offers and needs. The form's values become a `Draft`, validated by
//! `core::validate` and written through the same group-commit writer as the API; on any problem the
//! form comes back (422) with every value as typed and each message beside its field. Nothing is
//! written unless everything is valid.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use silkmatch_core::{CoreError, Kind, Problem};
use silkmatch_index::{IndexError, Target, Write};

use super::form::{Errors, FormBody, Values};
use super::form_view::{FormTarget, render};
use super::i18n::t;
use super::layout::{page, respond};
use super::see_other;
use super::session::Visitor;
use crate::app::App;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::routes::listings::{load, validated_draft};

fn parse_kind(text: &str) -> Result<Kind, ApiError> {
    Kind::parse(text).ok_or_else(|| {
        ApiError::NotFound(format!(
            "there is no form for `{text}`; try /submit/offer or /submit/need"
        ))
    })
}

fn form_page(
    visitor: &Visitor,
    status: StatusCode,
    target: &FormTarget<'_>,
    values: &Values,
    errors: &Errors,
    editing: bool,
) -> Response {
    let lang = visitor.lang;
    let key = match (target.kind, editing) {
        (Kind::Offer, false) => "submit.title_offer",
        (Kind::Need, false) => "submit.title_need",
        (Kind::Offer, true) => "submit.edit_offer",
        (Kind::Need, true) => "submit.edit_need",
    };
    let body = html! {
        h1 { (t(lang, key)) }
        p { (t(lang, "submit.intro")) }
        (render(visitor, target, values, errors))
    };
    respond(status, page(visitor, t(lang, key), body))
}

/// The problems of an error that is about the listing's content, if it is one.
fn listing_problems(error: &ApiError) -> Option<Vec<Problem>> {
    match error {
        ApiError::Index(IndexError::Invalid(CoreError::Invalid(problems))) => {
            Some(problems.clone())
        }
        ApiError::MalformedBody(problem) | ApiError::InvalidParameter(problem) => {
            Some(vec![problem.clone()])
        }
        _ => None,
    }
}

/// `GET /submit/{kind}`: an empty form, with the organisation's own name and country filled in.
pub async fn new_form(
    State(app): State<App>,
    visitor: Visitor,
    PathId(kind): PathId,
) -> Result<Response, ApiError> {
    let kind = parse_kind(&kind)?;
    let signed_in = visitor.require()?;
    let organisation_id = signed_in.principal.organisation_id.clone();
    let organisation = app
        .blocking(move |engine| engine.organisation(&organisation_id))
        .await??;
    let mut values = Values::default();
    if let Some(record) = organisation {
        values = Values::prefilled(&record);
    }
    let action = format!("/submit/{}", kind.as_str());
    let target = FormTarget {
        kind,
        action: &action,
        version: None,
    };
    Ok(form_page(
        &visitor,
        StatusCode::OK,
        &target,
        &values,
        &Errors::default(),
        false,
    ))
}

/// `POST /submit/{kind}`.
pub async fn create(
    State(app): State<App>,
    visitor: Visitor,
    PathId(kind): PathId,
    form: FormBody,
) -> Result<Response, ApiError> {
    let kind = parse_kind(&kind)?;
    let signed_in = visitor.require()?;
    visitor.check_csrf(form.get("csrf"))?;
    let values = Values::from_form(&form);
    let action = format!("/submit/{}", kind.as_str());
    let target = FormTarget {
        kind,
        action: &action,
        version: None,
    };
    let owner = signed_in.principal.organisation_id.clone();
    let outcome = write(&app, kind, &values, form.get("action"), |validated| {
        Write::Create {
            owner,
            validated,
            idempotency: None,
        }
    })
    .await;
    match outcome {
        Ok(id) => Ok(see_other(&format!("/my?saved={id}"))),
        Err(error) => match listing_problems(&error) {
            Some(problems) => Ok(form_page(
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                &target,
                &values,
                &Errors::new(&problems),
                false,
            )),
            None => Err(error),
        },
    }
}

/// Validates the form's values (with the problems found while reading them) and writes them.
async fn write(
    app: &App,
    kind: Kind,
    values: &Values,
    action: Option<&str>,
    make: impl FnOnce(silkmatch_core::Validated) -> Write,
) -> Result<String, ApiError> {
    let status = (action == Some("publish")).then_some("published");
    let (draft, mut problems) = values.draft(kind, status);
    let validated = validated_draft(kind, draft);
    match validated {
        Ok(validated) if problems.is_empty() => {
            Ok(app.write(make(validated)).await?.listing().id.clone())
        }
        Ok(_) => Err(ApiError::Index(IndexError::invalid(problems))),
        Err(error) => {
            if let Some(more) = listing_problems(&error) {
                problems.extend(more);
                Err(ApiError::Index(IndexError::invalid(problems)))
            } else {
                Err(error)
            }
        }
    }
}

/// `GET /listings/{id}/edit`: the owner's form, filled in.
pub async fn edit_form(
    State(app): State<App>,
    visitor: Visitor,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let signed_in = visitor.require()?;
    let listing = load(
        &app,
        None,
        id,
        Some(&signed_in.principal.organisation_id),
        true,
    )
    .await?;
    let action = format!("/listings/{}/edit", listing.id);
    let target = FormTarget {
        kind: listing.body.kind,
        action: &action,
        version: Some(listing.version),
    };
    let values = Values::from_listing(&listing.body);
    Ok(form_page(
        &visitor,
        StatusCode::OK,
        &target,
        &values,
        &Errors::default(),
        true,
    ))
}

/// `POST /listings/{id}/edit`: replaces the listing if nobody changed it since the form was opened.
pub async fn update(
    State(app): State<App>,
    visitor: Visitor,
    PathId(id): PathId,
    form: FormBody,
) -> Result<Response, ApiError> {
    let signed_in = visitor.require()?;
    visitor.check_csrf(form.get("csrf"))?;
    let owner = signed_in.principal.organisation_id.clone();
    let current = load(&app, None, id.clone(), Some(&owner), true).await?;
    let expected_version = match form.get("version") {
        None | Some("") => None,
        Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
            ApiError::InvalidParameter(Problem::new(
                "version",
                silkmatch_core::ProblemCode::InvalidFormat,
                "The form's `version` is not a number; reload the edit page.",
            ))
        })?),
    };
    let kind = current.body.kind;
    let values = Values::from_form(&form);
    let action = format!("/listings/{id}/edit");
    let target = FormTarget {
        kind,
        action: &action,
        version: expected_version,
    };
    let write_target = Target {
        owner,
        id: id.clone(),
        expected_version,
    };
    match write(&app, kind, &values, form.get("action"), |validated| {
        Write::Replace {
            target: write_target,
            validated,
        }
    })
    .await
    {
        Ok(id) => Ok(see_other(&format!("/my?saved={id}"))),
        Err(error) => match listing_problems(&error) {
            Some(problems) => Ok(form_page(
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                &target,
                &values,
                &Errors::new(&problems),
                true,
            )),
            None => Err(error),
        },
    }
}
