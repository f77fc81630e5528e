//! What the API asks of the views: filtered case lists, statistics sums grouped by one
//! dimension, current open and overdue counts, and the deadline timer's work list. Every
//! query reads indexed read-model rows; none scans the event log.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use gongzhi_domain::CaseId;
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Row, Type};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::stats::{ALL, StatCounts};
use crate::store::ViewStore;
use crate::summary::CaseSummary;

/// Which cases a list shows. `None` means "any"; the scope lists restrict to what the
/// reader may see (set by the gateway from the reader's role and area).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Communities the reader may see; `None` = all.
    pub scope_communities: Option<Vec<String>>,
    /// The unit whose cases a handler may see.
    pub scope_unit: Option<String>,
    pub community: Option<String>,
    pub statuses: Vec<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub overdue: Option<bool>,
    /// Matches the tracking code exactly or a part of the title.
    pub q: Option<String>,
    pub order: ListOrder,
    pub offset: u64,
    pub limit: u64,
}

/// How a list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Newest filing first.
    #[default]
    Newest,
    /// Oldest filing first.
    Oldest,
    /// A work queue: overdue first, then the earliest deadline, then the oldest filing.
    Queue,
}

impl ListOrder {
    fn sql(self) -> &'static str {
        match self {
            Self::Newest => " ORDER BY filed_at DESC, case_id",
            Self::Oldest => " ORDER BY filed_at, case_id",
            Self::Queue => {
                " ORDER BY overdue DESC, CASE WHEN next_deadline IS NULL THEN 1 ELSE 0 END, \
                 next_deadline, filed_at, case_id"
            }
        }
    }
}

/// The dimension statistics are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Community,
    Category,
    Channel,
    Unit,
    Day,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [
        Self::Community,
        Self::Category,
        Self::Channel,
        Self::Unit,
        Self::Day,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Community => "community",
            Self::Category => "category",
            Self::Channel => "channel",
            Self::Unit => "unit",
            Self::Day => "day",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }

    /// The snapshot counters' column for this dimension (they have no day).
    fn current_column(self) -> &'static str {
        match self {
            Self::Community => "community",
            Self::Category => "category",
            Self::Channel => "channel",
            Self::Unit => "unit",
            Self::Day => "''",
        }
    }
}

/// A statistics question: local days `from..=to` (`YYYY-MM-DD`), optional filters.
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    pub from: String,
    pub to: String,
    /// Communities to include; `None` = all.
    pub communities: Option<Vec<String>>,
    pub category: Option<String>,
    pub channel: Option<String>,
    pub unit: Option<String>,
    pub group_by: Option<GroupBy>,
}

/// A period as rollup rows cover it: whole months from month rows (`YYYY-MM`), the days
/// before and after them from day rows (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Periods {
    days: Vec<(String, String)>,
    months: Option<(String, String)>,
}

impl Periods {
    fn days(from: &str, to: &str) -> Self {
        Self {
            days: vec![(from.to_owned(), to.to_owned())],
            months: None,
        }
    }

    fn split(from: &str, to: &str) -> Self {
        let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
        let (Some(start), Some(end)) = (parse(from), parse(to)) else {
            return Self::days(from, to);
        };
        let month_start = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let next_month = |d: NaiveDate| {
            month_start(d)
                .checked_add_months(Months::new(1))
                .unwrap_or(d)
        };
        // The first day of the first whole month, and the day after the last whole month.
        let first = if start.day() == 1 {
            start
        } else {
            next_month(start)
        };
        let after_last = month_start(end + chrono::Days::new(1));
        if first >= after_last {
            return Self::days(from, to);
        }
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let month = |d: NaiveDate| d.format("%Y-%m").to_string();
        let mut days = Vec::new();
        if start < first {
            days.push((day(start), day(first - chrono::Days::new(1))));
        }
        if after_last <= end {
            days.push((day(after_last), day(end)));
        }
        Self {
            days,
            months: Some((month(first), month(after_last - chrono::Days::new(1)))),
        }
    }
}

/// Which rollup answers a statistics question: the one of the single dimension it names
/// (by filter or grouping), or the community rollup if it names none.
struct RollupPlan<'q> {
    level: &'static str,
    /// The filter on that dimension, if the question filters by it.
    filter: Option<&'q str>,
}

