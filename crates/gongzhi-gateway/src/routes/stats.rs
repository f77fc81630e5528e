//! The figures of DESIGN §4 over a period, area and filters, grouped by one dimension,
//! with rankings only where the sample is large enough.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use chrono::Duration;
use gongzhi_domain::{Code, Role};
use gongzhi_views::{
    CONTACT_HOURS, CurrentCounts, GroupBy, RESOLVE_HOURS, StatCounts, StatsQuery, bucket_median,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::bodies;
use crate::error::{ApiError, ErrorBody};
use crate::i18n::{self, Lang};
use crate::out::{Figures, GroupOut, StatsOut};
use crate::scope;
use crate::session::Caller;
use crate::state::SharedState;

/// The longest period one request may cover.
const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// First day (`YYYY-MM-DD`, local) or an RFC 3339 time; default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default today.
    pub to: Option<String>,
    /// An area code; default the caller's area.
    pub area: Option<String>,
    /// community, category, channel, unit or day
    pub group_by: Option<String>,
    pub category: Option<String>,
    pub channel: Option<String>,
    pub unit: Option<String>,
}

fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| (numerator as f64 / denominator as f64 * 10_000.0).round() / 10_000.0)
}

fn round1(value: Option<f64>) -> Option<f64> {
    value.map(|v| (v * 10.0).round() / 10.0)
}

/// The published figures from summed counters and (except per day) current counts.
pub fn figures(counts: &StatCounts, current: Option<CurrentCounts>) -> Figures {
    Figures {
        filed: counts.filed,
        dispatched: counts.dispatched,
        resolved: counts.resolved,
        closed: counts.closed,
        open: current.map(|c| c.open),
        overdue: current.map(|c| c.overdue),
        rated: counts.rated,
        response_rate: rate(counts.responded_on_time, counts.response_due),
        resolution_rate: rate(counts.rated_resolved, counts.rated),
        satisfaction_rate: rate(counts.satisfied, counts.rated),
        on_time_rate: rate(counts.resolved_on_time, counts.resolved),
        median_hours_to_contact: round1(bucket_median(&CONTACT_HOURS, &counts.contact_buckets())),
        median_hours_to_resolve: round1(bucket_median(&RESOLVE_HOURS, &counts.resolve_buckets())),
        returns: counts.returns,
        reopened: counts.reopened,
        response_overdue: counts.response_overdue,
        resolution_overdue: counts.resolution_overdue,
        response_due: counts.response_due,
        responded_on_time: counts.responded_on_time,
    }
}

