//! Where read models live: the same SQLite file or PostgreSQL schema layout as the event
//! store (one migration set), written only by the projector.

use std::sync::LazyLock;

use gongzhi_domain::CaseId;
use gongzhi_store::{
    Position, PostgresOptions, SqliteOptions, StoreError, open_postgres, open_sqlite,
};
use sqlx::types::Json;
use sqlx::{PgPool, Row, SqlitePool};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::projection::Batch;
use crate::stats::{Current, CurrentKey, RollupKey, StatCounts, StatKey};
use crate::summary::CaseSummary;

/// Every row of every view, ordered; two view stores built from the same log are equal.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewContents {
    pub summaries: Vec<CaseSummary>,
    pub cube: Vec<(StatKey, StatCounts)>,
    pub rollups: Vec<((String, String, String, String), StatCounts)>,
    pub current: Vec<(CurrentKey, Current)>,
}

/// The read-model database, either backend.
#[derive(Debug, Clone)]
pub enum ViewStore {
    Sqlite {
        writer: SqlitePool,
        readers: SqlitePool,
    },
    Postgres(PgPool),
}

const SUMMARY_COLUMNS: &str = "case_id, tracking_code, status, community, category, channel, unit, filed_at, updated_at, overdue, version, doc, title, priority, next_deadline, resolved_at";
const SUMMARY_WIDTH: usize = 16;

const SUMMARY_ON_CONFLICT: &str = "ON CONFLICT (case_id) DO UPDATE SET tracking_code = excluded.tracking_code, \
    status = excluded.status, community = excluded.community, category = excluded.category, \
    channel = excluded.channel, unit = excluded.unit, filed_at = excluded.filed_at, \
    updated_at = excluded.updated_at, overdue = excluded.overdue, version = excluded.version, doc = excluded.doc, \
    title = excluded.title, priority = excluded.priority, next_deadline = excluded.next_deadline, \
    resolved_at = excluded.resolved_at";

/// Parameters per multi-row statement: inside both engines' limits (SQLite 32,766,
/// PostgreSQL 65,535).
const PARAMETERS_PER_STATEMENT: usize = 30_000;

/// Rows of `width` columns per multi-row statement.
fn rows_per_statement(width: usize) -> usize {
    (PARAMETERS_PER_STATEMENT / width).clamp(1, 1_000)
}

/// `INSERT INTO table (columns) VALUES ($1, ...), (...) tail` for `rows` rows of `width`.
/// SQLite gets anonymous `?` placeholders: binding numbered ones costs time quadratic in
/// their count there.
fn multi_row_insert(
    numbered: bool,
    table: &str,
    columns: &str,
    width: usize,
    rows: usize,
    tail: &str,
) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push_str(&format!("${}", row * width + column + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(tail);
    sql
}

/// A projector's first checkpoint; fails (no row) if one exists already.
const INSERT_CHECKPOINT: &str = "INSERT INTO checkpoints (consumer, commit_key, position, updated_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (consumer) DO NOTHING";

/// Moves a checkpoint from `($1, $2)`; changes no row if it is elsewhere.
const ADVANCE_CHECKPOINT: &str = "UPDATE checkpoints SET commit_key = $4, position = $5, updated_at = $6 \
    WHERE commit_key = $1 AND position = $2 AND consumer = $3";

static STATS_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "day, community, category, channel, unit, {}",
        StatCounts::COLUMNS.join(", ")
    )
});

static STATS_ON_CONFLICT: LazyLock<String> = LazyLock::new(|| {
    let updates: Vec<String> = StatCounts::COLUMNS
        .iter()
        .map(|c| format!("{c} = case_stats_daily.{c} + excluded.{c}"))
        .collect();
    format!(
        "ON CONFLICT (day, community, category, channel, unit) DO UPDATE SET {}",
        updates.join(", ")
    )
});

static ROLLUP_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "level, day, community, dim, {}",
        StatCounts::COLUMNS.join(", ")
    )
});

static ROLLUP_ON_CONFLICT: LazyLock<String> = LazyLock::new(|| {
    let updates: Vec<String> = StatCounts::COLUMNS
        .iter()
        .map(|c| format!("{c} = case_stats_rollup.{c} + excluded.{c}"))
        .collect();
    format!(
        "ON CONFLICT (level, day, community, dim) DO UPDATE SET {}",
        updates.join(", ")
    )
});

static SELECT_STATS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT day, community, category, channel, unit, {} FROM case_stats_daily \
         ORDER BY day, community, category, channel, unit",
        StatCounts::COLUMNS.join(", ")
    )
});

