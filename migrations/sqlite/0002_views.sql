-- Read models kept current by the projector (DESIGN §4, §6). Never the source of truth:
-- `gongzhi admin rebuild` recreates them from the event log.

-- One row per case: filterable columns, and the whole summary as a JSON document.
CREATE TABLE case_summary (
    case_id        BLOB    PRIMARY KEY,
    tracking_code  TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    community      TEXT    NOT NULL,
    category       TEXT,
    channel        TEXT    NOT NULL,
    unit           TEXT,
    filed_at       INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    overdue        INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    doc            TEXT    NOT NULL
);
CREATE INDEX case_summary_community ON case_summary (community, status, filed_at);
CREATE INDEX case_summary_unit ON case_summary (unit, status);
CREATE INDEX case_summary_tracking_code ON case_summary (tracking_code);

-- Counters per local day x community x category x channel x unit ('' where none applies).
-- A counter sits on the day its event happened, except `response_due` and
-- `responded_on_time`, which sit on the day the response deadline falls.
CREATE TABLE case_stats_daily (
    day                 TEXT    NOT NULL,
    community           TEXT    NOT NULL,
    category            TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    unit                TEXT    NOT NULL,
    filed               INTEGER NOT NULL DEFAULT 0,
    dispatched          INTEGER NOT NULL DEFAULT 0,
    resolved            INTEGER NOT NULL DEFAULT 0,
    resolved_on_time    INTEGER NOT NULL DEFAULT 0,
    closed              INTEGER NOT NULL DEFAULT 0,
    response_due        INTEGER NOT NULL DEFAULT 0,
    responded_on_time   INTEGER NOT NULL DEFAULT 0,
    response_overdue    INTEGER NOT NULL DEFAULT 0,
    resolution_overdue  INTEGER NOT NULL DEFAULT 0,
    rated               INTEGER NOT NULL DEFAULT 0,
    rated_resolved      INTEGER NOT NULL DEFAULT 0,
    satisfied           INTEGER NOT NULL DEFAULT 0,
    returns             INTEGER NOT NULL DEFAULT 0,
    reopened            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, community, category, channel, unit)
) WITHOUT ROWID; -- small rows found by their key: one B-tree, not a table and an index