impl<'q> RollupPlan<'q> {
    /// The dimensions among category, channel and unit a question names, by filter or
    /// grouping.
    fn named(stats: &StatsQuery) -> Vec<&'static str> {
        let mut named: Vec<&'static str> = [
            ("category", stats.category.is_some()),
            ("channel", stats.channel.is_some()),
            ("unit", stats.unit.is_some()),
        ]
        .into_iter()
        .filter(|(_, filtered)| *filtered)
        .map(|(level, _)| level)
        .collect();
        match stats.group_by {
            Some(GroupBy::Category) => named.push("category"),
            Some(GroupBy::Channel) => named.push("channel"),
            Some(GroupBy::Unit) => named.push("unit"),
            _ => {}
        }
        named.sort_unstable();
        named.dedup();
        named
    }

    fn for_query(stats: &'q StatsQuery) -> Option<Self> {
        let filters = [
            ("category", stats.category.as_deref()),
            ("channel", stats.channel.as_deref()),
            ("unit", stats.unit.as_deref()),
        ];
        let named = Self::named(stats);
        match named.as_slice() {
            [] => Some(Self {
                level: "community",
                filter: None,
            }),
            [level] => Some(Self {
                level,
                filter: filters
                    .iter()
                    .find(|(name, _)| name == level)
                    .and_then(|(_, value)| *value),
            }),
            _ => None,
        }
    }
}

/// Open and overdue cases right now, per group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CurrentCounts {
    pub open: i64,
    pub overdue: i64,
}

trait Binds<'q, DB: Database>: Sized {
    fn eq(&mut self, column: &str, value: &'q str) -> &mut Self;
    fn any_of(&mut self, column: &str, values: &'q [String]) -> &mut Self;
}

impl<'q, DB> Binds<'q, DB> for QueryBuilder<'q, DB>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    fn eq(&mut self, column: &str, value: &'q str) -> &mut Self {
        self.push(format!(" AND {column} = ")).push_bind(value);
        self
    }

    fn any_of(&mut self, column: &str, values: &'q [String]) -> &mut Self {
        self.push(format!(" AND {column} IN ("));
        if values.is_empty() {
            self.push("NULL");
        }
        let mut list = self.separated(", ");
        for value in values {
            list.push_bind(value.as_str());
        }
        self.push(")");
        self
    }
}

fn case_conditions<'q, DB>(query: &mut QueryBuilder<'q, DB>, filter: &'q CaseFilter)
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
{
    query.push(" WHERE 1 = 1");
    if let Some(scope) = &filter.scope_communities {
        query.any_of("community", scope);
    }
    if let Some(unit) = &filter.scope_unit {
        query.eq("unit", unit);
    }
    if let Some(community) = &filter.community {
        query.eq("community", community);
    }
    if !filter.statuses.is_empty() {
        query.any_of("status", &filter.statuses);
    }
    if let Some(category) = &filter.category {
        query.eq("category", category);
    }
    if let Some(unit) = &filter.unit {
        query.eq("unit", unit);
    }
    if let Some(overdue) = filter.overdue {
        query.push(if overdue {
            " AND overdue = TRUE"
        } else {
            " AND overdue = FALSE"
        });
    }
    if let Some(q) = &filter.q {
        query
            .push(" AND (tracking_code = ")
            .push_bind(q.as_str())
            .push(" OR title LIKE ")
            .push_bind(format!("%{}%", q.replace(['%', '_'], "")))
            .push(")");
    }
}

/// The communities and the category, channel and unit filters of a statistics question,
/// as `AND` conditions on tables with those columns (the cube, the snapshot counters).
fn dimension_conditions<'q, DB>(query: &mut QueryBuilder<'q, DB>, stats: &'q StatsQuery)
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    if let Some(communities) = &stats.communities {
        query.any_of("community", communities);
    }
    for (column, value) in [
        ("category", &stats.category),
        ("channel", &stats.channel),
        ("unit", &stats.unit),
    ] {
        if let Some(value) = value {
            query.eq(column, value);
        }
    }
}

fn stats_conditions<'q, DB>(query: &mut QueryBuilder<'q, DB>, stats: &'q StatsQuery)
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    query
        .push(" WHERE day >= ")
        .push_bind(stats.from.as_str())
        .push(" AND day <= ")
        .push_bind(stats.to.as_str());
    dimension_conditions(query, stats);
}

fn current_conditions<'q, DB>(query: &mut QueryBuilder<'q, DB>, stats: &'q StatsQuery)
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    query.push(" WHERE 1 = 1");
    dimension_conditions(query, stats);
}