/// Ranks groups whose rated sample reaches `min_sample`: satisfaction rate, then
/// resolution rate, higher first.
pub fn rank(groups: &mut [GroupOut], min_sample: i64) {
    let mut eligible: Vec<usize> = (0..groups.len())
        .filter(|i| groups[*i].figures.rated >= min_sample)
        .collect();
    let key = |g: &GroupOut| {
        (
            g.figures.satisfaction_rate.unwrap_or(0.0),
            g.figures.resolution_rate.unwrap_or(0.0),
        )
    };
    eligible.sort_by(|a, b| {
        key(&groups[*b])
            .partial_cmp(&key(&groups[*a]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for (place, index) in eligible.into_iter().enumerate() {
        groups[index].rank = Some(place as u32 + 1);
    }
}

/// Statistics for leaders (and council members, operators and admins in their area).
#[utoipa::path(get, path = "/api/v1/stats", tag = "statistics", params(StatsParams),
    responses((status = 200, body = StatsOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn stats(
    State(state): State<SharedState>,
    caller: Caller,
    params: Result<Query<StatsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StatsOut>, ApiError> {
    let user = caller.require()?;
    if user.role == Role::Handler {
        return Err(ApiError::forbidden(
            "statistics are for leaders, council members, operators and admins / 统计仅对领导、议事会成员、话务员和管理员开放",
        ));
    }
    let Query(params) = params?;
    let directory = &state.gateway.directory;
    let offset = state.offset;
    let today = state
        .gateway
        .clock
        .now()
        .with_timezone(&offset)
        .date_naive();
    let to = match &params.to {
        Some(value) => bodies::local_date("to", value, offset)?,
        None => today,
    };
    let from = match &params.from {
        Some(value) => bodies::local_date("from", value, offset)?,
        None => to
            .checked_sub_signed(Duration::days(29))
            .ok_or_else(|| ApiError::invalid_field("to", "is too early"))?,
    };
    if from > to {
        return Err(ApiError::invalid_field("from", "must not be after 'to'"));
    }
    if (to - from).num_days() > MAX_DAYS {
        return Err(ApiError::invalid_field(
            "from",
            format!("a period covers at most {MAX_DAYS} days"),
        ));
    }
    let own_area = user
        .area
        .clone()
        .ok_or_else(|| ApiError::forbidden("your account has no area / 账号未设置辖区"))?;
    let area: Code = match &params.area {
        Some(value) => bodies::area(directory, "area", value)?,
        None => own_area.clone(),
    };
    if !directory.is_within(&area, &own_area) {
        return Err(ApiError::forbidden(format!(
            "area '{area}' is outside your area '{own_area}' / 超出辖区范围"
        )));
    }
    let communities = scope::communities(
        directory,
        &gongzhi_accounts::User {
            area: Some(area.clone()),
            ..user.clone()
        },
    );
    let group_by = params
        .group_by
        .as_deref()
        .map(|value| {
            GroupBy::parse(value).ok_or_else(|| {
                ApiError::invalid_field(
                    "group_by",
                    format!("'{value}' is not one of community, category, channel, unit, day"),
                )
            })
        })
        .transpose()?;
    let query = StatsQuery {
        from: from.to_string(),
        to: to.to_string(),
        communities: Some(communities),
        category: params
            .category
            .as_deref()
            .map(|c| bodies::category(directory, "category", c).map(|c| c.to_string()))
            .transpose()?,
        channel: params
            .channel
            .as_deref()
            .map(|c| bodies::channel("channel", c).map(|c| c.as_str().to_owned()))
            .transpose()?,
        unit: params
            .unit
            .as_deref()
            .map(|u| bodies::unit(directory, "unit", u).map(|u| u.to_string()))
            .transpose()?,
        group_by,
    };
    let views = &state.gateway.views;
    let total_query = StatsQuery {
        group_by: None,
        ..query.clone()
    };
    let (grouped, current, total, current_total) = tokio::try_join!(
        views.stats(&query),
        views.current(&query),
        views.stats(&total_query),
        views.current(&total_query),
    )?;
    let current: HashMap<String, CurrentCounts> = current.into_iter().collect();
    let per_day = group_by == Some(GroupBy::Day);
    let mut groups: Vec<GroupOut> = match group_by {
        None => Vec::new(),
        Some(_) => grouped
            .iter()
            .map(|(key, counts)| GroupOut {
                name: group_name(directory, group_by, key),
                figures: figures(
                    counts,
                    (!per_day).then(|| current.get(key).copied().unwrap_or_default()),
                ),
                key: key.clone(),
                rank: None,
            })
            .collect(),
    };
    let min_sample = state.gateway.config.min_sample;
    if !per_day {
        rank(&mut groups, min_sample);
    }
    let total_counts = total.first().map(|(_, c)| *c).unwrap_or_default();
    let total_current = current_total.first().map(|(_, c)| *c).unwrap_or_default();
    Ok(Json(StatsOut {
        from: from.to_string(),
        to: to.to_string(),
        area: area.to_string(),
        group_by: group_by.map(|g| g.as_str().to_owned()),
        min_sample,
        groups,
        total: figures(&total_counts, Some(total_current)),
    }))
}

fn group_name(
    directory: &gongzhi_domain::Directory,
    group_by: Option<GroupBy>,
    key: &str,
) -> String {
    let code = Code::parse("key", key).ok();
    let found = code.as_ref().and_then(|code| match group_by {
        Some(GroupBy::Community) => directory.area(code).map(|a| a.name.clone()),
        Some(GroupBy::Category) => directory.category(code).map(|c| c.name.clone()),
        Some(GroupBy::Unit) => directory.unit(code).map(|u| u.name.clone()),
        _ => None,
    });
    match (found, group_by) {
        (Some(name), _) => name,
        (None, Some(GroupBy::Category)) if key.is_empty() => "未分类 Not classified".to_owned(),
        (None, Some(GroupBy::Unit)) if key.is_empty() => "未派单 Not dispatched".to_owned(),
        (None, Some(GroupBy::Channel)) => channel_name(key),
        _ => key.to_owned(),
    }
}

/// A channel's name in both languages, as the API's names are.
fn channel_name(key: &str) -> String {
    let (zh, en) = (i18n::channel(Lang::Zh, key), i18n::channel(Lang::En, key));
    if zh == en {
        zh.to_owned()
    } else {
        format!("{zh} {en}")
    }
}
