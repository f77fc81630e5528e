//! The PostgreSQL event store: each service in its own schema, gap-free global order by
//! `(transaction_id, position)` read below the oldest running transaction.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{AppendError, StoreError};
use crate::migrate::{Backend, CREATE_MIGRATIONS_TABLE, migrations};
use crate::sqlite::InTransaction;
use crate::types::{AppendRequest, Appended, Position, RecordedEvent, StoredEvent, micros};
use crate::{EventStore, Lease, SAVE_CHECKPOINT};

/// How to reach a PostgreSQL store.
#[derive(Clone)]
pub struct PostgresOptions {
    pub url: String,
    /// The schema holding this service's tables (`public` if unset).
    pub schema: Option<String>,
    pub max_connections: u32,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("PostgresOptions")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl PostgresOptions {
    /// Parses a `postgres://` URL; a `schema=NAME` query parameter selects the schema.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::UnsupportedUrl(crate::error::scheme(url)));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("schema=") {
                Some(name) => schema = Some(name.to_owned()),
                None => kept.push(pair),
            }
        }
        if let Some(name) = &schema {
            let valid = name.len() <= 63
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(StoreError::InvalidSchema(name.chars().take(63).collect()));
            }
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self {
            url,
            schema,
            max_connections: 16,
        })
    }

    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions, StoreError> {
        let options = PgConnectOptions::from_str(&self.url)?;
        Ok(match &self.schema {
            Some(schema) => options.options([("search_path", schema.as_str())]),
            None => options,
        })
    }
}

/// Opens a pool on the service's schema (creating it) and applies migrations.
pub async fn open_pool(options: &PostgresOptions) -> Result<PgPool, StoreError> {
    if let Some(schema) = &options.schema {
        let bootstrap = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(PgConnectOptions::from_str(&options.url)?)
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .execute(&bootstrap)
            .await
            .or_else(ignore_concurrent_create)?;
        bootstrap.close().await;
    }
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .connect_with(options.connect_options()?)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Two services creating the same schema at once: one of them loses a race on the catalog.
fn ignore_concurrent_create(
    error: sqlx::Error,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Ok(Default::default()),
        _ => Err(error),
    }
}

async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // Several copies of a service may start at once; one migrates, the others wait.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('gongzhi-migrate:' || current_schema()))")
        .execute(&mut *tx)
        .await?;
    sqlx::query(CREATE_MIGRATIONS_TABLE)
        .execute(&mut *tx)
        .await?;
    for migration in migrations(Backend::Postgres) {
        let _applied = apply_migration!(tx, migration);
    }
    tx.commit().await?;
    Ok(())
}

/// Global positions start with the writer's transaction id, so they only grow while the
/// cluster's transaction counter does. After a dump and restore into a new cluster the
/// counter starts lower and new events would sort before old ones: refuse to start.
async fn check_transaction_ids(pool: &PgPool) -> Result<(), StoreError> {
    let (stored, next): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT MAX(transaction_id) FROM events), \
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
    )
    .fetch_one(pool)
    .await?;
    match stored {
        Some(stored) if stored >= next => Err(StoreError::TransactionIdsBehind { stored, next }),
        _ => Ok(()),
    }
}

/// The PostgreSQL implementation of [`EventStore`].
#[derive(Debug, Clone)]
pub struct PostgresEventStore {
    pool: PgPool,
    /// Connections that hold case leases, apart from the ones that do the work: a command
    /// holding a lease must never wait for a connection that other lease holders have
    /// taken (64 leases on a pool of 16 would starve every append).
    leases: PgPool,
    appended: watch::Sender<u64>,
}

/// Commands that may hold a case lease at once in one process; more wait for a lease.
const LEASES: u32 = 16;

const RECORDED_COLUMNS: &str = "transaction_id, position, stream_id, stream_version, event_type, schema_version, payload::text, recorded_at";

/// Rows of transactions older than every running one: those can no longer change, so
/// nothing can appear behind a reader later.
const BELOW_HORIZON: &str = "WHERE (transaction_id, position) > ($1, $2) \
    AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
    ORDER BY transaction_id, position LIMIT $3";

