//! Store errors. A unique violation on the stream version is a version conflict, never a
//! generic database error.

use uuid::Uuid;

use crate::types::AppendRequest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Carries only the scheme: a URL may hold a password.
    #[error("unsupported store URL (scheme '{0}'): use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("schema name '{0}' must start with a-z and contain only a-z, 0-9 and _")]
    InvalidSchema(String),
    #[error(
        "stored events carry transaction ids up to {stored}, but this PostgreSQL cluster is at {next}: \
         it was restored or replicated from a dump, so new events would sort before old ones. \
         Copy the events into a new table in position order, or start from a physical replica"
    )]
    TransactionIdsBehind { stored: i64, next: i64 },
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("a background task failed: {0}")]
    Task(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("migration {name} failed")]
    Migration {
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream_id} is at version {actual}, not the expected {expected}")]
    VersionConflict {
        stream_id: Uuid,
        expected: u64,
        actual: u64,
    },
    #[error("event {0} is already stored")]
    DuplicateEvent(Uuid),
    #[error("an append must carry at least one event")]
    Empty,
    /// The idempotency key was claimed by an append to another stream (or, in a batch, by
    /// an earlier append); nothing was written.
    #[error("the idempotency key was already used by another append")]
    KeyTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AppendError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(error))
    }
}

/// Which event of a request collided with a stored event id.
pub(crate) fn duplicate_event(request: &AppendRequest<'_>, error: &sqlx::Error) -> AppendError {
    let message = match error {
        sqlx::Error::Database(db) => db.message().to_owned(),
        _ => String::new(),
    };
    let id = request
        .events
        .iter()
        .map(|e| e.event_id)
        .find(|id| message.contains(&id.to_string()))
        .unwrap_or(request.events[0].event_id);
    AppendError::DuplicateEvent(id)
}

/// The scheme of a URL, for messages that must not repeat the URL itself.
pub(crate) fn scheme(url: &str) -> String {
    url.split_once(':')
        .map_or("none", |(scheme, _)| scheme)
        .chars()
        .take(20)
        .collect()
}
