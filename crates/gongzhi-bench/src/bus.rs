//! Relay throughput beside the raw JetStream publish ceiling, in one run, on a
//! three-node cluster on this machine with a three-replica file stream.
//!
//! The relays (one per context, as three services run them) publish a simulated history
//! from a SQLite store; the raw run publishes as many messages of the same average size to
//! a stream with the same settings, pipelined in the same batches, with nothing else.

use std::time::Instant;

use anyhow::Result;
use async_nats::jetstream::{self, context::Publish};
use chrono::Utc;
use gongzhi_bus::wire::WireEvent;
use gongzhi_bus::{Relay, StreamSettings};
use gongzhi_domain::Context;
use gongzhi_service::DataFiles;
use gongzhi_service::history::{self, HistoryPlan};
use gongzhi_store::{EventStore, Position, connect};
use gongzhi_test_support::NatsCluster;

/// Messages in flight before the publisher waits for their acknowledgements; the relay's
/// batch size, so both sides pipeline alike.
const BATCH: usize = 1_000;

async fn raw_ceiling(
    jetstream: &jetstream::Context,
    settings: &StreamSettings,
    messages: usize,
    size: usize,
) -> Result<f64> {
    let mut config = settings.config();
    config.name = "RAW_CEILING".to_owned();
    config.subjects = vec!["raw.>".to_owned()];
    jetstream.get_or_create_stream(config).await?;
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let started = Instant::now();
    let mut sent = 0;
    while sent < messages {
        let mut acks = Vec::with_capacity(BATCH);
        for _ in 0..BATCH.min(messages - sent) {
            let message = Publish::build()
                .message_id(uuid::Uuid::new_v4().to_string())
                .payload(payload.clone());
            acks.push(jetstream.send_publish("raw.events", message).await?);
            sent += 1;
        }
        for ack in acks {
            ack.await?;
        }
    }
    Ok(messages as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(events: usize) -> Result<()> {
    let data = DataFiles::shipped()?;
    let plan = HistoryPlan::for_directory(&data.directory, events / 9, 365, Utc::now(), 2026);
    let history = history::generate(&plan, &data.policy);
    let dir = tempfile::tempdir()?;
    let store = connect(&format!(
        "sqlite://{}",
        dir.path().join("events.sqlite").display()
    ))
    .await?;
    history::load(&store, &history, 2_000, |_| {}).await?;
    let stored = store.read_all(Position::START, history.len() + 1).await?;
    let size = stored
        .iter()
        .map(|e| WireEvent::from_stored(e).map(|w| serde_json::to_vec(&w).map_or(0, |v| v.len())))
        .sum::<Result<usize, _>>()?
        / stored.len().max(1);

    let nats = NatsCluster::start(3)?;
    let settings = StreamSettings {
        replicas: 3,
        ..StreamSettings::default()
    };
    let jetstream = gongzhi_bus::connect(&nats.urls(), &settings).await?;
    println!(
        "-- bus: {} events ({} cases), mean message {size} bytes; 3 nats-server nodes, stream of 3 replicas on files",
        stored.len(),
        plan.cases
    );

    let raw = raw_ceiling(&jetstream, &settings, stored.len(), size).await?;
    println!("raw JetStream publish       {raw:>8.0} messages/s (batches of {BATCH})");

    let started = Instant::now();
    let relays: Vec<_> = Context::ALL
        .iter()
        .map(|context| Relay::new(store.clone(), jetstream.clone(), *context))
        .collect();
    // Each relay keeps its own checkpoint name in a real deployment's own store; here the
    // three share one store, so each runs to the end on its own checkpoint in turn.
    let mut published = 0;
    for relay in &relays {
        store
            .save_checkpoint(gongzhi_bus::RELAY_CHECKPOINT, Position::START)
            .await?;
        loop {
            // As in service: a failed step (an acknowledgement late on a busy machine) is
            // retried, and said.
            let step = match relay.step().await {
                Ok(step) => step,
                Err(error) => {
                    eprintln!("relay step failed, retrying: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
            };
            published += step.published;
            if !step.more {
                break;
            }
        }
    }
    let rate = published as f64 / started.elapsed().as_secs_f64();
    println!(
        "relays (3 contexts)         {rate:>8.0} events/s = {:.0}% of raw ({published} published)",
        rate / raw * 100.0
    );
    Ok(())
}
