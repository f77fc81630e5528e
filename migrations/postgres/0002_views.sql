-- Read models kept current by the projector (DESIGN §4, §6). Never the source of truth:
-- `gongzhi admin rebuild` recreates them from the event log.

-- One row per case: filterable columns, and the whole summary as a JSON document.
CREATE TABLE case_summary (
    case_id        UUID    PRIMARY KEY,
    tracking_code  TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    community      TEXT    NOT NULL,
    category       TEXT,
    channel        TEXT    NOT NULL,
    unit           TEXT,
    filed_at       BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    overdue        BOOLEAN NOT NULL,
    version        BIGINT  NOT NULL,
    doc            JSONB   NOT NULL
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
    filed               BIGINT  NOT NULL DEFAULT 0,
    dispatched          BIGINT  NOT NULL DEFAULT 0,
    resolved            BIGINT  NOT NULL DEFAULT 0,
    resolved_on_time    BIGINT  NOT NULL DEFAULT 0,
    closed              BIGINT  NOT NULL DEFAULT 0,
    response_due        BIGINT  NOT NULL DEFAULT 0,
    responded_on_time   BIGINT  NOT NULL DEFAULT 0,
    response_overdue    BIGINT  NOT NULL DEFAULT 0,
    resolution_overdue  BIGINT  NOT NULL DEFAULT 0,
    rated               BIGINT  NOT NULL DEFAULT 0,
    rated_resolved      BIGINT  NOT NULL DEFAULT 0,
    satisfied           BIGINT  NOT NULL DEFAULT 0,
    returns             BIGINT  NOT NULL DEFAULT 0,
    reopened            BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, community, category, channel, unit)
);
