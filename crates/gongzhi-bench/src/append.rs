//! Append throughput: the store's `append` (one event per command, with an idempotency key
//! and a version check) beside plain single-row INSERT transactions of the same payload into
//! a table of the same columns, same database, same durability settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Result;
use chrono::Utc;
use gongzhi_store::{
    AppendRequest, EventStore, Metadata, NewEvent, PostgresEventStore, PostgresOptions,
    SqliteEventStore, SqliteOptions,
};
use gongzhi_test_support::{PgCluster, PgSettings};
use sqlx::{Executor, PgPool, SqlitePool};
use uuid::Uuid;

const RAW_TABLE: &str = "CREATE TABLE IF NOT EXISTS raw_events (
    position INTEGER PRIMARY KEY, event_id BLOB NOT NULL, stream_id BLOB NOT NULL,
    stream_version INTEGER NOT NULL, context TEXT NOT NULL, event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL, payload TEXT NOT NULL, actor TEXT NOT NULL,
    correlation_id BLOB NOT NULL, causation_id BLOB, idempotency_key TEXT, recorded_at INTEGER NOT NULL)";

const RAW_TABLE_PG: &str = "CREATE TABLE IF NOT EXISTS raw_events (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id UUID NOT NULL, stream_id UUID NOT NULL,
    stream_version BIGINT NOT NULL, context TEXT NOT NULL, event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL, payload JSONB NOT NULL, actor TEXT NOT NULL,
    correlation_id UUID NOT NULL, causation_id UUID, idempotency_key TEXT, recorded_at BIGINT NOT NULL)";

const RAW_INSERT: &str = "INSERT INTO raw_events (event_id, stream_id, stream_version, context, event_type, \
    schema_version, payload, actor, correlation_id, causation_id, idempotency_key, recorded_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// A realistic single-event command payload (a triage decision with a note).
fn payload() -> serde_json::Value {
    serde_json::json!({
        "unit": "urban-management",
        "dispatch": 1,
        "note": "请于今日内联系诉求人，核实汇裕名都花园施工噪音情况",
        "response_due": "2026-11-24T02:00:00Z",
        "resolution_due": "2026-12-10T02:00:00Z"
    })
}

struct Figures {
    store: f64,
    raw: f64,
}

fn print_row(backend: &str, writers: usize, figures: &Figures) {
    println!(
        "append  {backend:<16} writers={writers:<3} store {:>9.0} appends/s   raw INSERT {:>9.0} tx/s   ratio {:>5.1}%",
        figures.store,
        figures.raw,
        100.0 * figures.store / figures.raw
    );
}

