//! How one context learns what another decided: an inbox follows the other context's own
//! events through a [`Feed`] (the in-process bus here; NATS JetStream across processes)
//! and appends each to its own store's stream of the case, with the same event id, once
//! the stream holds everything the event's writer had seen (see `causal`). The projector
//! keeps such a replica of all three contexts and projects from it.
//!
//! Delivery is at least once; the effect is once: an event the stream already holds is
//! recognised by the counts per context (and by its event id, which is unique in a store),
//! so a redelivery writes nothing. The appended events and the inbox's checkpoint commit
//! together.
//!
//! An event that waits does not hold up the cases behind it: the inbox reads past it and
//! appends what is ready, while its checkpoint stays before the first waiting event (so a
//! restart reads it again). The same reading past takes an origin's events that reach the
//! feed out of their order (a relay that republished a refused message after the ones
//! behind it): each case's order comes from the counts, not from the feed (an event
//! written without counts, by an import, is never read past a wait). While the
//! first event waits with nothing else to do, the inbox looks further ahead, up to
//! [`MAX_WINDOW`] events.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gongzhi_domain::Context;
use gongzhi_store::{
    AppendError, AppendRequest, EventStore, Metadata, NewEvent, Position, StoreError, StoredEvent,
};
use tokio::sync::watch;
use uuid::Uuid;

use crate::causal::{Readiness, Seen};
use crate::error::CommandError;

/// Where a context's committed events come from, in the order they were committed.
pub trait Feed: Send + Sync + 'static {
    /// The context whose events this feed carries.
    fn origin(&self) -> Context;

    /// Up to `limit` events after `after`, in order (the origin's own events; a feed may
    /// return others too, which the inbox skips), and how far it read.
    fn read(
        &self,
        after: Position,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Changes when new events may be there.
    fn wake(&self) -> watch::Receiver<u64>;
}

/// The embedded bus: the origin context's own store, read in its global order.
#[derive(Debug, Clone)]
pub struct StoreFeed<S: EventStore> {
    store: S,
    origin: Context,
}

impl<S: EventStore> StoreFeed<S> {
    pub fn new(store: S, origin: Context) -> Self {
        Self { store, origin }
    }
}

impl<S: EventStore> Feed for StoreFeed<S> {
    fn origin(&self) -> Context {
        self.origin
    }

    async fn read(&self, after: Position, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.store.read_all(after, limit).await
    }

    fn wake(&self) -> watch::Receiver<u64> {
        self.store.appended()
    }
}

/// What one step of an inbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Events appended to the local store.
    pub appended: usize,
    /// The checkpoint moved (events were appended or skipped).
    pub moved: bool,
    /// An event waits for another context's event first.
    pub waiting: bool,
}

const BATCH: usize = 500;

/// How far past a waiting event an inbox looks: beyond the relay's batch (1,000), the
/// furthest a republished event can land behind its successors.
const MAX_WINDOW: usize = 4_000;

/// Follows one feed into one local store.
pub struct Inbox<S: EventStore, F: Feed> {
    local: S,
    feed: F,
    consumer: String,
    /// Events appended per step at most.
    batch: usize,
    /// Events read per step: the batch, growing while the first event waits.
    window: AtomicUsize,
}

impl<S: EventStore, F: Feed> Inbox<S, F> {
    /// An inbox whose checkpoint in the local store is named after the feed's origin.
    pub fn new(local: S, feed: F) -> Self {
        let consumer = format!("inbox:{}", feed.origin().as_str());
        Self {
            local,
            feed,
            consumer,
            batch: BATCH,
            window: AtomicUsize::new(BATCH),
        }
    }