/// The newest event below the horizon.
const HEAD: &str = "SELECT transaction_id, position FROM events \
    WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
    ORDER BY transaction_id DESC, position DESC LIMIT 1";
const DECIDED_BETWEEN: &str = "WHERE context = $4 AND (transaction_id, position) > ($1, $2) \
    AND (transaction_id, position) <= ($5, $6) ORDER BY transaction_id, position LIMIT $3";

/// The first half of a position: the writing transaction's id.
const COMMIT_KEY: &str = "transaction_id";

/// In the order `types::event_from_row` reads them.
const EVENT_COLUMNS: &str = "transaction_id, position, event_id, stream_id, stream_version, context, \
     event_type, schema_version, payload::text, actor, correlation_id, causation_id, idempotency_key, recorded_at, causal";

/// One statement per append: atomic on its own, one round trip, and it writes nothing
/// unless the stream is at the expected version. The unique indexes catch a concurrent
/// writer and a reused idempotency key.
const APPEND: &str = "INSERT INTO events (event_id, stream_id, stream_version, context, event_type, \
    schema_version, payload, actor, correlation_id, causation_id, idempotency_key, append_index, recorded_at, causal) \
    SELECT e.event_id, $1, $2 + e.n, e.context, e.event_type, e.schema_version, e.payload::jsonb, \
           $3, $4, $5, $6, e.n - 1, $7, e.causal \
    FROM UNNEST($8::uuid[], $9::text[], $10::text[], $11::int4[], $12::text[], $13::text[]) \
         WITH ORDINALITY AS e(event_id, context, event_type, schema_version, payload, causal, n) \
    WHERE (SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1) = $2 \
    RETURNING transaction_id, position";

/// The same for the common single-event append, without the array machinery.
const APPEND_ONE: &str = "INSERT INTO events (event_id, stream_id, stream_version, context, event_type, \
    schema_version, payload, actor, correlation_id, causation_id, idempotency_key, append_index, recorded_at, causal) \
    SELECT $8, $1, $2 + 1, $9, $10, $11, $12::jsonb, $3, $4, $5, $6, 0, $7, $13 \
    WHERE (SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream_id = $1) = $2 \
    RETURNING transaction_id, position";

impl PostgresEventStore {
    /// Connects, creates the schema if needed and migrates.
    pub async fn open(options: &PostgresOptions) -> Result<Self, StoreError> {
        let pool = open_pool(options).await?;
        check_transaction_ids(&pool).await?;
        let leases = PgPoolOptions::new()
            .max_connections(LEASES)
            .min_connections(0)
            .connect_lazy_with(options.connect_options()?);
        Ok(Self {
            pool,
            leases,
            appended: watch::Sender::new(0),
        })
    }

