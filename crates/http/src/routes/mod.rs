//! The route table. Every route is declared once here, with its method, path and summary; the router
//! and the OpenAPI document are both built from this table, so they cannot disagree.

mod admin;
pub(crate) mod listings;
pub(crate) mod matches;
mod ops;
mod recommendations;
pub(crate) mod search;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde_json::Value;
use silkmatch_core::Kind;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Paths};
use utoipa::openapi::{InfoBuilder, OpenApiBuilder};

use crate::app::App;
use listings::Lifecycle;

/// One route: what it is and who may call it.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path template, axum syntax (`{id}`), which is also OpenAPI's.
    pub path: &'static str,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// Whether a bearer token is required.
    pub auth: Auth,
    handler: fn() -> MethodRouter<App>,
}

/// Credentials a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone (a token, when given, must be valid and may show more).
    Public,
    /// A partner's token.
    Partner,
    /// An administrator's token.
    Admin,
}

macro_rules! route {
    ($method:ident $path:literal $auth:ident $summary:literal => $handler:expr) => {
        Route {
            method: Method::from_bytes(stringify!($method).to_uppercase().as_bytes())
                .expect("valid method"),
            path: $path,
            summary: $summary,
            auth: Auth::$auth,
            handler: || $method($handler),
        }
    };
}

/// Every route of the API.
pub fn table() -> Vec<Route> {
    vec![
        route!(get "/healthz" Public "Liveness: the process answers" => ops::healthz),
        route!(get "/readyz" Public "Readiness: the index has caught up with the store" => ops::readyz),
        route!(get "/metrics" Public "Prometheus metrics" => ops::metrics),
        route!(get "/v1/openapi.json" Public "This document" => ops::openapi),
        route!(get "/v1/search" Public "Search published offers and needs, with filters, facets and snippets" => search::search),
        route!(post "/v1/offers" Partner "Create an offer (a draft unless `status` is `published`)" => |s, c, k, b| listings::create(Kind::Offer, s, c, k, b)),
        route!(post "/v1/needs" Partner "Create a need (a draft unless `status` is `published`)" => |s, c, k, b| listings::create(Kind::Need, s, c, k, b)),
        route!(get "/v1/offers/{id}" Public "Read an offer (contact only for its owner)" => |s, c, p| listings::read(Kind::Offer, s, c, p)),
        route!(get "/v1/needs/{id}" Public "Read a need (contact only for its owner)" => |s, c, p| listings::read(Kind::Need, s, c, p)),
        route!(put "/v1/offers/{id}" Partner "Replace an offer (If-Match honoured)" => |s, c, m, p, b| listings::replace(Kind::Offer, s, c, m, p, b)),
        route!(put "/v1/needs/{id}" Partner "Replace a need (If-Match honoured)" => |s, c, m, p, b| listings::replace(Kind::Need, s, c, m, p, b)),
        route!(patch "/v1/offers/{id}" Partner "Change an offer with a JSON merge patch" => |s, c, m, p, b| listings::patch(Kind::Offer, s, c, m, p, b)),
        route!(patch "/v1/needs/{id}" Partner "Change a need with a JSON merge patch" => |s, c, m, p, b| listings::patch(Kind::Need, s, c, m, p, b)),
        route!(delete "/v1/offers/{id}" Partner "Withdraw an offer" => |s, c, m, p| listings::change(Lifecycle::Withdraw, Kind::Offer, s, c, m, p)),
        route!(delete "/v1/needs/{id}" Partner "Withdraw a need" => |s, c, m, p| listings::change(Lifecycle::Withdraw, Kind::Need, s, c, m, p)),
        route!(post "/v1/offers/{id}/publish" Partner "Publish an offer for a year" => |s, c, m, p| listings::change(Lifecycle::Publish, Kind::Offer, s, c, m, p)),
        route!(post "/v1/needs/{id}/publish" Partner "Publish a need for a year" => |s, c, m, p| listings::change(Lifecycle::Publish, Kind::Need, s, c, m, p)),
        route!(post "/v1/offers/{id}/extend" Partner "Extend a live offer's publication by a year (at most two after publication)" => |s, c, m, p| listings::change(Lifecycle::Extend, Kind::Offer, s, c, m, p)),
        route!(post "/v1/needs/{id}/extend" Partner "Extend a live need's publication by a year (at most two after publication)" => |s, c, m, p| listings::change(Lifecycle::Extend, Kind::Need, s, c, m, p)),
        route!(get "/v1/needs/{id}/matches" Public "Offers that could serve this need, ranked, with reasons" => |s, c, p, q| matches::for_listing(Kind::Need, s, c, p, q)),
        route!(get "/v1/offers/{id}/matches" Public "Needs this offer could serve, ranked, with reasons" => |s, c, p, q| matches::for_listing(Kind::Offer, s, c, p, q)),
        route!(get "/v1/needs/{id}/recommendations" Public "Offers the last nightly batch run recommends for this need, with the run's time" => |s, c, p| recommendations::for_listing(Kind::Need, s, c, p)),
        route!(get "/v1/offers/{id}/recommendations" Public "Needs the last nightly batch run recommends for this offer, with the run's time" => |s, c, p| recommendations::for_listing(Kind::Offer, s, c, p)),
        route!(post "/v1/match" Public "Rank partners for a listing given in the body, without storing it" => matches::for_body),
        route!(post "/v1/organisations" Admin "Create an organisation" => admin::create_organisation),
        route!(get "/v1/organisations" Admin "List organisations" => admin::list_organisations),
        route!(post "/v1/tokens" Admin "Create an API token (shown once)" => admin::create_token),
        route!(get "/v1/tokens" Admin "List API tokens (never their secrets)" => admin::list_tokens),
        route!(delete "/v1/tokens/{id}" Admin "Revoke an API token" => admin::revoke_token),
    ]
}

/// The router of every route in the table (without middleware; see `crate::router`).
pub fn routes() -> Router<App> {
    table().into_iter().fold(Router::new(), |router, route| {
        router.route(route.path, (route.handler)())
    })
}

/// The OpenAPI 3.1 document of the table.
pub fn openapi_document() -> Value {
    let mut paths = Paths::new();
    for route in table() {
        let method = match route.method.as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            _ => HttpMethod::Delete,
        };
        let security = match route.auth {
            Auth::Public => "optional bearer token",
            Auth::Partner => "bearer token of the owning organisation",
            Auth::Admin => "administrator bearer token",
        };
        let operation = OperationBuilder::new()
            .summary(Some(route.summary))
            .description(Some(format!(
                "Credentials: {security}. Errors are application/problem+json."
            )))
            .build();
        paths.add_path_operation(route.path, vec![method], operation);
    }
    let info = InfoBuilder::new().title("silkmatch").version(env!("CARGO_PKG_VERSION")).description(Some("Technology-transfer matchmaking: search, submit and match technology offers and needs.")).build();
    serde_json::to_value(OpenApiBuilder::new().info(info).paths(paths).build())
        .unwrap_or(Value::Null)
}
