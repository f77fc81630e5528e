//! The event store of DESIGN §5: one backend-neutral trait, [`EventStore`], with a SQLite
//! and a PostgreSQL implementation chosen at run time from the URL scheme ([`connect`]).
//!
//! The store knows streams, versions, positions and JSON payloads, not the domain: decoding
//! payloads into domain events is the caller's business. Only this crate and the views
//! crate talk SQL.

#[macro_use]
mod shared_sql;

mod any;
mod error;
mod group_commit;
mod migrate;
mod partition;
mod postgres;
mod sqlite;
mod tail;
mod types;

pub use any::{AnyEventStore, connect};
pub use error::{AppendError, StoreError};
pub use migrate::{Backend, Migration, migrations};
pub use partition::Partition;
pub use postgres::{PostgresEventStore, PostgresOptions, open_pool as open_postgres};
pub use sqlite::{SqliteEventStore, SqliteOptions, open_pools as open_sqlite};
pub use tail::Tail;
pub use types::{
    AppendRequest, Appended, Metadata, NewEvent, Position, RecordedEvent, StoredEvent,
};

use std::future::Future;

/// Saves a consumer's position (`$1` consumer, `$2` commit key, `$3` sequence, `$4` time).
pub(crate) const SAVE_CHECKPOINT: &str = "INSERT INTO checkpoints (consumer, commit_key, position, updated_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (consumer) DO UPDATE SET commit_key = excluded.commit_key, \
    position = excluded.position, updated_at = excluded.updated_at";

use tokio::sync::watch;
use uuid::Uuid;

/// What every event store backend does. Implementations guarantee:
///
/// - `append` is atomic: all events of a request are stored, or none;
/// - it refuses with [`AppendError::VersionConflict`] unless the stream is exactly at the
///   expected version, so two concurrent commands on one stream never both win;
/// - a request whose idempotency key was seen before writes nothing and returns the
///   original [`Appended`] with `replayed: true`;
/// - `read_all` returns events in global [`Position`] order, without gaps: an event that
///   commits late is never skipped by a reader that has already moved past its neighbours.
pub trait EventStore: Send + Sync + 'static {
    /// Appends events to one stream.
    fn append(
        &self,
        request: AppendRequest<'_>,
    ) -> impl Future<Output = Result<Appended, AppendError>> + Send;

    /// Several appends (to different streams) in one transaction: all are written or none.
    /// Meant for bulk loads.
    fn append_batch(
        &self,
        requests: &[AppendRequest<'_>],
    ) -> impl Future<Output = Result<Vec<Appended>, AppendError>> + Send {
        self.append_batch_and_checkpoint(requests, None)
    }

    /// `append_batch`, and a consumer's checkpoint saved in the same transaction: an inbox
    /// records the events it observed and how far it read in one commit.
    fn append_batch_and_checkpoint(
        &self,
        requests: &[AppendRequest<'_>],
        checkpoint: Option<(&str, Position)>,
    ) -> impl Future<Output = Result<Vec<Appended>, AppendError>> + Send;

    /// The result of an earlier append made with this idempotency key, if any.
    fn find_idempotent(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Appended>, StoreError>> + Send;

    /// Every event of one stream, in version order.
    fn read_stream(
        &self,
        stream_id: Uuid,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// How many events each of these streams holds per context: `(stream, context,
    /// count)` rows, none for a stream without events. One query for a batch of streams,
    /// so a replica can tell which observed events it holds without reading each stream.
    fn count_by_context(
        &self,
        stream_ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<(Uuid, String, u64)>, StoreError>> + Send;

    /// How many events are stored (for progress bars; not a position).
    fn count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Up to `limit` events after `after`, in global order.
    fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Up to `limit` events decided by `context` after `after`, in global order, and the
    /// position the reader may continue from next time (past the other contexts' events
    /// read over): what a relay publishes from a store that also holds replicas of other
    /// contexts' events.
    fn read_decided(
        &self,
        context: &str,
        after: Position,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<StoredEvent>, Position), StoreError>> + Send;

    /// The first event of each of these streams that has one (a case's filing), in one
    /// query for a batch of streams.
    fn first_events(
        &self,
        stream_ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Like `read_all`, without the metadata a projection does not use.
    fn read_recorded(
        &self,
        after: Position,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// Changes whenever this process commits an append, so a tailing reader in the same
    /// process wakes at once; readers in other processes poll (see [`Tail`]).
    fn appended(&self) -> watch::Receiver<u64>;

    /// A consumer's saved position (`Position::START` if it has none).
    fn load_checkpoint(
        &self,
        consumer: &str,
    ) -> impl Future<Output = Result<Position, StoreError>> + Send;

    /// Saves a consumer's position. Consumers whose effect lives in another database keep
    /// their checkpoint there instead, in the same transaction as the effect.
    fn save_checkpoint(
        &self,
        consumer: &str,
        position: Position,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Holds the stream for the caller against every process that uses the same database,
    /// until the returned lease is dropped; `None` where the store cannot (an SQLite file
    /// belongs to one process, whose own locks suffice).
    fn lease(
        &self,
        _stream_id: Uuid,
    ) -> impl Future<Output = Result<Option<Lease>, StoreError>> + Send {
        async { Ok(None) }
    }
}

/// A held stream (see [`EventStore::lease`]); released when dropped.
pub struct Lease(#[allow(dead_code)] Box<dyn Send>);

impl Lease {
    pub(crate) fn new(held: impl Send + 'static) -> Self {
        Self(Box::new(held))
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lease")
    }
}
