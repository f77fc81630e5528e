-- The event store (DESIGN §5). The events table is also the outbox.
--
-- Gap-free global order: `position` comes from a sequence at insert time but becomes
-- visible at commit, so positions can commit out of order. Every row is therefore stamped
-- with its writer's transaction id, and readers follow (transaction_id, position) and only
-- read rows whose transaction id is below the oldest transaction still running
-- (pg_snapshot_xmin). Rows below that horizon can no longer change, so the prefix a reader
-- has seen is final. See ARCHITECTURE.md, "Global order".
CREATE TABLE events (
    position        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  BIGINT  NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    event_id        UUID    NOT NULL UNIQUE,
    stream_id       UUID    NOT NULL,
    stream_version  BIGINT  NOT NULL,
    context         TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         JSONB   NOT NULL,
    actor           TEXT    NOT NULL,
    correlation_id  UUID    NOT NULL,
    causation_id    UUID,
    idempotency_key TEXT,
    -- 0 for the first event of an append, 1 for the next...
    append_index    INTEGER NOT NULL,
    recorded_at     BIGINT  NOT NULL,
    CONSTRAINT events_stream_version UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_global_order ON events (transaction_id, position);

-- A retried command with the same key finds the append it made and writes nothing: the
-- first event of every append claims the key.
CREATE UNIQUE INDEX events_idempotency ON events (idempotency_key)
    WHERE idempotency_key IS NOT NULL AND append_index = 0;

-- Where each consumer (relay, projector, service inbox) has read up to.
CREATE TABLE checkpoints (
    consumer    TEXT    PRIMARY KEY,
    commit_key  BIGINT  NOT NULL,
    position    BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