    /// The connection pool, for tests and benchmarks that measure beside the store.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn append_on(
        executor: impl sqlx::PgExecutor<'_>,
        request: &AppendRequest<'_>,
    ) -> Result<InTransaction, AppendError> {
        let metadata = request.metadata;
        let events = request.events;
        let query = sqlx::query_as(if events.len() == 1 {
            APPEND_ONE
        } else {
            APPEND
        })
        .bind(request.stream_id)
        .bind(request.expected_version as i64)
        .bind(&metadata.actor)
        .bind(metadata.correlation_id)
        .bind(metadata.causation_id)
        .bind(metadata.idempotency_key.as_deref())
        .bind(metadata.recorded_at.timestamp_micros());
        let query = match events {
            [event] => query
                .bind(event.event_id)
                .bind(event.context)
                .bind(event.event_type)
                .bind(event.schema_version as i32)
                .bind(event.payload.to_string())
                .bind(event.causal.as_deref()),
            _ => query
                .bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
                .bind(events.iter().map(|e| e.context).collect::<Vec<_>>())
                .bind(events.iter().map(|e| e.event_type).collect::<Vec<_>>())
                .bind(
                    events
                        .iter()
                        .map(|e| e.schema_version as i32)
                        .collect::<Vec<_>>(),
                )
                .bind(
                    events
                        .iter()
                        .map(|e| e.payload.to_string())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    events
                        .iter()
                        .map(|e| e.causal.clone())
                        .collect::<Vec<Option<String>>>(),
                ),
        };
        let rows: Result<Vec<(i64, i64)>, sqlx::Error> = query.fetch_all(executor).await;
        match rows {
            Ok(rows) => match rows.into_iter().max() {
                None => Ok(InTransaction::Conflict),
                Some((commit, sequence)) => Ok(InTransaction::Written(Appended {
                    stream_id: request.stream_id,
                    first_version: request.expected_version + 1,
                    last_version: request.expected_version + events.len() as u64,
                    last_position: Position::new(commit, sequence),
                    replayed: false,
                })),
            },
            Err(error) if constraint_is(&error, "events_idempotency") => {
                Ok(InTransaction::KeyTaken)
            }
            Err(error) if constraint_is(&error, "events_stream_version") => {
                Ok(InTransaction::Conflict)
            }
            Err(error) if constraint_is(&error, "events_event_id_key") => {
                Err(crate::error::duplicate_event(request, &error))
            }
            Err(error) => Err(error.into()),
        }
    }

    shared_append_outcomes!(readers: pool, executor: sqlx::PgExecutor<'_>);
}

fn constraint_is(error: &sqlx::Error, name: &str) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.constraint() == Some(name))
}

impl EventStore for PostgresEventStore {
    async fn append(&self, request: AppendRequest<'_>) -> Result<Appended, AppendError> {
        if request.events.is_empty() {
            return Err(AppendError::Empty);
        }
        let outcome = Self::append_on(&self.pool, &request).await?;
        if matches!(outcome, InTransaction::Written(_)) {
            self.appended.send_modify(|n| *n += 1);
        }
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
        // One snapshot for the whole batch: a version another transaction commits after it
        // makes this batch conflict, rather than stacking on top with an older
        // transaction id (which would put version n + 1 before n in the global order).
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .await?;
        let mut written = Vec::with_capacity(requests.len());
        for request in requests {
            match Self::append_on(&mut *tx, request).await? {
                InTransaction::Written(appended) => written.push(appended),
                InTransaction::Conflict => {
                    drop(tx);
                    return Err(self.conflict(request).await);
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

    /// An advisory lock on the stream, held by an open transaction that writes nothing (so
    /// it takes no transaction id and holds back no reader's horizon); ending the
    /// transaction, also by dropping it, releases the lock.
    async fn lease(&self, stream_id: Uuid) -> Result<Option<Lease>, StoreError> {
        let bytes = stream_id.as_u128();
        let key = ((bytes >> 64) as u64 ^ bytes as u64) as i64;
        let mut held = self.leases.begin().await?;
        // A holder that is stuck must not hold everyone else forever.
        sqlx::query("SET LOCAL lock_timeout = '5s'")
            .execute(&mut *held)
            .await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *held)
            .await?;
        Ok(Some(Lease::new(held)))
    }

    async fn count_by_context(
        &self,
        stream_ids: &[Uuid],
    ) -> Result<Vec<(Uuid, String, u64)>, StoreError> {
        let rows: Vec<(Uuid, String, i64)> = sqlx::query_as(
            "SELECT stream_id, context, COUNT(*) FROM events WHERE stream_id = ANY($1) \
             GROUP BY stream_id, context",
        )
        .bind(stream_ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, context, n)| (id, context, n as u64))
            .collect())
    }

    async fn first_events(&self, stream_ids: &[Uuid]) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_version = 1 AND stream_id = ANY($1)"
        );
        let rows = sqlx::query(&sql)
            .bind(stream_ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(crate::types::postgres_event).collect()
    }

    shared_reads!(readers: pool, writer: pool, event: crate::types::postgres_event, recorded: crate::types::postgres_recorded, after: BELOW_HORIZON, head: HEAD, decided_between: DECIDED_BETWEEN);
}