/// Runs `total` operations split over `writers` tasks; returns operations per second.
async fn measure<F, Fut>(writers: usize, total: usize, operation: F) -> Result<f64>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let operation = Arc::new(operation);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (operation, next) = (operation.clone(), next.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    operation(writer, n).await?;
                    n += 1;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

async fn store_appends<S: EventStore>(store: Arc<S>, writers: usize, total: usize) -> Result<f64> {
    let streams: Arc<Vec<Uuid>> = Arc::new((0..writers).map(|_| Uuid::now_v7()).collect());
    let payload = Arc::new(payload());
    measure(writers, total, move |writer, n| {
        let (store, streams, payload) = (store.clone(), streams.clone(), payload.clone());
        async move {
            let events = [NewEvent {
                event_id: Uuid::now_v7(),
                context: "assignment",
                event_type: "CaseDispatched",
                schema_version: 1,
                payload: (*payload).clone(),
                causal: None,
            }];
            let metadata = Metadata {
                actor: "bench".into(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                idempotency_key: Some(Uuid::now_v7().to_string()),
                recorded_at: Utc::now(),
            };
            store
                .append(AppendRequest {
                    stream_id: streams[writer],
                    expected_version: n as u64,
                    events: &events,
                    metadata: &metadata,
                })
                .await?;
            Ok(())
        }
    })
    .await
}

macro_rules! raw_insert {
    ($pool:expr, $payload:expr, $bind_payload:expr) => {{
        sqlx::query(RAW_INSERT)
            .bind(Uuid::now_v7())
            .bind(Uuid::now_v7())
            .bind(1_i64)
            .bind("assignment")
            .bind("CaseDispatched")
            .bind(1_i32)
            .bind($bind_payload)
            .bind("bench")
            .bind(Uuid::now_v7())
            .bind(None::<Uuid>)
            .bind(Some(Uuid::now_v7().to_string()))
            .bind(Utc::now().timestamp_micros())
            .execute(&$pool)
            .await?;
    }};
}

/// Store and ceiling measured in alternating rounds, so drift in the machine (page cache,
/// file growth, the other core) hits both alike; the median round of each is reported.
const ROUNDS: usize = 3;

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

async fn sqlite(writers_list: &[usize], total: usize, synchronous_full: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let label = if synchronous_full {
        "sqlite/full"
    } else {
        "sqlite/normal"
    };
    for &writers in writers_list {
        let path = dir.path().join(format!("bench-{writers}.sqlite"));
        let mut options = SqliteOptions::new(&path);
        options.synchronous_full = synchronous_full;
        let store = Arc::new(SqliteEventStore::open(&options).await?);
        // The ceiling: one writer connection to the same file with the same pragmas.
        let raw: SqlitePool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.connect_options())
            .await?;
        raw.execute(RAW_TABLE).await?;
        let text = payload().to_string();
        let (mut store_rates, mut raw_rates) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            store_rates.push(store_appends(store.clone(), writers, total / ROUNDS).await?);
            let (raw, text) = (raw.clone(), text.clone());
            raw_rates.push(
                measure(writers, total / ROUNDS, move |_, _| {
                    let (raw, text) = (raw.clone(), text.clone());
                    async move {
                        raw_insert!(raw, text, text);
                        Ok(())
                    }
                })
                .await?,
            );
        }
        print_row(
            label,
            writers,
            &Figures {
                store: median(store_rates),
                raw: median(raw_rates),
            },
        );
    }
    Ok(())
}

async fn postgres(writers_list: &[usize], total: usize) -> Result<()> {
    let cluster = PgCluster::start_with(PgSettings {
        durable: true,
        max_connections: 300,
    })?;
    for &writers in writers_list {
        let database = cluster.create_database(&format!("bench_{writers}"))?;
        let mut options = PostgresOptions::from_url(&database)?;
        options.max_connections = writers as u32 + 2;
        let store = Arc::new(PostgresEventStore::open(&options).await?);
        let raw: PgPool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(writers as u32 + 2)
            .connect(&database)
            .await?;
        raw.execute(RAW_TABLE_PG).await?;
        let payload = Arc::new(payload());
        let (mut store_rates, mut raw_rates) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            store_rates.push(store_appends(store.clone(), writers, total / ROUNDS).await?);
            let (raw, payload) = (raw.clone(), payload.clone());
            raw_rates.push(
                measure(writers, total / ROUNDS, move |_, _| {
                    let (raw, payload) = (raw.clone(), payload.clone());
                    async move {
                        raw_insert!(raw, payload, sqlx::types::Json(&*payload));
                        Ok(())
                    }
                })
                .await?,
            );
        }
        print_row(
            "postgres",
            writers,
            &Figures {
                store: median(store_rates),
                raw: median(raw_rates),
            },
        );
    }
    Ok(())
}

pub async fn run(backends: &[String], writers: &[usize], total: usize) -> Result<()> {
    println!(
        "-- append throughput: {total} single-event appends per row in {ROUNDS} alternating rounds (median shown); store and raw INSERT use the same \
         database settings: SQLite WAL with synchronous=FULL (the store's default) and NORMAL, \
         PostgreSQL fsync=on synchronous_commit=on"
    );
    if backends.iter().any(|b| b == "sqlite") {
        sqlite(writers, total, true).await?;
        sqlite(writers, total, false).await?;
    }
    if backends.iter().any(|b| b == "postgres") {
        postgres(writers, total).await?;
    }
    Ok(())
}
