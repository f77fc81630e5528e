//! Store fixtures: a fresh SQLite file or a fresh PostgreSQL cluster per test.

use chrono::Utc;
use gongzhi_store::{AnyEventStore, Metadata, NewEvent, connect};
use gongzhi_test_support::PgCluster;
use uuid::Uuid;

/// Keeps whatever backs a store alive for the length of a test.
pub enum Guard {
    Sqlite(#[allow(dead_code, reason = "dropping it deletes the files")] tempfile::TempDir),
    Postgres(#[allow(dead_code, reason = "dropping it stops the server")] PgCluster),
}

pub async fn sqlite_store() -> (Guard, AnyEventStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.sqlite").display());
    let store = connect(&url).await.unwrap();
    (Guard::Sqlite(dir), store)
}

pub async fn postgres_store() -> (Guard, AnyEventStore) {
    let cluster = PgCluster::start().unwrap();
    let store = connect(&format!("{}?schema=intake", cluster.url()))
        .await
        .unwrap();
    (Guard::Postgres(cluster), store)
}

pub fn event(kind: &'static str, n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        context: "intake",
        event_type: kind,
        schema_version: 1,
        payload: serde_json::json!({ "n": n, "text": "石龙社区 noise" }),
        causal: None,
    }
}

pub fn metadata(key: Option<&str>) -> Metadata {
    Metadata {
        actor: "tester".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: key.map(str::to_owned),
        recorded_at: Utc::now(),
    }
}