    /// An inbox keeping its checkpoint under `consumer`.
    pub fn with_checkpoint(local: S, feed: F, consumer: String) -> Self {
        Self {
            consumer,
            ..Self::new(local, feed)
        }
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Reads one batch from the feed and appends what is ready, in one transaction.
    pub async fn step(&self) -> Result<Delivered, CommandError> {
        let origin = self.feed.origin();
        let after = self.local.load_checkpoint(&self.consumer).await?;
        let window = self.window.load(Ordering::Relaxed);
        let read = self.feed.read(after, window).await?;
        let Some(last) = read.last().map(|e| e.position) else {
            return Ok(Delivered::default());
        };
        let mine = |e: &StoredEvent| e.context == origin.as_str();
        let own: Vec<&StoredEvent> = read.iter().filter(|e| mine(e)).collect();
        let mut ids: Vec<Uuid> = own.iter().map(|e| e.stream_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut held = Seen::by_stream(self.local.count_by_context(&ids).await?);
        let mut ready: Vec<(u64, NewEvent, Metadata, Uuid)> = Vec::new();
        let before = |index: usize| {
            index
                .checked_sub(1)
                .map_or(after, |previous| read[previous].position)
        };
        let mut checkpoint = last;
        let mut waiting = false;
        for (index, event) in read.iter().enumerate() {
            if !mine(event) {
                continue;
            }
            if ready.len() == self.batch {
                if !waiting {
                    checkpoint = before(index);
                }
                break;
            }
            let seen = held.entry(event.stream_id).or_default();
            let writer = event.causal.as_deref().and_then(Seen::parse);
            let readiness = match writer {
                Some(writer) => seen.readiness(origin, &writer),
                // Written without a record of what its writer had seen (imported): the
                // feed's order is all there is to respect, and the counts cannot tell a
                // second reading from a new event, so nothing of it is read past a wait.
                None if waiting => Readiness::Waiting,
                None => Readiness::Ready,
            };
            match readiness {
                Readiness::Held => {}
                Readiness::Ready => {
                    let version = seen.total();
                    seen.add(origin);
                    ready.push((version, observed(event)?, metadata(event), event.stream_id));
                }
                Readiness::Waiting => {
                    // The next step starts again from the first waiting event.
                    if !waiting {
                        checkpoint = before(index);
                        waiting = true;
                    }
                }
            }
        }
        let appended = ready.len();
        let next_window = match (waiting, appended) {
            (false, _) => self.batch,
            (true, 0) => (window * 2).min(MAX_WINDOW),
            (true, _) => window,
        };
        self.window.store(next_window, Ordering::Relaxed);
        if !ready.is_empty() {
            let events: Vec<[NewEvent; 1]> = ready.iter().map(|(_, e, _, _)| [e.clone()]).collect();
            let requests: Vec<AppendRequest<'_>> = ready
                .iter()
                .zip(&events)
                .map(|((version, _, metadata, stream), events)| AppendRequest {
                    stream_id: *stream,
                    expected_version: *version,
                    events,
                    metadata,
                })
                .collect();
            let moved_with = Some((self.consumer.as_str(), checkpoint));
            match self
                .local
                .append_batch_and_checkpoint(&requests, moved_with)
                .await
            {
                // The events and how far the inbox read, in one commit.
                Ok(_) => {
                    return Ok(Delivered {
                        appended,
                        moved: checkpoint != after,
                        waiting,
                    });
                }
                // A command of this context appended meanwhile: read the counts again.
                Err(AppendError::VersionConflict { .. }) => return Ok(Delivered::default()),
                // The store holds one of them already (an event written without what its
                // writer had seen): append one by one, skipping what is there.
                Err(AppendError::DuplicateEvent(_)) => {
                    for request in requests {
                        match self.local.append(request).await {
                            Ok(_) | Err(AppendError::DuplicateEvent(_)) => {}
                            Err(AppendError::VersionConflict { .. }) => {
                                return Ok(Delivered::default());
                            }
                            Err(error) => return Err(append_failed(error)),
                        }
                    }
                }
                Err(error) => return Err(append_failed(error)),
            }
        }
        let moved = checkpoint != after;
        if moved {
            self.local
                .save_checkpoint(&self.consumer, checkpoint)
                .await?;
        }
        Ok(Delivered {
            appended,
            moved,
            waiting,
        })
    }

    /// Delivers until `shutdown`, waking when the feed or the local store changes. A failed
    /// step is logged and retried after a pause.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut feed = self.feed.wake();
        let mut local = self.local.appended();
        let mut pause = Duration::from_millis(100);
        loop {
            feed.borrow_and_update();
            local.borrow_and_update();
            let idle = match self.step().await {
                Ok(step) => {
                    pause = Duration::from_millis(100);
                    !step.moved && step.appended == 0
                }
                Err(error) => {
                    tracing::warn!(consumer = %self.consumer, %error, "inbox step failed; retrying");
                    pause = (pause * 2).min(Duration::from_secs(10));
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                    true
                }
            };
            if !idle {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                _ = feed.changed() => {}
                _ = local.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }
}

/// The observed copy of an event: same id, payload at the current schema version.
fn observed(event: &StoredEvent) -> Result<NewEvent, CommandError> {
    let decoded = crate::service::decode(event)?;
    Ok(NewEvent {
        event_id: event.event_id,
        context: decoded.context().as_str(),
        event_type: decoded.event_type(),
        schema_version: decoded.schema_version(),
        payload: decoded.to_payload(),
        causal: event.causal.clone(),
    })
}

/// The origin's metadata, without its idempotency key (a key answers for the origin's
/// append, not for the copy).
fn metadata(event: &StoredEvent) -> Metadata {
    Metadata {
        idempotency_key: None,
        ..event.metadata.clone()
    }
}

fn append_failed(error: AppendError) -> CommandError {
    match error {
        AppendError::Store(error) => CommandError::Store(error),
        other => CommandError::Unavailable(format!("recording an observed event: {other}")),
    }
}
