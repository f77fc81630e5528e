//! The SQLite event store: one file per service, WAL mode, one writer connection (so rowid
//! order is commit order) and a pool of readers.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::error::{AppendError, StoreError};
use crate::group_commit;
use crate::migrate::{Backend, CREATE_MIGRATIONS_TABLE, migrations};
use crate::types::{AppendRequest, Appended, Position, RecordedEvent, StoredEvent, micros};
use crate::{EventStore, SAVE_CHECKPOINT};

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    /// `FULL` (the default): every commit is fsynced, so an acknowledged event survives
    /// power loss. `NORMAL` survives a killed process only; fine for views, which can be
    /// rebuilt from the log.
    pub synchronous_full: bool,
    pub readers: u32,
    /// Page cache per connection, in MiB. One process keeps several stores open (a store
    /// per service, the views, the accounts), each with a writer and readers, so this is
    /// what bounds its memory; the operating system's file cache does the rest.
    pub cache_mib: u32,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            synchronous_full: true,
            readers: 2,
            cache_mib: 2,
        }
    }

    /// Parses `sqlite://PATH` or `sqlite:PATH`, with an optional `?synchronous=normal`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(crate::error::scheme(url)))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path == ":memory:" {
            return Err(StoreError::UnsupportedUrl(crate::error::scheme(url)));
        }
        let mut options = Self::new(path);
        options.synchronous_full = !query
            .split('&')
            .any(|p| p.eq_ignore_ascii_case("synchronous=normal"));
        Ok(options)
    }

    /// Connection options with the store's pragmas (WAL, synchronous level, busy timeout).
    pub fn connect_options(&self) -> SqliteConnectOptions {
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
            .pragma("cache_size", format!("-{}", self.cache_mib * 1024))
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
        // IMMEDIATE takes the write lock before the check, so two processes opening the
        // same new file migrate it once, one after the other.
        let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
        if apply_migration!(tx, migration) {
            tx.commit().await.map_err(|source| StoreError::Migration {
                name: migration.name,
                source,
            })?;
        }
    }
    Ok(())
}

/// The SQLite implementation of [`EventStore`].
#[derive(Debug, Clone)]
pub struct SqliteEventStore {
    writer: SqlitePool,
    readers: SqlitePool,
    appended: watch::Sender<u64>,
    jobs: mpsc::Sender<group_commit::Job>,
    /// Appends under way in this process; a lone one skips the writer task.
    in_flight: Arc<AtomicUsize>,
}

/// Counts an append as under way until dropped (also when its future is cancelled).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Registers an append; true if no other append was under way.
    fn enter(counter: &Arc<AtomicUsize>) -> (Self, bool) {
        let alone = counter.fetch_add(1, Ordering::SeqCst) == 0;
        (Self(Arc::clone(counter)), alone)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Rows after a position in global order (see `shared_sql`; the commit key `$1` is unused).
const AFTER: &str = "WHERE position > $2 ORDER BY position LIMIT $3";
const HEAD: &str = "SELECT 0, position FROM events ORDER BY position DESC LIMIT 1";
const DECIDED_BETWEEN: &str =
    "WHERE context = $4 AND position > $2 AND position <= $6 ORDER BY position LIMIT $3";

/// In the order `types::event_from_row` reads them; on SQLite the commit key is always 0.
const RECORDED_COLUMNS: &str =
    "0, position, stream_id, stream_version, event_type, schema_version, payload, recorded_at";

/// The first half of a position; always 0 on SQLite.
const COMMIT_KEY: &str = "0";

/// In the order `types::event_from_row` reads them; on SQLite the commit key is always 0.
const EVENT_COLUMNS: &str = "0, position, event_id, stream_id, stream_version, context, event_type, \
     schema_version, payload, actor, correlation_id, causation_id, idempotency_key, recorded_at, causal";

/// What an append statement did, before its transaction commits.
pub(crate) enum InTransaction {
    Written(Appended),
    /// The stream was not at the expected version; nothing was written.
    Conflict,
    /// Another append already claimed this idempotency key; nothing was written.
    KeyTaken,
}

/// The INSERT for an append of `n` events: one statement, so it is atomic on its own and
/// costs one round trip. The unique index on (stream, version) refuses a version that is
/// taken and the `events_no_version_gap` trigger one that skips ahead, so the statement
/// writes nothing unless the stream is at the expected version. `$1` is the stream id.
fn insert_sql(n: usize) -> String {
    const PER_EVENT: usize = 8;
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let p = 7 + i * PER_EVENT;
            format!(
                "(${}, $1, ${}, ${}, ${}, ${}, ${}, $2, $3, $4, $5, ${}, $6, ${})",
                p,
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 7
            )
        })
        .collect();
    format!(
        "INSERT INTO events (event_id, stream_id, stream_version, context, event_type, schema_version, \
         payload, actor, correlation_id, causation_id, idempotency_key, append_index, recorded_at, causal) \
         VALUES {}",
        rows.join(", ")
    )
}

