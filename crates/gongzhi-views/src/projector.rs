//! The projector: follows an event store, applies batches and writes each batch with its
//! checkpoint in one transaction. Restarting resumes from the checkpoint; nothing is
//! applied twice because nothing is written without the checkpoint that covers it.

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use gongzhi_domain::CaseId;
use gongzhi_store::{EventStore, Position};

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
        let result = self.try_step().await;
        if result.is_err() {
            // The cache may hold changes that were never committed: forget it all.
            self.batch = Batch::default();
            self.position = None;
        }
        result
    }

    async fn try_step(&mut self) -> Result<usize, ProjectionError> {
        let after = match self.position {
            Some(position) => position,
            None => self.views.checkpoint(&self.consumer).await?,
        };
        let events = self.store.read_all(after, self.batch_size).await?;
        if events.is_empty() {
            self.position = Some(after);
            return Ok(0);
        }
        let mut seen = HashSet::new();
        let ids: Vec<CaseId> = events
            .iter()
            .map(|e| CaseId::from_uuid(e.stream_id))
            .filter(|id| seen.insert(*id))
            .collect();
        self.views.load_into(&mut self.batch, &ids).await?;
        for event in &events {
            project(&mut self.batch, event, self.offset)?;
        }
        self.views.commit(&mut self.batch, &self.consumer).await?;
        self.position = events.last().map(|e| e.position);
        if self.batch.summaries.len() > self.cache_limit {
            self.batch.summaries.clear();
        }
        Ok(events.len())
    }

    /// Projects until nothing is left; returns the number of events read.
    pub async fn catch_up(&mut self) -> Result<u64, ProjectionError> {
        let mut total = 0;
        loop {
            let read = self.step().await?;
            if read == 0 {
                return Ok(total);
            }
            total += read as u64;
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
        let total = self.store.count().await?;
        let started = Instant::now();
        let mut applied = 0;
        loop {
            let read = self.step().await?;
            applied += read as u64;
            progress(Progress {
                applied,
                total,
                elapsed: started.elapsed(),
            });
            if read == 0 {
                return Ok(applied);
            }
        }
    }
}
