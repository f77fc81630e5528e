//! The raw engine under the HTTP load: the same web framework and the same SQLite, doing
//! only what cannot be left out — parse the JSON body, insert it in one durable
//! transaction (WAL, synchronous=FULL), answer 201. The load generator measures it in the
//! same run as `gongzhi dev`, so the product's figures read against a ceiling.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

use anyhow::Result;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

async fn file(
    State(pool): State<SqlitePool>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let id = Uuid::now_v7();
    let inserted = sqlx::query("INSERT INTO concerns (id, body) VALUES ($1, $2)")
        .bind(id)
        .bind(body.to_string())
        .execute(&pool)
        .await;
    match inserted {
        Ok(_) => (StatusCode::CREATED, Json(json!({"case_id": id}))),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": error.to_string()})),
        ),
    }
}

/// Serves `POST /api/v1/concerns` (and the few routes the load generator calls first)
/// until killed.
pub async fn serve(listen: SocketAddr, dir: &Path) -> Result<()> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(dir.join("raw.sqlite"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS concerns (id BLOB PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    let app = axum::Router::new()
        .route("/api/v1/concerns", post(file))
        .route("/readyz", get(|| async { "ready" }))
        .route(
            "/api/v1/sessions",
            post(|| async { Json(json!({"token": "raw"})) }),
        )
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
