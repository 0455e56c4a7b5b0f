//! Operations: liveness, readiness, metrics, the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::{App, now};
use crate::error::ApiError;

/// `GET /healthz`: the process answers. Never touches the engine, so it stays fast under load.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the index is open and has caught up with the store.
pub async fn readyz(State(app): State<App>) -> Result<Response, ApiError> {
    let stats = app.blocking(|engine| engine.stats(now())).await??;
    let ready = stats.index_seq >= stats.store.last_seq;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, Json(json!({ "ready": ready, "index_seq": stats.index_seq, "store_seq": stats.store.last_seq }))).into_response())
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(app): State<App>) -> Result<Response, ApiError> {
    let stats = app.blocking(|engine| engine.stats(now())).await??;
    let gauges = [
        (
            "silkmatch_index_bytes",
            "Search index size on disk.",
            stats.index_bytes as f64,
        ),
        (
            "silkmatch_store_bytes",
            "Record store size on disk.",
            stats.store_bytes as f64,
        ),
        (
            "silkmatch_index_documents",
            "Documents in the search index.",
            stats.index_documents as f64,
        ),
        (
            "silkmatch_listings",
            "Listings in the record store.",
            stats.store.listings as f64,
        ),
        (
            "silkmatch_uptime_seconds",
            "Seconds since the server started.",
            app.uptime().as_secs_f64(),
        ),
    ];
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics().render(&gauges),
    )
        .into_response())
}

/// `GET /v1/openapi.json`, generated from the route table.
pub async fn openapi() -> Json<Value> {
    Json(super::openapi_document())
}
