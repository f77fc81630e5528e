//! The parts of `EventStore` whose SQL is the same on both backends, written once. Only
//! the pool, the row readers and the "after a position" clauses differ; a backend's clause
//! takes `$1` commit key, `$2` sequence, `$3` limit (SQLite ignores `$1`: its commit key is
//! always 0). Its "decided between" clause also takes `$4` the deciding context and `$5`,
//! `$6` the head, which its `head` query finds: the newest event every reader sees.

/// Expands, inside `impl EventStore for …`, to `find_idempotent`, `read_stream`,
/// `read_all`, `read_decided`, `read_recorded`, `count`, `load_checkpoint` and `save_checkpoint`.
macro_rules! shared_reads {
    (readers: $readers:ident, writer: $writer:ident, event: $event:path, recorded: $recorded:path, after: $after:expr, head: $head:expr, decided_between: $decided_between:expr) => {
        async fn find_idempotent(&self, key: &str) -> Result<Option<Appended>, StoreError> {
            // Only the first event of an append claims the key; the append's last event is
            // the highest version in that stream carrying it.
            let first: Option<(Uuid, i64)> =
                sqlx::query_as("SELECT stream_id, stream_version FROM events WHERE idempotency_key = $1 AND append_index = 0")
                    .bind(key)
                    .fetch_optional(&self.$readers)
                    .await?;
            let Some((stream_id, first_version)) = first else {
                return Ok(None);
            };
            let sql = format!(
                "SELECT stream_version, {COMMIT_KEY}, position FROM events \
                 WHERE stream_id = $1 AND stream_version >= $2 AND idempotency_key = $3 \
                 ORDER BY stream_version DESC LIMIT 1"
            );
            let (last_version, commit, sequence): (i64, i64, i64) = sqlx::query_as(&sql)
                .bind(stream_id)
                .bind(first_version)
                .bind(key)
                .fetch_one(&self.$readers)
                .await?;
            Ok(Some(Appended {
                stream_id,
                first_version: first_version as u64,
                last_version: last_version as u64,
                last_position: Position::new(commit, sequence),
                replayed: true,
            }))
        }

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

        async fn read_decided(&self, context: &str, after: Position, limit: usize) -> Result<(Vec<StoredEvent>, Position), StoreError> {
            // The head first: every event up to it has committed, so the read below sees
            // all of them, and the reader can move past the head when it ran out of its own.
            let head: Option<(i64, i64)> = sqlx::query_as($head).fetch_optional(&self.$readers).await?;
            let Some(head) = head.map(|(commit, sequence)| Position::new(commit, sequence)).filter(|h| *h > after) else {
                return Ok((Vec::new(), after));
            };
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events {}", $decided_between);
            let rows = sqlx::query(&sql)
                .bind(after.commit)
                .bind(after.sequence)
                .bind(limit as i64)
                .bind(context)
                .bind(head.commit)
                .bind(head.sequence)
                .fetch_all(&self.$readers)
                .await?;
            let events = rows.iter().map($event).collect::<Result<Vec<_>, _>>()?;
            let through = match events.last() {
                Some(last) if events.len() == limit => last.position,
                _ => head,
            };
            Ok((events, through))
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
            sqlx::query(crate::SAVE_CHECKPOINT)
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

/// Expands, inside `impl …EventStore`, to `current_version`, `conflict` and `answer`: what
/// an append statement's outcome means for the caller, the same on both backends.
macro_rules! shared_append_outcomes {
    (readers: $readers:ident, executor: $executor:path) => {
        async fn current_version(
            executor: impl $executor,
            stream_id: Uuid,
        ) -> Result<u64, sqlx::Error> {
            let version: Option<i64> =
                sqlx::query_scalar("SELECT MAX(stream_version) FROM events WHERE stream_id = $1")
                    .bind(stream_id)
                    .fetch_one(executor)
                    .await?;
            Ok(version.unwrap_or(0) as u64)
        }

        async fn conflict(&self, request: &AppendRequest<'_>) -> AppendError {
            match Self::current_version(&self.$readers, request.stream_id).await {
                Ok(actual) => AppendError::VersionConflict {
                    stream_id: request.stream_id,
                    expected: request.expected_version,
                    actual,
                },
                Err(error) => error.into(),
            }
        }

        /// Turns a single append's outcome into its answer: a conflict or a reused key may
        /// be a retry of an append that already landed, which is answered with that append.
        async fn answer(
            &self,
            request: &AppendRequest<'_>,
            outcome: InTransaction,
        ) -> Result<Appended, AppendError> {
            let retry_of = match (&outcome, request.metadata.idempotency_key.as_deref()) {
                (InTransaction::Written(_), _) | (_, None) => None,
                (_, Some(key)) => self
                    .find_idempotent(key)
                    .await?
                    .filter(|o| o.stream_id == request.stream_id),
            };
            match (outcome, retry_of) {
                (InTransaction::Written(appended), _) => Ok(appended),
                (_, Some(original)) => Ok(original),
                (InTransaction::Conflict, None) => Err(self.conflict(request).await),
                // The key is taken by an append to another stream: the caller decides
                // whether that is a retry (a filing) or a reuse.
                (InTransaction::KeyTaken, None) => Err(AppendError::KeyTaken),
            }
        }
    };
}