/// Writes a batch inside an open transaction, many rows per statement. The SQL is the
/// same on both backends; only the transaction type differs, hence a macro rather than a
/// generic function.
macro_rules! write_batch {
    ($tx:expr, $batch:expr, $consumer:expr, $numbered:expr) => {{
        let dirty: Vec<&CaseSummary> = $batch
            .dirty
            .iter()
            .map(|id| &$batch.summaries[id])
            .collect();
        for chunk in dirty.chunks(rows_per_statement(SUMMARY_WIDTH)) {
            let sql = multi_row_insert(
                $numbered,
                "case_summary",
                SUMMARY_COLUMNS,
                SUMMARY_WIDTH,
                chunk.len(),
                SUMMARY_ON_CONFLICT,
            );
            let mut query = sqlx::query(&sql);
            for summary in chunk {
                query = query
                    .bind(summary.case_id.as_uuid())
                    .bind(&summary.tracking_code)
                    .bind(summary.status.as_str())
                    .bind(&summary.community)
                    .bind(summary.category.as_deref())
                    .bind(summary.channel.as_str())
                    .bind(summary.unit.as_deref())
                    .bind(summary.filed_at.timestamp_micros())
                    .bind(summary.updated_at.timestamp_micros())
                    .bind(summary.overdue)
                    .bind(summary.version as i64)
                    .bind(Json(*summary))
                    .bind(&summary.title)
                    .bind(summary.priority.map(|p| p.as_str()))
                    .bind(summary.next_deadline().map(|at| at.timestamp_micros()))
                    .bind(summary.resolved_at.map(|at| at.timestamp_micros()));
            }
            query.execute(&mut *$tx).await?;
        }
        let mut stats: Vec<(&StatKey, &StatCounts)> = $batch.stats.cube.iter().collect();
        stats.sort_unstable_by_key(|(key, _)| *key);
        let width = 5 + StatCounts::COLUMNS.len();
        for chunk in stats.chunks(rows_per_statement(width)) {
            let sql = multi_row_insert(
                $numbered,
                "case_stats_daily",
                &STATS_COLUMNS,
                width,
                chunk.len(),
                &STATS_ON_CONFLICT,
            );
            let mut query = sqlx::query(&sql);
            for (key, counts) in chunk {
                query = query
                    .bind(&key.day)
                    .bind(&key.community)
                    .bind(&key.category)
                    .bind(&key.channel)
                    .bind(&key.unit);
                for value in counts.values() {
                    query = query.bind(value);
                }
            }
            query.execute(&mut *$tx).await?;
        }
        let mut rollups: Vec<(&RollupKey, &StatCounts)> = $batch.stats.rollup.iter().collect();
        rollups.sort_unstable_by_key(|(key, _)| *key);
        let width = 4 + StatCounts::COLUMNS.len();
        for chunk in rollups.chunks(rows_per_statement(width)) {
            let sql = multi_row_insert(
                $numbered,
                "case_stats_rollup",
                &ROLLUP_COLUMNS,
                width,
                chunk.len(),
                &ROLLUP_ON_CONFLICT,
            );
            let mut query = sqlx::query(&sql);
            for (key, counts) in chunk {
                query = query
                    .bind(key.level)
                    .bind(&key.day)
                    .bind(&key.community)
                    .bind(&key.dim);
                for value in counts.values() {
                    query = query.bind(value);
                }
            }
            query.execute(&mut *$tx).await?;
        }
        let mut current: Vec<(&CurrentKey, &Current)> = $batch.stats.current.iter().collect();
        current.sort_unstable_by_key(|(key, _)| *key);
        for chunk in current.chunks(rows_per_statement(6)) {
            let sql = multi_row_insert(
                $numbered,
                "case_current",
                "community, category, channel, unit, open, overdue",
                6,
                chunk.len(),
                "ON CONFLICT (community, category, channel, unit) DO UPDATE SET \
                 open = case_current.open + excluded.open, overdue = case_current.overdue + excluded.overdue",
            );
            let mut query = sqlx::query(&sql);
            for (key, counts) in chunk {
                query = query
                    .bind(&key.community)
                    .bind(&key.category)
                    .bind(&key.channel)
                    .bind(&key.unit)
                    .bind(counts.open)
                    .bind(counts.overdue);
            }
            query.execute(&mut *$tx).await?;
        }
        if let Some(position) = $batch.position {
            // Compare and set: two projectors on one view store must not both apply a range.
            let base = $batch.base;
            let moved = if base == Position::START {
                sqlx::query(INSERT_CHECKPOINT)
            } else {
                sqlx::query(ADVANCE_CHECKPOINT)
                    .bind(base.commit)
                    .bind(base.sequence)
            }
            .bind($consumer)
            .bind(position.commit)
            .bind(position.sequence)
            .bind(chrono::Utc::now().timestamp_micros())
            .execute(&mut *$tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(ProjectionError::CheckpointMoved {
                    consumer: $consumer.to_owned(),
                    expected: base,
                });
            }
        }
    }};
}

