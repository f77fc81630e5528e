//! A context's events from JetStream, as an inbox reads them (the [`Feed`] of the
//! distributed bus).
//!
//! The inbox's checkpoint lives in its own database, committed with the events it
//! appends; that is what makes the effect exactly once. So the JetStream consumer need
//! not remember anything: each process opens an ordered consumer from the checkpoint on,
//! filtered to the origin's subjects. An ordered consumer delivers every message once and
//! in stream order, and recreates itself after a gap or a server failover. Positions the
//! inbox sees are `(0, stream sequence)`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use futures_util::StreamExt;
use gongzhi_domain::Context;
use gongzhi_service::Feed;
use gongzhi_store::{Partition, Position, StoreError, StoredEvent};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BusError;
use crate::subject::{StreamSettings, context_filter};
use crate::wire::WireEvent;

/// Messages held for the inbox before the feed stops pulling (flow control).
const BUFFER: usize = 10_000;

#[derive(Default)]
struct Buffer {
    events: VecDeque<StoredEvent>,
    /// The last stream sequence received.
    last: u64,
}

pub struct JetStreamFeed {
    origin: Context,
    buffer: Arc<Mutex<Buffer>>,
    wake: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Drop for JetStreamFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl JetStreamFeed {
    /// Follows `origin`'s events of the cases in `partition` after `after` (the inbox's
    /// checkpoint in its store). Other shares' events are dropped on arrival, so the
    /// inbox's look-ahead counts only its own share, which one relay copy publishes.
    pub async fn start(
        jetstream: &jetstream::Context,
        settings: &StreamSettings,
        origin: Context,
        partition: Partition,
        after: Position,
    ) -> Result<Self, BusError> {
        let stream = jetstream.get_stream(&settings.name).await?;
        let after = u64::try_from(after.sequence).unwrap_or(0);
        // Fail here, not in the background, if the stream cannot be consumed at all.
        let first = stream
            .create_consumer(ordered_from(origin, after + 1))
            .await?;
        let buffer = Arc::new(Mutex::new(Buffer {
            last: after,
            ..Buffer::default()
        }));
        let (wake_tx, wake) = watch::channel(0u64);
        let task = tokio::spawn(follow(
            stream,
            first,
            (origin, partition),
            Arc::clone(&buffer),
            wake_tx,
        ));
        Ok(Self {
            origin,
            buffer,
            wake,
            task,
        })
    }
}

fn ordered_from(origin: Context, start_sequence: u64) -> OrderedConfig {
    OrderedConfig {
        filter_subject: context_filter(origin.as_str()),
        deliver_policy: DeliverPolicy::ByStartSequence { start_sequence },
        ..OrderedConfig::default()
    }
}

/// Pulls the origin's messages into `buffer` in stream order, from where the buffer ends,
/// opening a new ordered consumer whenever one fails.
async fn follow(
    stream: jetstream::stream::Stream,
    first: jetstream::consumer::Consumer<OrderedConfig>,
    (origin, partition): (Context, Partition),
    buffer: Arc<Mutex<Buffer>>,
    wake: watch::Sender<u64>,
) {
    let mut consumer = Some(first);
    let mut pause = Duration::from_millis(100);
    loop {
        let next = buffer.lock().unwrap_or_else(|e| e.into_inner()).last + 1;
        let opened = match consumer.take() {
            Some(consumer) => Ok(consumer),
            None => stream.create_consumer(ordered_from(origin, next)).await,
        };
        let messages = match opened {
            Ok(consumer) => consumer.messages().await,
            Err(error) => {
                tracing::warn!(origin = origin.as_str(), %error, "feed: cannot open a consumer; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let mut messages = match messages {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(origin = origin.as_str(), %error, "feed: cannot consume; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(origin = origin.as_str(), %error, "feed: delivery failed; reopening");
                    break;
                }
            };
            pause = Duration::from_millis(100);
            let Ok(info) = message.info() else { continue };
            let sequence = info.stream_sequence;
            let event = match serde_json::from_slice::<WireEvent>(&message.payload) {
                Ok(wire) => wire.into_stored(Position {
                    commit: 0,
                    sequence: i64::try_from(sequence).unwrap_or(i64::MAX),
                }),
                Err(error) => {
                    // Never skip: an inbox that cannot read an event stops there.
                    tracing::error!(origin = origin.as_str(), sequence, %error, "feed: undecodable message; stopping");
                    return;
                }
            };
            if !partition.contains(event.stream_id) {
                let mut held = buffer.lock().unwrap_or_else(|e| e.into_inner());
                held.last = held.last.max(sequence);
                continue;
            }
            loop {
                let held = {
                    let mut held = buffer.lock().unwrap_or_else(|e| e.into_inner());
                    if held.events.len() >= BUFFER {
                        false
                    } else {
                        if sequence > held.last {
                            held.last = sequence;
                            held.events.push_back(event.clone());
                        }
                        true
                    }
                };
                if held {
                    break;
                }
                // The inbox is behind: wait instead of pulling more (flow control).
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            wake.send_modify(|n| *n += 1);
        }
    }
}

impl Feed for JetStreamFeed {
    fn origin(&self) -> Context {
        self.origin
    }

    async fn read(&self, after: Position, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut held = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        // What the inbox committed is behind it for good.
        while held.events.front().is_some_and(|e| e.position <= after) {
            held.events.pop_front();
        }
        Ok(held.events.iter().take(limit).cloned().collect())
    }

    fn wake(&self) -> watch::Receiver<u64> {
        self.wake.clone()
    }
}
