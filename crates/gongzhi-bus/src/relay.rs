//! The relay: a service's own committed events, read from its store in global order (the
//! event table is the outbox), published to JetStream with `Nats-Msg-Id` = event id. The
//! relay's checkpoint moves only after JetStream has acknowledged every message of a
//! batch, so a relay that dies republishes at most one batch, and the stream's duplicate
//! window drops those copies. While NATS is unreachable the events wait in the store.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::{self, context::Publish};
use gongzhi_domain::Context;
use gongzhi_store::{EventStore, Partition, Position, StoredEvent};
use tokio::sync::watch;
use uuid::Uuid;

use crate::BusError;
use crate::subject::event_subject;
use crate::wire::WireEvent;

/// The relay's checkpoint name in its service's store.
pub const RELAY_CHECKPOINT: &str = "relay";
/// Cases whose community the relay remembers before it starts over.
const COMMUNITY_CACHE: usize = 100_000;

/// The community a filing names.
fn filed_community(event: &StoredEvent) -> Option<String> {
    if event.event_type != "ConcernFiled" {
        return None;
    }
    let payload: serde_json::Value = serde_json::from_str(&event.payload).ok()?;
    Some(payload.get("community")?.as_str()?.to_owned())
}

/// Where a relay stands, for `/metrics` and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStatus {
    /// The last position whose events JetStream has acknowledged.
    pub checkpoint: Position,
    /// Messages published since start (acknowledged, duplicates included).
    pub published: u64,
    /// Acknowledged as duplicates: republished after a crash, dropped by JetStream.
    pub duplicates: u64,
    /// Own events read but not yet acknowledged when last looked (lag, in events).
    pub pending: u64,
    /// Failed attempts since start (NATS unreachable, say).
    pub failures: u64,
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relayed {
    pub published: usize,
    pub duplicates: usize,
    /// The store had more after this batch.
    pub more: bool,
}

pub struct Relay<S: EventStore> {
    store: S,
    jetstream: jetstream::Context,
    context: Context,
    batch: usize,
    communities: Mutex<HashMap<Uuid, String>>,
    status: watch::Sender<RelayStatus>,
    /// The cases this copy publishes; copies of a service split them.
    partition: Partition,
}

impl<S: EventStore> Relay<S> {
    /// A relay for the events `context` decides, found in `store`.
    pub fn new(store: S, jetstream: jetstream::Context, context: Context) -> Self {
        Self {
            store,
            jetstream,
            context,
            batch: 1_000,
            communities: Mutex::new(HashMap::new()),
            status: watch::Sender::new(RelayStatus::default()),
            partition: Partition::WHOLE,
        }
    }

    /// Publishes only the cases of `partition`, with a checkpoint of its own.
    pub fn with_partition(mut self, partition: Partition) -> Self {
        self.partition = partition;
        self
    }

    pub fn status(&self) -> watch::Receiver<RelayStatus> {
        self.status.subscribe()
    }

    /// The communities of a batch's cases: from the cache, from the batch's filings, and
    /// the rest from their first events (`ConcernFiled`, which every store holds before
    /// anything else of a case) in one query.
    async fn communities(&self, events: &[StoredEvent]) -> Result<HashMap<Uuid, String>, BusError> {
        let mut found = HashMap::new();
        let mut unknown = Vec::new();
        {
            let cache = self.communities.lock().unwrap_or_else(|e| e.into_inner());
            for event in events {
                if let Some(community) = cache.get(&event.stream_id) {
                    found.insert(event.stream_id, community.clone());
                }
            }
        }
        for event in events {
            if found.contains_key(&event.stream_id) {
                continue;
            }
            match filed_community(event) {
                Some(community) => {
                    found.insert(event.stream_id, community);
                }
                None => unknown.push(event.stream_id),
            }
        }
        unknown.sort_unstable();
        unknown.dedup();
        if !unknown.is_empty() {
            for first in self.store.first_events(&unknown).await? {
                if let Some(community) = filed_community(&first) {
                    found.insert(first.stream_id, community);
                }
            }
        }
        let mut cache = self.communities.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() + found.len() > COMMUNITY_CACHE {
            cache.clear();
        }
        cache.extend(
            found
                .iter()
                .map(|(case, community)| (*case, community.clone())),
        );
        Ok(found)
    }

    async fn publish(&self, events: &[StoredEvent]) -> Result<(usize, usize), BusError> {
        let communities = self.communities(events).await?;
        let mut acks = Vec::with_capacity(events.len());
        for event in events {
            let community = communities.get(&event.stream_id).map(String::as_str);
            let subject = event_subject(&event.context, community, &event.event_type);
            let payload = serde_json::to_vec(&WireEvent::from_stored(event)?)?;
            let message = Publish::build()
                .message_id(event.event_id.to_string())
                .payload(payload.into());
            acks.push(self.jetstream.send_publish(subject, message).await?);
        }
        let mut duplicates = 0;
        for ack in acks {
            if ack.await?.duplicate {
                duplicates += 1;
            }
        }
        Ok((events.len(), duplicates))
    }

    /// Publishes the next batch of own events and moves the checkpoint past it.
    pub async fn step(&self) -> Result<Relayed, BusError> {
        let checkpoint = self.partition.checkpoint(RELAY_CHECKPOINT);
        let mut after = self.store.load_checkpoint(&checkpoint).await?;
        if after == Position::START && !self.partition.is_whole() {
            after = self.store.load_checkpoint(RELAY_CHECKPOINT).await?;
        }
        // The store also holds copies of the other contexts' events; they have a relay of
        // their own.
        let (decided, through) = self
            .store
            .read_decided(self.context.as_str(), after, self.batch)
            .await?;
        if through == after {
            self.status.send_modify(|s| s.pending = 0);
            return Ok(Relayed::default());
        }
        let more = decided.len() == self.batch;
        let own: Vec<StoredEvent> = decided
            .into_iter()
            .filter(|e| self.partition.contains(e.stream_id))
            .collect();
        self.status.send_modify(|s| s.pending = own.len() as u64);
        let (published, duplicates) = if own.is_empty() {
            (0, 0)
        } else {
            self.publish(&own).await?
        };
        self.store.save_checkpoint(&checkpoint, through).await?;
        self.status.send_modify(|s| {
            s.checkpoint = through;
            s.published += published as u64;
            s.duplicates += duplicates as u64;
            s.pending = 0;
        });
        Ok(Relayed {
            published,
            duplicates,
            more,
        })
    }

    /// Relays until `shutdown`. Other processes append to the same store, so the relay
    /// polls as well as waking on this process's appends. A failure (NATS or the database
    /// away) is logged and retried with a growing pause; nothing is skipped.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut appended = self.store.appended();
        let mut pause = Duration::from_millis(100);
        loop {
            appended.borrow_and_update();
            match self.step().await {
                Ok(step) if step.more => continue,
                Ok(_) => pause = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(context = self.context.as_str(), %error, "relay step failed; the events wait in the store");
                    self.status.send_modify(|s| s.failures += 1);
                    pause = (pause * 2).min(Duration::from_secs(5));
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                    continue;
                }
            }
            tokio::select! {
                () = &mut shutdown => return,
                _ = appended.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }
}
