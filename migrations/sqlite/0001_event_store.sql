-- The event store (DESIGN §5). The events table is also the outbox: readers follow it by
-- position, and on SQLite rowid order is commit order because there is one writer.
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    event_id        BLOB    NOT NULL UNIQUE,
    stream_id       BLOB    NOT NULL,
    stream_version  INTEGER NOT NULL,
    context         TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    correlation_id  BLOB    NOT NULL,
    causation_id    BLOB,
    idempotency_key TEXT,
    -- 0 for the first event of an append, 1 for the next...
    append_index    INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    UNIQUE (stream_id, stream_version)
);

-- A retried command with the same key finds the append it made and writes nothing: the
-- first event of every append claims the key.
CREATE UNIQUE INDEX events_idempotency ON events (idempotency_key)
    WHERE idempotency_key IS NOT NULL AND append_index = 0;

-- Optimistic concurrency without a read before the write: a stream's versions have no
-- gaps, so an append at version n + 1 needs version n to exist (the unique index above
-- refuses a second n + 1). Checked in the engine, inside the INSERT statement.
CREATE TRIGGER events_no_version_gap BEFORE INSERT ON events
WHEN NEW.stream_version > 1 AND NOT EXISTS (
    SELECT 1 FROM events WHERE stream_id = NEW.stream_id AND stream_version = NEW.stream_version - 1
)
BEGIN
    SELECT RAISE(ABORT, 'gongzhi: stream version gap');
END;

-- Where each consumer (relay, projector, service inbox) has read up to.
CREATE TABLE checkpoints (
    consumer    TEXT    PRIMARY KEY,
    commit_key  INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