/// The statement of the common single-event append, built once.
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));

impl SqliteEventStore {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(options: &SqliteOptions) -> Result<Self, StoreError> {
        let (writer, readers) = open_pools(options).await?;
        let appended = watch::Sender::new(0);
        let jobs = group_commit::spawn(writer.clone(), appended.clone());
        Ok(Self {
            writer,
            readers,
            appended,
            jobs,
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Runs one append statement on `executor` (the writer, or a transaction on it).
    pub(crate) async fn append_on(
        executor: impl sqlx::SqliteExecutor<'_>,
        request: &AppendRequest<'_>,
    ) -> Result<InTransaction, AppendError> {
        let metadata = request.metadata;
        let many;
        let sql = match request.events.len() {
            1 => INSERT_ONE.as_str(),
            n => {
                many = insert_sql(n);
                many.as_str()
            }
        };
        let mut query = sqlx::query(sql)
            .bind(request.stream_id)
            .bind(&metadata.actor)
            .bind(metadata.correlation_id)
            .bind(metadata.causation_id)
            .bind(metadata.idempotency_key.as_deref())
            .bind(micros(metadata.recorded_at));
        for (index, event) in request.events.iter().enumerate() {
            query = query
                .bind(event.event_id)
                .bind((request.expected_version + index as u64 + 1) as i64)
                .bind(event.context)
                .bind(event.event_type)
                .bind(i64::from(event.schema_version))
                .bind(event.payload.to_string())
                .bind(index as i64)
                .bind(event.causal.as_deref());
        }
        // Rows are inserted in order, so the last rowid is the append's last position.
        match query.execute(executor).await {
            Ok(done) => Ok(InTransaction::Written(Appended {
                stream_id: request.stream_id,
                first_version: request.expected_version + 1,
                last_version: request.expected_version + request.events.len() as u64,
                last_position: Position::new(0, done.last_insert_rowid()),
                replayed: false,
            })),
            Err(error) if is_unique_violation(&error, "events.idempotency_key") => {
                Ok(InTransaction::KeyTaken)
            }
            Err(error)
                if is_unique_violation(&error, "events.stream_id") || is_version_gap(&error) =>
            {
                Ok(InTransaction::Conflict)
            }
            Err(error) if is_unique_violation(&error, "events.event_id") => {
                Err(crate::error::duplicate_event(request, &error))
            }
            Err(error) => Err(error.into()),
        }
    }

    shared_append_outcomes!(readers: readers, executor: sqlx::SqliteExecutor<'_>);
}

fn is_version_gap(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.message().contains("gongzhi: stream version gap"))
}

pub(crate) fn is_unique_violation(error: &sqlx::Error, what: &str) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation() && db.message().contains(what))
}

impl EventStore for SqliteEventStore {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Appended, AppendError> {
        if request.events.is_empty() {
            return Err(AppendError::Empty);
        }
        let (_in_flight, alone) = InFlight::enter(&self.in_flight);
        let outcome = if alone {
            // Nothing to group with: one autocommitted statement, without the hop to the
            // writer task (which would do exactly this for a group of one).
            let outcome = Self::append_on(&self.writer, &request).await?;
            if matches!(outcome, InTransaction::Written(_)) {
                self.appended.send_modify(|n| *n += 1);
            }
            outcome
        } else {
            let (reply, outcome) = oneshot::channel();
            let job = group_commit::Job {
                stream_id: request.stream_id,
                expected_version: request.expected_version,
                events: request.events.to_vec(),
                metadata: request.metadata.clone(),
                reply,
            };
            let closed = || StoreError::Commit("the SQLite writer has stopped".to_owned());
            self.jobs.send(job).await.map_err(|_| closed())?;
            outcome.await.map_err(|_| closed())??
        };
        self.answer(&request, outcome).await
    }

