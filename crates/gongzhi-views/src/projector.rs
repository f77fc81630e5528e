//! The projector: follows an event store, applies events in memory and writes them with
//! its checkpoint in one transaction. Restarting resumes from the checkpoint; nothing is
//! applied twice because nothing is written without the checkpoint that covers it.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use gongzhi_domain::CaseId;
use gongzhi_store::{EventStore, Partition, Position, RecordedEvent, StoreError};
use tokio::sync::{broadcast, watch};

use crate::error::ProjectionError;
use crate::projection::{Batch, project};
use crate::store::ViewStore;

/// Where a rebuild stands, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub applied: u64,
    pub total: u64,
    pub elapsed: Duration,
}

impl Progress {
    pub fn events_per_second(&self) -> f64 {
        self.applied as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A rebuild keeps this many events' changes in memory before writing them, so a
/// statistics row touched many times is written once, while the next read goes on.
const REBUILD_FLUSH_EVERY: usize = 200_000;

/// Summaries a live projector keeps cached between batches: enough for the cases being
/// worked on now, little enough to keep a long-running process small.
const LIVE_CACHE: usize = 20_000;

/// Summaries a rebuild keeps cached before it starts loading them back.
const REBUILD_CACHE: usize = 200_000;

/// The cases (and their versions) a written batch changed, for readers waiting to see
/// their own writes.
pub type Applied = Arc<[(CaseId, u64)]>;

/// Follows one event store into one view store.
pub struct Projector<S: EventStore> {
    store: Arc<S>,
    views: ViewStore,
    consumer: String,
    offset: FixedOffset,
    batch_size: usize,
    /// Write after this many applied events (and whenever caught up).
    flush_every: usize,
    cache_limit: usize,
    poll: Duration,
    /// Everything up to here has been read and applied to `batch` (maybe not written).
    position: Option<Position>,
    batch: Batch,
    /// The view store holds nothing this projector has not cached, so nothing needs loading.
    fresh: bool,
    /// Where the written views stand, for readers waiting to see their own writes.
    committed: watch::Sender<Position>,
    applied: broadcast::Sender<Applied>,
    /// The cases this copy projects, with a checkpoint of its own; copies split them, and
    /// their statistics, written as increments, add up.
    partition: Partition,
}

impl<S: EventStore> Projector<S> {
    /// A projector named `views`, with days counted in `offset` (the deployment's zone).
    pub fn new(store: S, views: ViewStore, offset: FixedOffset) -> Self {
        Self {
            store: Arc::new(store),
            views,
            consumer: "views".to_owned(),
            offset,
            batch_size: 1_000,
            flush_every: 0,
            cache_limit: LIVE_CACHE,
            poll: Duration::from_millis(200),
            position: None,
            batch: Batch::default(),
            fresh: false,
            committed: watch::Sender::new(Position::START),
            applied: broadcast::Sender::new(1_024),
            partition: Partition::WHOLE,
        }
    }

    /// Projects only the cases of `partition`; such a projector cannot rebuild.
    pub fn with_partition(mut self, partition: Partition) -> Self {
        self.partition = partition;
        self
    }

    fn checkpoint(&self) -> String {
        self.partition.checkpoint(&self.consumer)
    }

    /// Announces, after each write, the cases it changed and their versions. A reader that
    /// falls behind by more than 1,024 writes is told it lagged and should look itself.
    pub fn applied(&self) -> broadcast::Sender<Applied> {
        self.applied.clone()
    }

    /// Follows the position up to which the views are written. A reply that waits until
    /// it passes an append's position is read by its caller's next query (read-your-writes).
    pub fn committed(&self) -> watch::Receiver<Position> {
        self.committed.subscribe()
    }

    /// The checkpoint name; one per event store a view store follows.
    pub fn with_consumer(mut self, consumer: &str) -> Self {
        self.consumer = consumer.to_owned();
        self
    }

    /// Events read (and, live, written) at a time.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn views(&self) -> &ViewStore {
        &self.views
    }

    async fn position(&mut self) -> Result<Position, ProjectionError> {
        match self.position {
            Some(position) => Ok(position),
            None => {
                let mut stored = self.views.checkpoint(&self.checkpoint()).await?;
                if stored == Position::START && !self.partition.is_whole() {
                    let whole = self.views.checkpoint(&self.consumer).await?;
                    if whole != Position::START {
                        stored = self
                            .views
                            .start_checkpoint(&self.checkpoint(), whole)
                            .await?;
                    }
                }
                self.committed
                    .send_if_modified(|at| std::mem::replace(at, stored) != stored);
                Ok(stored)
            }
        }
    }

    /// Projects at most one batch and writes it. Returns how many events it read (0:
    /// caught up).
    pub async fn step(&mut self) -> Result<usize, ProjectionError> {
        let after = self.position().await?;
        let events = self.store.read_recorded(after, self.batch_size).await;
        let read = self.apply(after, events).await?;
        self.flush().await?;
        Ok(read)
    }

    /// Applies a batch that has been read, in memory.
    async fn apply(
        &mut self,
        after: Position,
        events: Result<Vec<RecordedEvent>, StoreError>,
    ) -> Result<usize, ProjectionError> {
        self.batch.starts_at(after);
        let applied = match events {
            Ok(events) => {
                let read = events
                    .last()
                    .map_or((after, 0), |e| (e.position, events.len()));
                let partition = self.partition;
                let mine: Vec<RecordedEvent> = if partition.is_whole() {
                    events
                } else {
                    events
                        .into_iter()
                        .filter(|e| partition.contains(e.stream_id))
                        .collect()
                };
                let applied =
                    apply_events(&mut self.batch, &self.views, self.offset, &mine, self.fresh)
                        .await;
                // Past the other copies' events too, so the checkpoint moves over them.
                if applied.is_ok() && read.1 > 0 {
                    self.batch.position = Some(read.0);
                }
                applied.map(|()| read)
            }
            Err(error) => Err(error.into()),
        };
        match applied {
            Ok((position, read)) => {
                self.position = Some(position);
                Ok(read)
            }
            Err(error) => Err(self.forget(error)),
        }
    }

    /// Writes what has been applied, with the checkpoint.
    async fn flush(&mut self) -> Result<(), ProjectionError> {
        let changed: Option<Applied> = (self.applied.receiver_count() > 0).then(|| {
            self.batch
                .dirty
                .iter()
                .map(|id| (*id, self.batch.summaries[id].version))
                .collect()
        });
        let checkpoint = self.checkpoint();
        if let Err(error) = self.views.commit(&mut self.batch, &checkpoint).await {
            return Err(self.forget(error));
        }
        if let Some(changed) = changed.filter(|c| !c.is_empty()) {
            let _ = self.applied.send(changed);
        }
        let written = self.batch.base;
        self.committed
            .send_if_modified(|at| std::mem::replace(at, written) != written);
        if self.batch.summaries.len() > self.cache_limit {
            self.batch.summaries.clear();
            self.fresh = false;
        }
        Ok(())
    }

    /// After a failure the cache may hold changes that were never written: drop it all
    /// and start again from the stored checkpoint.
    fn forget(&mut self, error: ProjectionError) -> ProjectionError {
        self.batch = Batch::default();
        self.position = None;
        self.fresh = false;
        error
    }

    /// Projects until nothing is left; returns the number of events read.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        self.catch_up_with(|_| {}).await
    }

