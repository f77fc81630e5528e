-- What the API's lists, the deadline timer and the medians need (DESIGN §4, §6).
-- Existing views gain the new columns empty: run `gongzhi admin rebuild` after upgrading.

ALTER TABLE case_summary ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE case_summary ADD COLUMN priority TEXT;
-- Micros since the epoch; when the deadline timer must next look at the case.
ALTER TABLE case_summary ADD COLUMN next_deadline BIGINT;
ALTER TABLE case_summary ADD COLUMN resolved_at BIGINT;
CREATE INDEX case_summary_next_deadline ON case_summary (next_deadline) WHERE next_deadline IS NOT NULL;
CREATE INDEX case_summary_status ON case_summary (status, resolved_at);

-- Histograms of hours from dispatch to first contact and to resolution, for medians.
-- The bounds are in gongzhi-views/src/stats.rs (CONTACT_HOURS, RESOLVE_HOURS).
ALTER TABLE case_stats_daily ADD COLUMN contact_h1 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h2 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h4 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h8 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h24 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h48 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h72 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_h168 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN contact_hmore BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h8 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h24 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h48 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h72 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h120 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h168 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h336 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_h720 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_stats_daily ADD COLUMN resolve_hmore BIGINT NOT NULL DEFAULT 0;
