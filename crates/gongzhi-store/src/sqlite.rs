//! The SQLite event store: one file per service, WAL mode, one writer connection (so rowid
//! order is commit order) and a pool of readers.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::watch;
use uuid::Uuid;

use crate::EventStore;
use crate::error::{AppendError, StoreError};
use crate::migrate::{Backend, CREATE_MIGRATIONS_TABLE, migrations};
use crate::types::{AppendRequest, Appended, Metadata, Position, StoredEvent, from_micros, micros};

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// `NORMAL` (the default) survives a killed process; `FULL` also survives power loss,
    /// at the cost of an fsync per commit.
    pub synchronous_full: bool,
    pub readers: u32,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            synchronous_full: false,
            readers: 4,
        }
    }

    /// Parses `sqlite://PATH` or `sqlite:PATH`, with an optional `?synchronous=full`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        let mut options = Self::new(path);
        options.synchronous_full = query
            .split('&')
            .any(|p| p.eq_ignore_ascii_case("synchronous=full"));
        Ok(options)
    }

    pub(crate) fn connect_options(&self) -> SqliteConnectOptions {
        SqliteConnectOptions::from_str("sqlite://")
            .expect("the bare sqlite URL parses")
            .filename(&self.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if self.synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
    }
}

/// Opens the writer and reader pools of a SQLite database and applies migrations.
pub async fn open_pools(options: &SqliteOptions) -> Result<(SqlitePool, SqlitePool), StoreError> {
    if let Some(parent) = options.path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    }
    let connect = options.connect_options();
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(connect.clone())
        .await?;
    migrate(&writer).await?;
    let readers = SqlitePoolOptions::new()
        .max_connections(options.readers.max(1))
        .connect_with(connect.read_only(true))
        .await?;
    Ok((writer, readers))
}

async fn migrate(writer: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query(CREATE_MIGRATIONS_TABLE).execute(writer).await?;
    for migration in migrations(Backend::Sqlite) {
        let mut tx = writer.begin().await?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
        if applied.is_some() {
            continue;
        }
        let fail = |source| StoreError::Migration {
            name: migration.name,
            source,
        };
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(micros(Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        tracing::info!(migration = migration.name, "applied migration");
    }
    Ok(())
}

/// The SQLite implementation of [`EventStore`].
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    writer: SqlitePool,
    readers: SqlitePool,
    appended: watch::Sender<u64>,
}

const EVENT_COLUMNS: &str = "position, event_id, stream_id, stream_version, context, event_type, \
     schema_version, payload, actor, correlation_id, causation_id, idempotency_key, recorded_at";

/// The result of appending inside a transaction that has not committed yet.
pub(crate) enum InTransaction {
    Written(Appended),
    /// Another append already used this idempotency key: roll back and replay it.
    KeyTaken,
}

impl SqliteEventStore {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(options: &SqliteOptions) -> Result<Self, StoreError> {
        let (writer, readers) = open_pools(options).await?;
        Ok(Self {
            writer,
            readers,
            appended: watch::Sender::new(0),
        })
    }

    async fn current_version(
        tx: &mut Transaction<'_, Sqlite>,
        stream_id: Uuid,
    ) -> Result<u64, sqlx::Error> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(stream_version) FROM events WHERE stream_id = $1")
                .bind(stream_id)
                .fetch_one(&mut **tx)
                .await?;
        Ok(version.unwrap_or(0) as u64)
    }

    /// Appends one request inside an open transaction.
    async fn append_in(
        tx: &mut Transaction<'_, Sqlite>,
        request: &AppendRequest<'_>,
    ) -> Result<InTransaction, AppendError> {
        let actual = Self::current_version(tx, request.stream_id).await?;
        if actual != request.expected_version {
            return Err(AppendError::VersionConflict {
                stream_id: request.stream_id,
                expected: request.expected_version,
                actual,
            });
        }
        let metadata = request.metadata;
        let mut last_position = 0;
        for (offset, event) in request.events.iter().enumerate() {
            let version = request.expected_version + offset as u64 + 1;
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO events (event_id, stream_id, stream_version, context, event_type, \
                 schema_version, payload, actor, correlation_id, causation_id, idempotency_key, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING position",
            )
            .bind(event.event_id)
            .bind(request.stream_id)
            .bind(version as i64)
            .bind(event.context)
            .bind(event.event_type)
            .bind(i64::from(event.schema_version))
            .bind(event.payload.to_string())
            .bind(&metadata.actor)
            .bind(metadata.correlation_id)
            .bind(metadata.causation_id)
            .bind(metadata.idempotency_key.as_deref())
            .bind(micros(metadata.recorded_at))
            .fetch_one(&mut **tx)
            .await;
            last_position = match inserted {
                Ok(position) => position,
                Err(error) if is_unique_violation(&error, "events.event_id") => {
                    return Err(AppendError::DuplicateEvent(event.event_id));
                }
                Err(error) => return Err(error.into()),
            };
        }
        let appended = Appended {
            stream_id: request.stream_id,
            first_version: request.expected_version + 1,
            last_version: request.expected_version + request.events.len() as u64,
            last_position: Position::new(0, last_position),
            replayed: false,
        };
        if let Some(key) = &metadata.idempotency_key {
            let stored = sqlx::query(
                "INSERT INTO idempotency_keys (key, stream_id, first_version, last_version, commit_key, last_position) \
                 VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(request.stream_id)
            .bind(appended.first_version as i64)
            .bind(appended.last_version as i64)
            .bind(last_position)
            .execute(&mut **tx)
            .await?;
            if stored.rows_affected() == 0 {
                return Ok(InTransaction::KeyTaken);
            }
        }
        Ok(InTransaction::Written(appended))
    }
}

pub(crate) fn is_unique_violation(error: &sqlx::Error, what: &str) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation() && db.message().contains(what))
}

