//! `/v1/organisations` and `/v1/tokens`: administration, for administrator tokens only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use silkmatch_core::{
    Country, Organisation, OrganisationKind, OrganisationSize, Problem, ProblemCode,
};
use silkmatch_index::IndexError;

use crate::app::{App, now};
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, PathId};

fn parse<T: for<'de> Deserialize<'de>>(body: &JsonBody) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(&body.0);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let field = err.path().to_string();
        let field = if field == "." { String::new() } else { field };
        ApiError::MalformedBody(Problem::new(
            field,
            ProblemCode::InvalidType,
            format!("The body does not fit: {}.", err.inner()),
        ))
    })
}

fn invalid(field: &str, code: ProblemCode, message: String) -> ApiError {
    ApiError::Index(IndexError::invalid(vec![Problem::new(
        field, code, message,
    )]))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrganisation {
    name: String,
    kind: String,
    size: Option<String>,
    country: String,
}

/// `POST /v1/organisations`.
pub async fn create_organisation(
    State(app): State<App>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_admin()?;
    let new: NewOrganisation = parse(&body)?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 256 {
        return Err(invalid(
            "name",
            ProblemCode::OutOfRange,
            "`name` must be 1 to 256 characters.".into(),
        ));
    }
    let kind = OrganisationKind::parse(&new.kind).ok_or_else(|| {
        invalid(
            "kind",
            ProblemCode::UnknownValue,
            format!("`kind` must be one of {}.", OrganisationKind::allowed()),
        )
    })?;
    let size = new
        .size
        .map(|size| {
            OrganisationSize::parse(&size).ok_or_else(|| {
                invalid(
                    "size",
                    ProblemCode::UnknownValue,
                    format!("`size` must be one of {}.", OrganisationSize::allowed()),
                )
            })
        })
        .transpose()?;
    let country = Country::new(&new.country).ok_or_else(|| {
        invalid(
            "country",
            ProblemCode::UnknownValue,
            "`country` must be an ISO 3166-1 alpha-2 code such as CN.".into(),
        )
    })?;
    let organisation = Organisation {
        name,
        kind,
        size,
        country,
    };
    let record = app
        .blocking(move |engine| engine.create_organisation(&organisation, now()))
        .await??;
    Ok((StatusCode::CREATED, Json(json!(record))))
}

/// `GET /v1/organisations`.
pub async fn list_organisations(
    State(app): State<App>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let organisations = app.blocking(|engine| engine.organisations()).await??;
    Ok(Json(json!({ "organisations": organisations })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    organisation_id: String,
    name: String,
    #[serde(default)]
    admin: bool,
}

/// `POST /v1/tokens`: the token text is in this response and nowhere else, ever.
pub async fn create_token(
    State(app): State<App>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require_admin()?;
    let new: NewToken = parse(&body)?;
    if new.name.trim().is_empty() || new.name.chars().count() > 128 {
        return Err(invalid(
            "name",
            ProblemCode::OutOfRange,
            "`name` must be 1 to 128 characters.".into(),
        ));
    }
    let (record, token) = app
        .blocking(move |engine| {
            engine.create_token(&new.organisation_id, &new.name, new.admin, now())
        })
        .await??;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": token, "record": record })),
    ))
}

/// `GET /v1/tokens`.
pub async fn list_tokens(State(app): State<App>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let tokens = app.blocking(|engine| engine.tokens(None)).await??;
    Ok(Json(json!({ "tokens": tokens })))
}

/// `DELETE /v1/tokens/{id}`.
pub async fn revoke_token(
    State(app): State<App>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    app.blocking(move |engine| engine.revoke_token(&id, now()))
        .await??;
    Ok(StatusCode::NO_CONTENT)
}
