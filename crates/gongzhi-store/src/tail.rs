//! Following a store's global order: read what is there, then wait for more.

use std::time::Duration;

use tokio::sync::watch;

use crate::EventStore;
use crate::error::StoreError;
use crate::types::{Position, StoredEvent};

/// A reader that follows the global order from a position. It wakes at once when this
/// process appends, and otherwise polls every `poll` for appends made by other processes.
pub struct Tail<'a, S: EventStore> {
    store: &'a S,
    after: Position,
    batch: usize,
    poll: Duration,
    appended: watch::Receiver<u64>,
}

impl<'a, S: EventStore> Tail<'a, S> {
    pub fn new(store: &'a S, after: Position, batch: usize, poll: Duration) -> Self {
        Self {
            store,
            after,
            batch: batch.max(1),
            poll,
            appended: store.appended(),
        }
    }

    /// Where the reader stands: every event up to here has been returned.
    pub fn position(&self) -> Position {
        self.after
    }

    /// The next batch, possibly empty if nothing is there (does not wait).
    pub async fn poll_batch(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        self.appended.borrow_and_update();
        let events = self.store.read_all(self.after, self.batch).await?;
        if let Some(last) = events.last() {
            self.after = last.position;
        }
        Ok(events)
    }

    /// The next non-empty batch, waiting for it as long as it takes.
    pub async fn next_batch(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        loop {
            let events = self.poll_batch().await?;
            if !events.is_empty() {
                return Ok(events);
            }
            // Either a local append or the poll interval, whichever comes first. A closed
            // channel means the store is gone; polling still works, so keep going.
            let _ = tokio::time::timeout(self.poll, self.appended.changed()).await;
        }
    }
}
