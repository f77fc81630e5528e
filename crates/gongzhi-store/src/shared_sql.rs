//! The parts of `EventStore` whose SQL is the same on both backends, written once. Only
//! the pool, the row readers and the "after a position" clause differ; a backend's clause
//! takes `$1` commit key, `$2` sequence, `$3` limit (SQLite ignores `$1`: its commit key is
//! always 0).

/// Expands, inside `impl EventStore for …`, to `read_stream`, `read_all`,
/// `read_recorded`, `count`, `load_checkpoint` and `save_checkpoint`.
macro_rules! shared_reads {
    (readers: $readers:ident, writer: $writer:ident, event: $event:path, recorded: $recorded:path, after: $after:expr) => {
        async fn read_stream(&self, stream_id: Uuid) -> Result<Vec<StoredEvent>, StoreError> {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version");
            let rows = sqlx::query(&sql).bind(stream_id).fetch_all(&self.$readers).await?;
            rows.iter().map($event).collect()
        }

        async fn read_all(&self, after: Position, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events {}", $after);
            let rows = sqlx::query(&sql)
                .bind(after.commit)
                .bind(after.sequence)
                .bind(limit as i64)
                .fetch_all(&self.$readers)
                .await?;
            rows.iter().map($event).collect()
        }

        async fn read_recorded(&self, after: Position, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
            let sql = format!("SELECT {RECORDED_COLUMNS} FROM events {}", $after);
            let rows = sqlx::query(&sql)
                .bind(after.commit)
                .bind(after.sequence)
                .bind(limit as i64)
                .fetch_all(&self.$readers)
                .await?;
            rows.iter().map($recorded).collect()
        }

        async fn count(&self) -> Result<u64, StoreError> {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&self.$readers).await?;
            Ok(count as u64)
        }

        async fn load_checkpoint(&self, consumer: &str) -> Result<Position, StoreError> {
            let row: Option<(i64, i64)> =
                sqlx::query_as("SELECT commit_key, position FROM checkpoints WHERE consumer = $1")
                    .bind(consumer)
                    .fetch_optional(&self.$readers)
                    .await?;
            Ok(row.map_or(Position::START, |(commit, sequence)| Position::new(commit, sequence)))
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
            .bind(crate::types::micros(chrono::Utc::now()))
            .execute(&self.$writer)
            .await?;
            Ok(())
        }
    };
}

/// Applies one migration inside `$tx` unless it is recorded as applied; evaluates to
/// whether it applied it. The caller commits.
macro_rules! apply_migration {
    ($tx:ident, $migration:expr) => {{
        let migration: &crate::migrate::Migration = $migration;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *$tx)
                .await?;
        if applied.is_none() {
            let fail = |source| StoreError::Migration {
                name: migration.name,
                source,
            };
            sqlx::raw_sql(migration.sql)
                .execute(&mut *$tx)
                .await
                .map_err(fail)?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::types::micros(chrono::Utc::now()))
            .execute(&mut *$tx)
            .await
            .map_err(fail)?;
            tracing::info!(migration = migration.name, "applied migration");
        }
        applied.is_none()
    }};
}
