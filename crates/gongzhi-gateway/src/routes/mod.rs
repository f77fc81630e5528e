//! The routes of DESIGN §6.

pub(crate) mod cases;
mod directory;
mod ops;
pub(crate) mod sessions;
pub(crate) mod stats;
pub(crate) mod track;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::openapi;
use crate::session::authenticate;
use crate::state::SharedState;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

pub(crate) use cases::{act, act_by_code, events, file_concern, get as get_case, list};
pub(crate) use directory::directory;
pub(crate) use ops::{healthz, metrics, readyz};
pub(crate) use sessions::{current, login, logout};
pub(crate) use stats::stats;
pub(crate) use track::track;

pub(crate) mod docs {
    pub use super::cases::{
        __path_act, __path_act_by_code, __path_events, __path_file_concern, __path_get, __path_list,
    };
    pub use super::directory::__path_directory;
    pub use super::ops::{__path_healthz, __path_metrics, __path_readyz};
    pub use super::sessions::{__path_current, __path_login, __path_logout};
    pub use super::stats::__path_stats;
    pub use super::track::__path_track;
}

async fn record(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    state
        .metrics
        .request(&method, &route, response.status().as_u16(), elapsed);
    tracing::debug!(%method, %route, status = response.status().as_u16(), elapsed_ms = elapsed.as_secs_f64() * 1e3, "request");
    response
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!("no route {} / 路径不存在", request.uri().path()))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
}

/// The gateway's router, with every route, the session middleware and metrics.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/api/v1/sessions", post(login).delete(logout))
        .route("/api/v1/sessions/current", get(current))
        .route("/api/v1/concerns", post(file_concern))
        .route("/api/v1/cases", get(list))
        .route("/api/v1/cases/{case_id}", get(get_case))
        .route("/api/v1/cases/{case_id}/events", get(events))
        .route("/api/v1/cases/{case_id}/{action}", post(act))
        .route("/api/v1/track/{tracking_code}", get(track))
        .route("/api/v1/track/{tracking_code}/{action}", post(act_by_code))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/directory", get(directory))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::web::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), record))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
