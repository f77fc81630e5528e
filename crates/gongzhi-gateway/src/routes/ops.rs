//! Liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::SharedState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200)))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The process can serve: views and accounts answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200), (status = 503)))]
pub async fn readyz(State(state): State<SharedState>) -> Response {
    let views = state.gateway.views.checkpoint("views").await;
    let accounts = state.gateway.accounts.count().await;
    match (views, accounts) {
        (Ok(_), Ok(_)) => Json(json!({"status": "ready"})).into_response(),
        (views, accounts) => {
            let problem = views
                .err()
                .map(|e| format!("views: {e}"))
                .or(accounts.err().map(|e| format!("accounts: {e}")))
                .unwrap_or_default();
            tracing::warn!(%problem, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not ready", "problem": "a database does not answer; see the server log"})),
            )
                .into_response()
        }
    }
}

/// Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200)))]
pub async fn metrics(State(state): State<SharedState>) -> Response {
    let position = *state.gateway.committed.borrow();
    let text = state.metrics.render(&[(
        "gongzhi_projection_position",
        "Global position up to which the views are written.",
        position.sequence as f64,
    )]);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