    async fn append_batch_and_checkpoint(
        &self,
        requests: &[AppendRequest<'_>],
        checkpoint: Option<(&str, Position)>,
    ) -> Result<Vec<Appended>, AppendError> {
        if requests.iter().any(|r| r.events.is_empty()) {
            return Err(AppendError::Empty);
        }
        let mut tx = self.writer.begin().await?;
        let mut written = Vec::with_capacity(requests.len());
        for request in requests {
            match Self::append_on(&mut *tx, request).await? {
                InTransaction::Written(appended) => written.push(appended),
                InTransaction::Conflict => {
                    let actual = Self::current_version(&mut *tx, request.stream_id).await?;
                    return Err(AppendError::VersionConflict {
                        stream_id: request.stream_id,
                        expected: request.expected_version,
                        actual,
                    });
                }
                InTransaction::KeyTaken => return Err(AppendError::KeyTaken),
            }
        }
        if let Some((consumer, position)) = checkpoint {
            sqlx::query(SAVE_CHECKPOINT)
                .bind(consumer)
                .bind(position.commit)
                .bind(position.sequence)
                .bind(micros(chrono::Utc::now()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.appended.send_modify(|n| *n += 1);
        Ok(written)
    }

    fn appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    async fn count_by_context(
        &self,
        stream_ids: &[Uuid],
    ) -> Result<Vec<(Uuid, String, u64)>, StoreError> {
        let mut rows = Vec::new();
        // Anonymous placeholders: numbered ones bind in quadratic time on SQLite.
        for chunk in stream_ids.chunks(500) {
            let sql = format!(
                "SELECT stream_id, context, COUNT(*) FROM events WHERE stream_id IN ({}) \
                 GROUP BY stream_id, context",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut query = sqlx::query_as::<_, (Uuid, String, i64)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            rows.extend(
                query
                    .fetch_all(&self.readers)
                    .await?
                    .into_iter()
                    .map(|(id, context, n)| (id, context, n as u64)),
            );
        }
        Ok(rows)
    }

    async fn first_events(&self, stream_ids: &[Uuid]) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = Vec::new();
        for chunk in stream_ids.chunks(500) {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE stream_version = 1 AND stream_id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.readers).await? {
                events.push(crate::types::sqlite_event(&row)?);
            }
        }
        Ok(events)
    }

    shared_reads!(readers: readers, writer: writer, event: crate::types::sqlite_event, recorded: crate::types::sqlite_recorded, after: AFTER, head: HEAD, decided_between: DECIDED_BETWEEN);
}

#[cfg(test)]
mod tests {
    use super::SqliteOptions;

    #[test]
    fn an_event_store_url_is_fully_durable_unless_it_asks_otherwise() {
        assert!(
            SqliteOptions::from_url("sqlite://data/events.sqlite")
                .unwrap()
                .synchronous_full
        );
        assert!(
            SqliteOptions::from_url("sqlite:events.sqlite?synchronous=full")
                .unwrap()
                .synchronous_full
        );
        assert!(
            !SqliteOptions::from_url("sqlite://events.sqlite?synchronous=normal")
                .unwrap()
                .synchronous_full
        );
        assert!(SqliteOptions::from_url("sqlite://:memory:").is_err());
        assert!(SqliteOptions::from_url("postgres://x").is_err());
    }
}
