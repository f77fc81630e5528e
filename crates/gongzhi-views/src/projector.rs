//! The projector: follows an event store, applies batches and writes each batch with its
//! checkpoint in one transaction. Restarting resumes from the checkpoint; nothing is
//! applied twice because nothing is written without the checkpoint that covers it.

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use gongzhi_domain::CaseId;
use gongzhi_store::{EventStore, Position, StoreError, StoredEvent};

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

/// Follows one event store into one view store.
pub struct Projector<S: EventStore> {
    store: S,
    views: ViewStore,
    consumer: String,
    offset: FixedOffset,
    batch_size: usize,
    cache_limit: usize,
    poll: Duration,
    position: Option<Position>,
    batch: Batch,
    /// The view store is known to hold nothing this projector has not cached.
    fresh: bool,
}

impl<S: EventStore> Projector<S> {
    /// A projector named `views`, with days counted in `offset` (the deployment's zone).
    pub fn new(store: S, views: ViewStore, offset: FixedOffset) -> Self {
        Self {
            store,
            views,
            consumer: "views".to_owned(),
            offset,
            batch_size: 1_000,
            cache_limit: 200_000,
            poll: Duration::from_millis(200),
            position: None,
            batch: Batch::default(),
            fresh: false,
        }
    }

    /// The checkpoint name; one per event store a view store follows.
    pub fn with_consumer(mut self, consumer: &str) -> Self {
        self.consumer = consumer.to_owned();
        self
    }

    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn views(&self) -> &ViewStore {
        &self.views
    }

    /// Projects at most one batch. Returns how many events it read (0: caught up).
    pub async fn step(&mut self) -> Result<usize, ProjectionError> {
        let after = self.position().await?;
        let events = self.store.read_all(after, self.batch_size).await;
        self.apply_read(after, events).await
    }

    async fn position(&mut self) -> Result<Position, ProjectionError> {
        match self.position {
            Some(position) => Ok(position),
            None => Ok(self.views.checkpoint(&self.consumer).await?),
        }
    }

    /// Applies and commits one batch that has been read.
    async fn apply_read(
        &mut self,
        after: Position,
        events: Result<Vec<StoredEvent>, StoreError>,
    ) -> Result<usize, ProjectionError> {
        let applied = match events {
            Ok(events) => apply_batch(
                &mut self.batch,
                &self.views,
                &self.consumer,
                self.offset,
                &events,
                self.fresh,
            )
            .await
            .map(|()| position_after(after, &events)),
            Err(error) => Err(error.into()),
        };
        self.settle(applied)
    }

    /// Records where a batch left the projector; on failure forgets the cache, since it may
    /// hold changes that were never committed.
    fn settle(
        &mut self,
        applied: Result<(Position, usize), ProjectionError>,
    ) -> Result<usize, ProjectionError> {
        match applied {
            Ok((position, read)) => {
                self.position = Some(position);
                if self.batch.summaries.len() > self.cache_limit {
                    self.batch.summaries.clear();
                    self.fresh = false;
                }
                Ok(read)
            }
            Err(error) => {
                self.batch = Batch::default();
                self.position = None;
                self.fresh = false;
                Err(error)
            }
        }
    }

    /// Projects until nothing is left; returns the number of events read. Reading the next
    /// batch overlaps with applying and committing the current one.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        self.catch_up_with(|_| {}).await
    }

    async fn catch_up_with(
        &mut self,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, ProjectionError> {
        let mut after = self.position().await?;
        let mut events = self.store.read_all(after, self.batch_size).await;
        let mut total = 0;
        loop {
            let next_after = match &events {
                Ok(batch) if batch.is_empty() => return Ok(total),
                Ok(batch) => batch.last().map_or(after, |e| e.position),
                Err(_) => after,
            };
            let (applied, next) = match events {
                Ok(batch) => {
                    let (applied, next) = tokio::join!(
                        apply_batch(
                            &mut self.batch,
                            &self.views,
                            &self.consumer,
                            self.offset,
                            &batch,
                            self.fresh
                        ),
                        self.store.read_all(next_after, self.batch_size)
                    );
                    (applied.map(|()| position_after(after, &batch)), next)
                }
                Err(error) => (Err(error.into()), Ok(Vec::new())),
            };
            total += self.settle(applied)? as u64;
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
    /// every batch. The rebuild writes in large batches; if it is interrupted, run it again.
    pub async fn rebuild(
        &mut self,
        mut progress: impl FnMut(Progress),
    ) -> Result<u64, ProjectionError> {
        self.views.reset(&self.consumer).await?;
        self.batch = Batch::default();
        self.position = Some(Position::START);
        // The views are empty: no summary needs loading until the cache is trimmed.
        self.fresh = true;
        let total = self.store.count().await?;
        let started = Instant::now();
        let applied = self
            .catch_up_with(|applied| {
                progress(Progress {
                    applied,
                    total,
                    elapsed: started.elapsed(),
                });
            })
            .await;
        self.fresh = false;
        applied
    }
}

/// Loads the summaries the batch touches, applies every event, and commits the changes
/// with the checkpoint.
async fn apply_batch(
    batch: &mut Batch,
    views: &ViewStore,
    consumer: &str,
    offset: FixedOffset,
    events: &[StoredEvent],
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
    views.commit(batch, consumer).await
}

/// The position after a batch, and how many events it held.
fn position_after(after: Position, events: &[StoredEvent]) -> (Position, usize) {
    events
        .last()
        .map_or((after, 0), |e| (e.position, events.len()))
}
