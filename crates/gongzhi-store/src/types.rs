//! The records that go into and come out of the store.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A place in the global order of one store.
///
/// On PostgreSQL `commit` is the writing transaction's id and `sequence` the row's identity
/// value; readers follow `(commit, sequence)` because sequences can commit out of order (see
/// ARCHITECTURE.md, "Global order"). On SQLite there is one writer, rowid order is commit
/// order and `commit` is always 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct Position {
    pub commit: i64,
    pub sequence: i64,
}

impl Position {
    /// Before the first event.
    pub const START: Position = Position {
        commit: 0,
        sequence: 0,
    };

    pub fn new(commit: i64, sequence: i64) -> Self {
        Self { commit, sequence }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.commit == 0 {
            write!(f, "{}", self.sequence)
        } else {
            write!(f, "{}:{}", self.commit, self.sequence)
        }
    }
}

/// An event to append: its identity, type, payload schema version and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    /// The context that owns the event (intake, assignment, resolution).
    pub context: &'static str,
    pub event_type: &'static str,
    pub schema_version: u32,
    pub payload: serde_json::Value,
    /// What the writer had seen of the stream when it decided this event, as text the
    /// store keeps without reading (see the `causal` column).
    pub causal: Option<String>,
}

/// Who caused an append and why; stored on every event of the append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub actor: String,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// One append: events for one stream that must land together, at `expected_version`.
#[derive(Debug, Clone, Copy)]
pub struct AppendRequest<'a> {
    pub stream_id: Uuid,
    /// The stream's current version as the caller saw it; 0 for a new stream.
    pub expected_version: u64,
    pub events: &'a [NewEvent],
    pub metadata: &'a Metadata,
}

/// What an append wrote (or, when `replayed`, what the original append with the same
/// idempotency key wrote).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Appended {
    pub stream_id: Uuid,
    pub first_version: u64,
    pub last_version: u64,
    /// The position of the last event written; a reader at or past it has seen them all.
    pub last_position: Position,
    pub replayed: bool,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: Position,
    pub event_id: Uuid,
    pub stream_id: Uuid,
    pub stream_version: u64,
    pub context: String,
    pub event_type: String,
    pub schema_version: u32,
    /// The payload's JSON text as stored; callers decode it into their own types.
    pub payload: String,
    pub metadata: Metadata,
    pub causal: Option<String>,
}

/// An event as a projection needs it: what happened to which stream, when. Reading fewer
/// columns makes replays of millions of events markedly faster.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub position: Position,
    pub stream_id: Uuid,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: String,
    pub recorded_at: DateTime<Utc>,
}

pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn from_micros(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(value).unwrap_or_default()
}

/// Reads a row selected with a backend's `EVENT_COLUMNS`, by column index (by name costs a
/// lookup per column per row, which shows in rebuilds).
macro_rules! event_from_row {
    ($name:ident, $row:ty) => {
        pub(crate) fn $name(row: &$row) -> Result<StoredEvent, crate::error::StoreError> {
            use sqlx::Row;
            Ok(StoredEvent {
                position: Position::new(row.try_get(0)?, row.try_get(1)?),
                event_id: row.try_get(2)?,
                stream_id: row.try_get(3)?,
                stream_version: row.try_get::<i64, _>(4)? as u64,
                context: row.try_get(5)?,
                event_type: row.try_get(6)?,
                schema_version: row.try_get::<i32, _>(7)? as u32,
                payload: row.try_get(8)?,
                metadata: Metadata {
                    actor: row.try_get(9)?,
                    correlation_id: row.try_get(10)?,
                    causation_id: row.try_get(11)?,
                    idempotency_key: row.try_get(12)?,
                    recorded_at: from_micros(row.try_get(13)?),
                },
                causal: row.try_get(14)?,
            })
        }
    };
}

event_from_row!(sqlite_event, sqlx::sqlite::SqliteRow);
event_from_row!(postgres_event, sqlx::postgres::PgRow);

/// Reads a row selected with a backend's `RECORDED_COLUMNS`, by column index.
macro_rules! recorded_from_row {
    ($name:ident, $row:ty) => {
        pub(crate) fn $name(row: &$row) -> Result<RecordedEvent, crate::error::StoreError> {
            use sqlx::Row;
            Ok(RecordedEvent {
                position: Position::new(row.try_get(0)?, row.try_get(1)?),
                stream_id: row.try_get(2)?,
                stream_version: row.try_get::<i64, _>(3)? as u64,
                event_type: row.try_get(4)?,
                schema_version: row.try_get::<i32, _>(5)? as u32,
                payload: row.try_get(6)?,
                recorded_at: from_micros(row.try_get(7)?),
            })
        }
    };
}

recorded_from_row!(sqlite_recorded, sqlx::sqlite::SqliteRow);
recorded_from_row!(postgres_recorded, sqlx::postgres::PgRow);
