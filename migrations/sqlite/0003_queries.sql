-- What the API's lists, the deadline timer and the medians need (DESIGN §4, §6).
-- Existing views gain the new columns empty: run `gongzhi admin rebuild` after upgrading.

ALTER TABLE case_summary ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE case_summary ADD COLUMN priority TEXT;
-- Micros since the epoch; when the deadline timer must next look at the case.
ALTER TABLE case_summary ADD COLUMN next_deadline INTEGER;
ALTER TABLE case_summary ADD COLUMN resolved_at INTEGER;
CREATE INDEX case_summary_next_deadline ON case_summary (next_deadline) WHERE next_deadline IS NOT NULL;
CREATE INDEX case_summary_status ON case_summary (status, resolved_at);

-- Histograms of hours from dispatch to first contact and to resolution, for medians.
-- The bounds are in gongzhi-views/src/stats.rs (CONTACT_HOURS, RESOLVE_HOURS).
ALTER TABLE case_stats_daily ADD COLUMN contact_h1 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h2 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h4 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h24 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h48 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h72 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h168 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_hmore INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h24 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h48 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h72 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h120 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h168 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h336 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h720 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_hmore INTEGER NOT NULL DEFAULT 0;