/// Runs `$body` with `$query` a fresh `QueryBuilder` for the backend and `$pool` its reader.
macro_rules! with_builder {
    ($store:expr, $sql:expr, |$query:ident, $pool:ident| $body:block) => {
        match $store {
            ViewStore::Sqlite { readers: $pool, .. } => {
                let mut $query = QueryBuilder::<sqlx::Sqlite>::new($sql);
                $body
            }
            ViewStore::Postgres($pool) => {
                let mut $query = QueryBuilder::<sqlx::Postgres>::new($sql);
                $body
            }
        }
    };
}

fn stats_select() -> String {
    let sums: Vec<String> = StatCounts::COLUMNS
        .iter()
        .map(|c| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}"))
        .collect();
    sums.join(", ")
}

fn counts_from<R: Row>(row: &R) -> Result<StatCounts, sqlx::Error>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let values = StatCounts::COLUMNS
        .iter()
        .map(|column| row.try_get::<i64, _>(*column))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StatCounts::from_values(&values))
}

impl ViewStore {
    /// A page of summaries, newest filing first, and how many match in all.
    pub async fn list(
        &self,
        filter: &CaseFilter,
    ) -> Result<(Vec<CaseSummary>, u64), ProjectionError> {
        let items: Vec<Json<CaseSummary>> =
            with_builder!(self, "SELECT doc FROM case_summary", |query, pool| {
                case_conditions(&mut query, filter);
                query
                    .push(filter.order.sql())
                    .push(" LIMIT ")
                    .push(filter.limit)
                    .push(" OFFSET ")
                    .push(filter.offset);
                query.build_query_scalar().fetch_all(pool).await?
            });
        let total: i64 = with_builder!(self, "SELECT COUNT(*) FROM case_summary", |query, pool| {
            case_conditions(&mut query, filter);
            query.build_query_scalar().fetch_one(pool).await?
        });
        Ok((
            items.into_iter().map(|Json(summary)| summary).collect(),
            u64::try_from(total).unwrap_or_default(),
        ))
    }

    /// The case a tracking code names.
    pub async fn by_tracking_code(
        &self,
        code: &str,
    ) -> Result<Option<CaseSummary>, ProjectionError> {
        let row: Option<Json<CaseSummary>> = with_builder!(
            self,
            "SELECT doc FROM case_summary WHERE tracking_code = ",
            |query, pool| {
                query.push_bind(code).push(" ORDER BY filed_at LIMIT 1");
                query.build_query_scalar().fetch_optional(pool).await?
            }
        );
        Ok(row.map(|Json(summary)| summary))
    }