    /// Reads the next batch on another task while this one applies the current batch, so
    /// both cores work; writes every `flush_every` events and at the end.
    async fn catch_up_with(
        &mut self,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        let mut after = self.position().await?;
        let mut events = self.store.read_recorded(after, self.batch_size).await;
        let mut total = 0;
        loop {
            let next_after = match &events {
                Ok(batch) if batch.is_empty() => {
                    self.flush().await?;
                    progress(total);
                    return Ok(total);
                }
                Ok(batch) => batch.last().map_or(after, |e| e.position),
                Err(_) => after,
            };
            let store = Arc::clone(&self.store);
            let batch_size = self.batch_size;
            let next =
                tokio::spawn(async move { store.read_recorded(next_after, batch_size).await });
            total += self.apply(after, events).await? as u64;
            if self.batch.applied() >= self.flush_every {
                self.flush().await?;
            }
            let next = next.await.unwrap_or_else(|join| {
                Err(StoreError::Task(format!("reading the next batch: {join}")))
            });
            progress(total);
            after = next_after;
            events = next;
        }
    }

    /// Follows the store until `shutdown` completes.
    pub async fn run(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), ProjectionError> {
        let mut appended = self.store.appended();
        tokio::pin!(shutdown);
        loop {
            appended.borrow_and_update();
            if self.step().await? > 0 {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = appended.changed() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Empties the views and replays the whole log into them, reporting progress after
    /// every batch read. Changes are held in memory and written in few large transactions,
    /// each with its checkpoint: an interrupted rebuild leaves consistent views that the
    /// live projector continues from.
    pub async fn rebuild(
        &mut self,
        mut progress: impl FnMut(Progress),
    ) -> Result<u64, ProjectionError> {
        if !self.partition.is_whole() {
            return Err(ProjectionError::PartialRebuild {
                partition: self.partition.to_string(),
            });
        }
        let total = self.store.count().await?;
        self.views.reset().await?;
        self.batch = Batch::default();
        self.position = Some(Position::START);
        self.fresh = true;
        let live_flush_every = std::mem::replace(&mut self.flush_every, REBUILD_FLUSH_EVERY);
        let live_cache = std::mem::replace(&mut self.cache_limit, REBUILD_CACHE);
        let started = Instant::now();
        let applied = self
            .catch_up_with(|applied| {
                progress(Progress {
                    applied,
                    total,
                    elapsed: started.elapsed(),
                })
            })
            .await;
        self.flush_every = live_flush_every;
        self.cache_limit = live_cache;
        self.fresh = false;
        applied
    }
}

/// Loads the summaries the events touch (unless the views are known to be fresh) and
/// applies every event to the batch.
async fn apply_events(
    batch: &mut Batch,
    views: &ViewStore,
    offset: FixedOffset,
    events: &[RecordedEvent],
    fresh: bool,
) -> Result<(), ProjectionError> {
    if events.is_empty() {
        return Ok(());
    }
    if !fresh {
        let mut seen = HashSet::new();
        let ids: Vec<CaseId> = events
            .iter()
            .map(|e| CaseId::from_uuid(e.stream_id))
            .filter(|id| seen.insert(*id))
            .collect();
        views.load_into(batch, &ids).await?;
    }
    for event in events {
        project(batch, event, offset)?;
    }
    Ok(())
}