/// Evaluates `$body` with `$pool` bound to the backend's read pool.
macro_rules! with_readers {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            ViewStore::Sqlite { readers: $pool, .. } => $body,
            ViewStore::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` in a transaction on the backend's writer and commits it.
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:block) => {
        match $store {
            ViewStore::Sqlite { writer, .. } => {
                let mut $tx = writer.begin().await?;
                $body
                $tx.commit().await?;
            }
            ViewStore::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                $body
                $tx.commit().await?;
            }
        }
    };
}

impl ViewStore {
    /// Opens the view database a URL names (`sqlite://PATH` or `postgres://...`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let mut options = SqliteOptions::from_url(url)?;
            // Views are rebuilt from the log after a power loss; no fsync per batch needed.
            options.synchronous_full = false;
            // Lists, case pages and statistics are read by many requests at once, and they
            // read more pages than an event store's appends do.
            options.readers = 3;
            options.cache_mib = 4;
            let (writer, readers) = open_sqlite(&options).await?;
            Ok(Self::Sqlite { writer, readers })
        } else {
            Ok(Self::Postgres(
                open_postgres(&PostgresOptions::from_url(url)?).await?,
            ))
        }
    }

    /// Writes the batch's summaries, statistics and checkpoint in one transaction, so a
    /// crash leaves either all of it or none of it.
    pub async fn commit(&self, batch: &mut Batch, consumer: &str) -> Result<(), ProjectionError> {
        if batch.position.is_none() {
            return Ok(());
        }
        let numbered = matches!(self, Self::Postgres(_));
        in_transaction!(self, tx => { write_batch!(tx, batch, consumer, numbered); });
        batch.written();
        Ok(())
    }

    /// Loads the stored summaries of these cases into the batch's cache.
    pub async fn load_into(
        &self,
        batch: &mut Batch,
        ids: &[CaseId],
    ) -> Result<(), ProjectionError> {
        let missing: Vec<Uuid> = ids
            .iter()
            .filter(|id| !batch.knows(id))
            .map(CaseId::as_uuid)
            .collect();
        for chunk in missing.chunks(500) {
            for summary in self.summaries_by_id(chunk).await? {
                batch.summaries.insert(summary.case_id, summary);
            }
        }
        Ok(())
    }

    async fn summaries_by_id(&self, ids: &[Uuid]) -> Result<Vec<CaseSummary>, ProjectionError> {
        let rows: Vec<Json<CaseSummary>> = match self {
            Self::Sqlite { readers, .. } => {
                let placeholders = vec!["?"; ids.len()];
                let sql = format!(
                    "SELECT doc FROM case_summary WHERE case_id IN ({})",
                    placeholders.join(",")
                );
                let mut query = sqlx::query_scalar(&sql);
                for id in ids {
                    query = query.bind(*id);
                }
                query.fetch_all(readers).await?
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar("SELECT doc FROM case_summary WHERE case_id = ANY($1)")
                    .bind(ids)
                    .fetch_all(pool)
                    .await?
            }
        };
        Ok(rows.into_iter().map(|Json(summary)| summary).collect())
    }

    /// One case's summary.
    pub async fn summary(&self, case_id: CaseId) -> Result<Option<CaseSummary>, ProjectionError> {
        Ok(self.summaries_by_id(&[case_id.as_uuid()]).await?.pop())
    }

    /// Every summary, ordered by case id (for comparisons and exports).
    pub async fn all_summaries(&self) -> Result<Vec<CaseSummary>, ProjectionError> {
        let sql = "SELECT doc FROM case_summary ORDER BY case_id";
        let rows: Vec<Json<CaseSummary>> =
            with_readers!(self, pool => sqlx::query_scalar(sql).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|Json(summary)| summary).collect())
    }

    /// Every statistics row, ordered by key, without rows whose counters are all zero.
    pub async fn stats_rows(&self) -> Result<Vec<(StatKey, StatCounts)>, ProjectionError> {
        let rows = match self {
            Self::Sqlite { readers, .. } => sqlx::query(&SELECT_STATS)
                .fetch_all(readers)
                .await?
                .iter()
                .map(stat_row_sqlite)
                .collect::<Result<Vec<_>, _>>()?,
            Self::Postgres(pool) => sqlx::query(&SELECT_STATS)
                .fetch_all(pool)
                .await?
                .iter()
                .map(stat_row_postgres)
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows
            .into_iter()
            .filter(|(_, counts)| *counts != StatCounts::default())
            .collect())
    }

    /// Every rollup row as `(level, day, community, dim)` and its counters, ordered, without
    /// rows whose counters are all zero (for comparing a live view with a rebuild).
    pub async fn rollup_rows(
        &self,
    ) -> Result<Vec<((String, String, String, String), StatCounts)>, ProjectionError> {
        let sql = format!(
            "SELECT level, day, community, dim, {} FROM case_stats_rollup ORDER BY level, day, community, dim",
            StatCounts::COLUMNS.join(", ")
        );
        macro_rules! rows {
            ($pool:expr) => {
                sqlx::query(&sql)
                    .fetch_all($pool)
                    .await?
                    .iter()
                    .map(|row| {
                        let values = StatCounts::COLUMNS
                            .iter()
                            .map(|column| row.try_get::<i64, _>(*column))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((
                            (
                                row.try_get(0)?,
                                row.try_get(1)?,
                                row.try_get(2)?,
                                row.try_get(3)?,
                            ),
                            StatCounts::from_values(&values),
                        ))
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            };
        }
        let rows = match self {
            Self::Sqlite { readers, .. } => rows!(readers),
            Self::Postgres(pool) => rows!(pool),
        };
        Ok(rows
            .into_iter()
            .filter(|(_, counts)| *counts != StatCounts::default())
            .collect())
    }

    /// Everything the views hold, for comparing a live view store with a rebuild.
    pub async fn contents(&self) -> Result<ViewContents, ProjectionError> {
        Ok(ViewContents {
            summaries: self.all_summaries().await?,
            cube: self.stats_rows().await?,
            rollups: self.rollup_rows().await?,
            current: self.current_rows().await?,
        })
    }

    /// Every snapshot counter row with a non-zero count, ordered.
    pub async fn current_rows(&self) -> Result<Vec<(CurrentKey, Current)>, ProjectionError> {
        let sql = "SELECT community, category, channel, unit, open, overdue FROM case_current \
                   WHERE open <> 0 OR overdue <> 0 ORDER BY community, category, channel, unit";
        let rows: Vec<(String, String, String, String, i64, i64)> =
            with_readers!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(community, category, channel, unit, open, overdue)| {
                (
                    CurrentKey {
                        community,
                        category,
                        channel,
                        unit,
                    },
                    Current { open, overdue },
                )
            })
            .collect())
    }

    /// The sum of all statistics rows whose day lies in `from..=to` (`YYYY-MM-DD`).
    pub async fn stats_total(&self, from: &str, to: &str) -> Result<StatCounts, ProjectionError> {
        let mut total = StatCounts::default();
        for (key, counts) in self.stats_rows().await? {
            if key.day.as_str() >= from && key.day.as_str() <= to {
                total += counts;
            }
        }
        Ok(total)
    }

    /// Where a projector stands.
    pub async fn checkpoint(&self, consumer: &str) -> Result<Position, ProjectionError> {
        let sql = "SELECT commit_key, position FROM checkpoints WHERE consumer = $1";
        let row: Option<(i64, i64)> = with_readers!(self, pool => sqlx::query_as(sql).bind(consumer).fetch_optional(pool).await?);
        Ok(row.map_or(Position::START, |(commit, sequence)| {
            Position::new(commit, sequence)
        }))
    }

    /// Starts `consumer`'s checkpoint at `position` unless it has one; returns where it is.
    pub async fn start_checkpoint(
        &self,
        consumer: &str,
        position: Position,
    ) -> Result<Position, ProjectionError> {
        in_transaction!(self, tx => {
            sqlx::query(INSERT_CHECKPOINT)
                .bind(consumer)
                .bind(position.commit)
                .bind(position.sequence)
                .bind(chrono::Utc::now().timestamp_micros())
                .execute(&mut *tx)
                .await?;
        });
        self.checkpoint(consumer).await
    }

    /// Empties every view and every projector checkpoint of this view store, in one
    /// transaction: views fed by several event stores are rebuilt from all of them.
    pub async fn reset(&self) -> Result<(), ProjectionError> {
        in_transaction!(self, tx => {
            for table in [
                "case_summary",
                "case_stats_daily",
                "case_stats_rollup",
                "case_current",
                "checkpoints",
            ] {
                sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}

macro_rules! stat_row {
    ($name:ident, $row:ty) => {
        fn $name(row: &$row) -> Result<(StatKey, StatCounts), sqlx::Error> {
            let key = StatKey {
                day: row.try_get("day")?,
                community: row.try_get("community")?,
                category: row.try_get("category")?,
                channel: row.try_get("channel")?,
                unit: row.try_get("unit")?,
            };
            let values = StatCounts::COLUMNS
                .iter()
                .map(|column| row.try_get::<i64, _>(*column))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((key, StatCounts::from_values(&values)))
        }
    };
}

stat_row!(stat_row_sqlite, sqlx::sqlite::SqliteRow);
stat_row!(stat_row_postgres, sqlx::postgres::PgRow);
