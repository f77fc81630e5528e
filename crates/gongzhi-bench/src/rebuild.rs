//! Rebuild throughput: replay a simulated history of about `events` events into empty
//! summary and statistics views, on SQLite and PostgreSQL.

use std::time::Instant;

use anyhow::Result;
use chrono::{FixedOffset, Utc};
use gongzhi_service::DataFiles;
use gongzhi_service::history::{self, HistoryPlan};
use gongzhi_store::{AnyEventStore, EventStore, connect};
use gongzhi_test_support::{PgCluster, PgSettings};
use gongzhi_views::{Projector, ViewStore};

/// Events per rebuild transaction.
const REBUILD_BATCH: usize = 100_000;

async fn rebuild_once(
    label: &str,
    store: AnyEventStore,
    views_url: &str,
    offset: FixedOffset,
) -> Result<()> {
    let views = ViewStore::open(views_url).await?;
    let mut projector = Projector::new(store, views.clone(), offset).with_batch_size(REBUILD_BATCH);
    // Twice: this machine's speed drifts, and the second run shows how much.
    for run in 1..=2 {
        let started = Instant::now();
        let replayed = projector.rebuild(|_| {}).await?;
        let seconds = started.elapsed().as_secs_f64();
        let cases = views.all_summaries().await?.len();
        println!(
            "rebuild {label:<9} run {run}: {replayed} events ({cases} cases) in {seconds:.1} s = {:>8.0} events/s",
            replayed as f64 / seconds
        );
    }
    Ok(())
}

async fn load(label: &str, store: &AnyEventStore, events: &[history::HistoricEvent]) -> Result<()> {
    let started = Instant::now();
    history::load(store, events, 2_000, |_| {}).await?;
    println!(
        "load    {label:<9} {} events in {:.1} s (append_batch of 2,000)",
        events.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn run(backends: &[String], events: usize) -> Result<()> {
    let data = DataFiles::shipped()?;
    let plan = HistoryPlan::for_directory(&data.directory, events / 9, 365, Utc::now(), 2026);
    let started = Instant::now();
    let history = history::generate(&plan, &data.policy);
    println!(
        "-- rebuild throughput: simulated {} events of {} cases in {:.1} s",
        history.len(),
        plan.cases,
        started.elapsed().as_secs_f64()
    );
    let offset = data.policy.calendar.offset();
    if backends.iter().any(|b| b == "sqlite") {
        let dir = tempfile::tempdir()?;
        let store = connect(&format!(
            "sqlite://{}",
            dir.path().join("events.sqlite").display()
        ))
        .await?;
        load("sqlite", &store, &history).await?;
        assert_eq!(store.count().await? as usize, history.len());
        rebuild_once(
            "sqlite",
            store,
            &format!("sqlite://{}", dir.path().join("views.sqlite").display()),
            offset,
        )
        .await?;
    }
    if backends.iter().any(|b| b == "postgres") {
        let cluster = PgCluster::start_with(PgSettings {
            durable: true,
            max_connections: 50,
        })?;
        let store = connect(&format!("{}?schema=intake", cluster.url())).await?;
        load("postgres", &store, &history).await?;
        rebuild_once(
            "postgres",
            store,
            &format!("{}?schema=views", cluster.url()),
            offset,
        )
        .await?;
    }
    Ok(())
}
