//! Run-time backend choice from the URL scheme.

use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{AppendError, StoreError};
use crate::postgres::{PostgresEventStore, PostgresOptions};
use crate::sqlite::{SqliteEventStore, SqliteOptions};
use crate::types::{AppendRequest, Appended, Position, RecordedEvent, StoredEvent};
use crate::{EventStore, Lease};

/// Either backend, picked by [`connect`]. Business code is generic over [`EventStore`] or
/// uses this; it never branches on the backend itself.
#[derive(Debug, Clone)]
pub enum AnyEventStore {
    Sqlite(SqliteEventStore),
    Postgres(PostgresEventStore),
}

/// Opens the store a URL names: `sqlite://PATH` or `postgres://...[?schema=NAME]`.
pub async fn connect(url: &str) -> Result<AnyEventStore, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(AnyEventStore::Sqlite(
            SqliteEventStore::open(&SqliteOptions::from_url(url)?).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(AnyEventStore::Postgres(
            PostgresEventStore::open(&PostgresOptions::from_url(url)?).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl(crate::error::scheme(url)))
    }
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyEventStore::Sqlite($store) => $call,
            AnyEventStore::Postgres($store) => $call,
        }
    };
}

impl EventStore for AnyEventStore {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Appended, AppendError> {
        dispatch!(self, store => store.append(request).await)
    }

    async fn append_batch_and_checkpoint(
        &self,
        requests: &[AppendRequest<'_>],
        checkpoint: Option<(&str, Position)>,
    ) -> Result<Vec<Appended>, AppendError> {
        dispatch!(self, store => store.append_batch_and_checkpoint(requests, checkpoint).await)
    }

    async fn find_idempotent(&self, key: &str) -> Result<Option<Appended>, StoreError> {
        dispatch!(self, store => store.find_idempotent(key).await)
    }

    async fn read_stream(&self, stream_id: Uuid) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self, store => store.read_stream(stream_id).await)
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self, store => store.read_all(after, limit).await)
    }

    async fn read_decided(
        &self,
        context: &str,
        after: Position,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Position), StoreError> {
        dispatch!(self, store => store.read_decided(context, after, limit).await)
    }

    async fn first_events(&self, stream_ids: &[Uuid]) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self, store => store.first_events(stream_ids).await)
    }

    async fn count_by_context(
        &self,
        stream_ids: &[Uuid],
    ) -> Result<Vec<(Uuid, String, u64)>, StoreError> {
        dispatch!(self, store => store.count_by_context(stream_ids).await)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        dispatch!(self, store => store.count().await)
    }

    async fn read_recorded(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, store => store.read_recorded(after, limit).await)
    }

    fn appended(&self) -> watch::Receiver<u64> {
        dispatch!(self, store => store.appended())
    }

    async fn lease(&self, stream_id: Uuid) -> Result<Option<Lease>, StoreError> {
        dispatch!(self, store => store.lease(stream_id).await)
    }

    async fn load_checkpoint(&self, consumer: &str) -> Result<Position, StoreError> {
        dispatch!(self, store => store.load_checkpoint(consumer).await)
    }

    async fn save_checkpoint(&self, consumer: &str, position: Position) -> Result<(), StoreError> {
        dispatch!(self, store => store.save_checkpoint(consumer, position).await)
    }
}