    /// Summed statistics per group (or one group keyed "" without `group_by`). A question
    /// naming at most one of category, channel and unit is answered from that dimension's
    /// rollup (tens of rows per day); others from the full cube.
    pub async fn stats(
        &self,
        stats: &StatsQuery,
    ) -> Result<Vec<(String, StatCounts)>, ProjectionError> {
        if let Some(plan) = RollupPlan::for_query(stats) {
            return self.stats_from_rollup(stats, &plan).await;
        }
        let key = stats.group_by.map_or("''", GroupBy::as_str);
        let sql = format!(
            "SELECT {key} AS group_key, {} FROM case_stats_daily",
            stats_select()
        );
        let rows = with_builder!(self, sql, |query, pool| {
            stats_conditions(&mut query, stats);
            query.push(" GROUP BY group_key ORDER BY group_key");
            query
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("group_key")?, counts_from(row)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    async fn stats_from_rollup(
        &self,
        stats: &StatsQuery,
        plan: &RollupPlan<'_>,
    ) -> Result<Vec<(String, StatCounts)>, ProjectionError> {
        let key = match stats.group_by {
            None => "''",
            Some(GroupBy::Community) => "community",
            Some(GroupBy::Day) => "day",
            Some(_) => "dim",
        };
        let sql = format!(
            "SELECT {key} AS group_key, {} FROM case_stats_rollup WHERE level = ",
            stats_select()
        );
        // Whole months from the month rows, the days around them from the day rows; per
        // day, only day rows.
        let periods = if stats.group_by == Some(GroupBy::Day) {
            Periods::days(&stats.from, &stats.to)
        } else {
            Periods::split(&stats.from, &stats.to)
        };
        let rows = with_builder!(self, sql, |query, pool| {
            query.push_bind(plan.level).push(" AND (1 = 0");
            for (from, to) in &periods.days {
                query
                    .push(" OR (length(day) = 10 AND day >= ")
                    .push_bind(from.as_str())
                    .push(" AND day <= ")
                    .push_bind(to.as_str())
                    .push(")");
            }
            if let Some((from, to)) = &periods.months {
                query
                    .push(" OR (length(day) = 7 AND day >= ")
                    .push_bind(from.as_str())
                    .push(" AND day <= ")
                    .push_bind(to.as_str())
                    .push(")");
            }
            query.push(")");
            if let Some(communities) = &stats.communities {
                query.any_of("community", communities);
            }
            if let Some(value) = plan.filter {
                query.eq("dim", value);
            }
            query.push(" GROUP BY group_key ORDER BY group_key");
            query
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("group_key")?, counts_from(row)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Cases open and overdue now, per group, under the query's filters (its period does
    /// not apply: these are a snapshot).
    pub async fn current(
        &self,
        stats: &StatsQuery,
    ) -> Result<Vec<(String, CurrentCounts)>, ProjectionError> {
        let key = stats.group_by.map_or("''", GroupBy::current_column);
        let sql = format!(
            "SELECT {key} AS group_key, CAST(COALESCE(SUM(open), 0) AS BIGINT) AS open, \
             CAST(COALESCE(SUM(overdue), 0) AS BIGINT) AS overdue FROM case_current"
        );
        let named = RollupPlan::named(stats);
        let rows = with_builder!(self, sql, |query, pool| {
            current_conditions(&mut query, stats);
            // The rollup rows that name exactly the dimensions asked about, the others `*`;
            // two or more named: the rows themselves.
            let columns = ["category", "channel", "unit"];
            for column in columns {
                let wanted = named.len() > 1 || named.contains(&column);
                query.push(format!(
                    " AND {column} {} '{ALL}'",
                    if wanted { "<>" } else { "=" }
                ));
            }
            query.push(" GROUP BY group_key");
            query
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get("group_key")?,
                        CurrentCounts {
                            open: row.try_get("open")?,
                            overdue: row.try_get("overdue")?,
                        },
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }

    /// Cases with a deadline due by `now` that the timer has not recorded yet.
    pub async fn deadlines_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<CaseId>, ProjectionError> {
        let ids: Vec<Uuid> = with_builder!(
            self,
            "SELECT case_id FROM case_summary WHERE next_deadline IS NOT NULL AND next_deadline <= ",
            |query, pool| {
                query
                    .push_bind(now.timestamp_micros())
                    .push(" ORDER BY next_deadline LIMIT ")
                    .push(limit);
                query.build_query_scalar().fetch_all(pool).await?
            }
        );
        Ok(ids.into_iter().map(CaseId::from_uuid).collect())
    }

    /// Resolved cases waiting for feedback, resolved at or before `before`.
    pub async fn resolved_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(CaseId, DateTime<Utc>)>, ProjectionError> {
        let rows: Vec<(Uuid, i64)> = with_builder!(
            self,
            "SELECT case_id, resolved_at FROM case_summary WHERE status = 'resolved' AND resolved_at <= ",
            |query, pool| {
                query
                    .push_bind(before.timestamp_micros())
                    .push(" ORDER BY resolved_at LIMIT ")
                    .push(limit);
                query.build_query_as().fetch_all(pool).await?
            }
        );
        Ok(rows
            .into_iter()
            .filter_map(|(id, at)| {
                DateTime::from_timestamp_micros(at).map(|at| (CaseId::from_uuid(id), at))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Periods;

    fn period(days: &[(&str, &str)], months: Option<(&str, &str)>) -> Periods {
        Periods {
            days: days
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            months: months.map(|(a, b)| (a.to_owned(), b.to_owned())),
        }
    }

    #[test]
    fn a_period_reads_whole_months_from_month_rows_and_the_rest_from_day_rows() {
        assert_eq!(
            Periods::split("2026-01-15", "2026-04-10"),
            period(
                &[("2026-01-15", "2026-01-31"), ("2026-04-01", "2026-04-10")],
                Some(("2026-02", "2026-03"))
            )
        );
        assert_eq!(
            Periods::split("2026-01-01", "2026-12-31"),
            period(&[], Some(("2026-01", "2026-12")))
        );
        assert_eq!(
            Periods::split("2026-11-23", "2026-11-27"),
            period(&[("2026-11-23", "2026-11-27")], None)
        );
        assert_eq!(
            Periods::split("2026-10-29", "2026-11-27"),
            period(&[("2026-10-29", "2026-11-27")], None)
        );
        assert_eq!(
            Periods::split("2026-02-01", "2026-02-28"),
            period(&[], Some(("2026-02", "2026-02")))
        );
    }
}