fn event_from_row(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let position = Position::new(0, row.try_get("position")?);
    let stream_id: Uuid = row.try_get("stream_id")?;
    let payload: String = row.try_get("payload")?;
    Ok(StoredEvent {
        position,
        event_id: row.try_get("event_id")?,
        stream_id,
        stream_version: row.try_get::<i64, _>("stream_version")? as u64,
        context: row.try_get("context")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get::<i64, _>("schema_version")? as u32,
        payload,
        metadata: Metadata {
            actor: row.try_get("actor")?,
            correlation_id: row.try_get("correlation_id")?,
            causation_id: row.try_get("causation_id")?,
            idempotency_key: row.try_get("idempotency_key")?,
            recorded_at: from_micros(row.try_get("recorded_at")?),
        },
    })
}

impl EventStore for SqliteEventStore {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Appended, AppendError> {
        if request.events.is_empty() {
            return Err(AppendError::Empty);
        }
        if let Some(key) = &request.metadata.idempotency_key {
            if let Some(original) = self.find_idempotent(key).await? {
                return Ok(original);
            }
        }
        for _ in 0..3 {
            let mut tx = self.writer.begin().await?;
            if let InTransaction::Written(appended) = Self::append_in(&mut tx, &request).await? {
                tx.commit().await?;
                self.appended.send_modify(|n| *n += 1);
                return Ok(appended);
            }
            drop(tx);
            if let Some(original) = request.metadata.idempotency_key.as_deref() {
                if let Some(original) = self.find_idempotent(original).await? {
                    return Ok(original);
                }
            }
        }
        Err(AppendError::Store(StoreError::Database(
            sqlx::Error::RowNotFound,
        )))
    }

    async fn append_batch(
        &self,
        requests: &[AppendRequest<'_>],
    ) -> Result<Vec<Appended>, AppendError> {
        let mut tx = self.writer.begin().await?;
        let mut written = Vec::with_capacity(requests.len());
        for request in requests {
            if request.events.is_empty() {
                return Err(AppendError::Empty);
            }
            match Self::append_in(&mut tx, request).await? {
                InTransaction::Written(appended) => written.push(appended),
                InTransaction::KeyTaken => return Err(AppendError::KeyTaken),
            }
        }
        tx.commit().await?;
        self.appended.send_modify(|n| *n += 1);
        Ok(written)
    }

    async fn find_idempotent(&self, key: &str) -> Result<Option<Appended>, StoreError> {
        let row = sqlx::query(
            "SELECT stream_id, first_version, last_version, commit_key, last_position \
             FROM idempotency_keys WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&self.readers)
        .await?;
        row.map(|row| {
            Ok(Appended {
                stream_id: row.try_get("stream_id")?,
                first_version: row.try_get::<i64, _>("first_version")? as u64,
                last_version: row.try_get::<i64, _>("last_version")? as u64,
                last_position: Position::new(
                    row.try_get("commit_key")?,
                    row.try_get("last_position")?,
                ),
                replayed: true,
            })
        })
        .transpose()
    }

    async fn read_stream(&self, stream_id: Uuid) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version"
        ))
        .bind(stream_id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn read_all(
        &self,
        after: Position,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after.sequence)
        .bind(limit as i64)
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.readers)
            .await?;
        Ok(count as u64)
    }

    fn appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    async fn load_checkpoint(&self, consumer: &str) -> Result<Position, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT commit_key, position FROM checkpoints WHERE consumer = $1")
                .bind(consumer)
                .fetch_optional(&self.readers)
                .await?;
        Ok(row.map_or(Position::START, |(commit, sequence)| {
            Position::new(commit, sequence)
        }))
    }

    async fn save_checkpoint(&self, consumer: &str, position: Position) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checkpoints (consumer, commit_key, position, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (consumer) DO UPDATE SET commit_key = excluded.commit_key, \
             position = excluded.position, updated_at = excluded.updated_at",
        )
        .bind(consumer)
        .bind(position.commit)
        .bind(position.sequence)
        .bind(micros(Utc::now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
