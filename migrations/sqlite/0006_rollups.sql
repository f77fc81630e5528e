-- Statistics answered in milliseconds at city scale (DESIGN §4). The full daily cube
-- (case_stats_daily) has a row per day x community x category x channel x unit that saw
-- anything: millions of rows for a million cases. Most questions name at most one of
-- category, channel or unit, so the projector also keeps, per day and per month and
-- community, one rollup per such dimension ('' for none); the cube stays for questions
-- that combine them. Views made before this migration need `gongzhi admin rebuild`.

CREATE TABLE case_stats_rollup (
    -- community (dim = ''), category, channel or unit
    level               TEXT    NOT NULL,
    -- YYYY-MM-DD for a day's row, YYYY-MM for a month's
    day                 TEXT    NOT NULL,
    community           TEXT    NOT NULL,
    dim                 TEXT    NOT NULL,
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
    contact_h1          INTEGER NOT NULL DEFAULT 0,
    contact_h2          INTEGER NOT NULL DEFAULT 0,
    contact_h4          INTEGER NOT NULL DEFAULT 0,
    contact_h8          INTEGER NOT NULL DEFAULT 0,
    contact_h24         INTEGER NOT NULL DEFAULT 0,
    contact_h48         INTEGER NOT NULL DEFAULT 0,
    contact_h72         INTEGER NOT NULL DEFAULT 0,
    contact_h168        INTEGER NOT NULL DEFAULT 0,
    contact_hmore       INTEGER NOT NULL DEFAULT 0,
    resolve_h8          INTEGER NOT NULL DEFAULT 0,
    resolve_h24         INTEGER NOT NULL DEFAULT 0,
    resolve_h48         INTEGER NOT NULL DEFAULT 0,
    resolve_h72         INTEGER NOT NULL DEFAULT 0,
    resolve_h120        INTEGER NOT NULL DEFAULT 0,
    resolve_h168        INTEGER NOT NULL DEFAULT 0,
    resolve_h336        INTEGER NOT NULL DEFAULT 0,
    resolve_h720        INTEGER NOT NULL DEFAULT 0,
    resolve_hmore       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (level, day, community, dim)
) WITHOUT ROWID;

-- Cases open now and, of those, overdue now, per community x category x channel x unit:
-- the snapshot figures, kept as counters. Rows with '*' (never a code) roll the others up:
-- per community ('*', '*', '*'), and per community and one of category, channel or unit.
CREATE TABLE case_current (
    community  TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    unit       TEXT    NOT NULL,
    open       INTEGER NOT NULL DEFAULT 0,
    overdue    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community, category, channel, unit)
) WITHOUT ROWID;
