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
    recorded_at     INTEGER NOT NULL,
    UNIQUE (stream_id, stream_version)
);

-- A retried command with the same key returns the original result and writes nothing.
CREATE TABLE idempotency_keys (
    key            TEXT    PRIMARY KEY,
    stream_id      BLOB    NOT NULL,
    first_version  INTEGER NOT NULL,
    last_version   INTEGER NOT NULL,
    commit_key     INTEGER NOT NULL,
    last_position  INTEGER NOT NULL
);

-- Where each consumer (relay, projector, service inbox) has read up to.
CREATE TABLE checkpoints (
    consumer    TEXT    PRIMARY KEY,
    commit_key  INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
