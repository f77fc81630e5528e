//! The HTTP gateway (DESIGN §6): the REST API over the command services and the views,
//! sessions and role/area scope, the error shape, OpenAPI, metrics and rate limits; and
//! the web pages (`web`), which are a face on the same handlers.
//!
//! `serve` takes an already-bound listener and a shutdown future, so tests start the real
//! thing on port 0.

mod bodies;
mod config;
mod error;
mod i18n;
mod limit;
mod metrics;
mod openapi;
mod out;
mod routes;
mod scope;
mod session;
mod state;
mod web;

use std::future::Future;
use std::net::SocketAddr;

pub use config::GatewayConfig;
pub use error::ApiError;
pub use routes::router;
pub use state::{AppState, Gateway, SharedState};
use tokio::net::TcpListener;

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests
/// under way.
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = state.clone();
    let shutdown = async move {
        shutdown.await;
        closing.closing.send_replace(true);
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
