//! Response bodies of DESIGN §6.

use chrono::{DateTime, Utc};
use gongzhi_accounts::User;
use gongzhi_domain::Reporter;
use gongzhi_views::CaseSummary;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::scope::{ReporterView, show_reporter};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub username: String,
    /// operator, council, handler, leader or admin
    pub role: String,
    pub area: Option<String>,
    pub unit: Option<String>,
    pub display_name: String,
}

impl From<&User> for UserOut {
    fn from(user: &User) -> Self {
        Self {
            username: user.username.clone(),
            role: user.role.as_str().to_owned(),
            area: user.area.as_ref().map(ToString::to_string),
            unit: user.unit.as_ref().map(ToString::to_string),
            display_name: user.display_name.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// Send as `Authorization: Bearer <token>`; the same value is set as an HttpOnly cookie.
    pub token: String,
    pub user: UserOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiledOut {
    pub case_id: Uuid,
    pub tracking_code: String,
    /// Shown once: the resident needs it to rate or withdraw without an account.
    pub tracking_secret: String,
    pub version: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionOut {
    pub case_id: Uuid,
    pub version: u64,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReporterOut {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl From<Reporter> for ReporterOut {
    fn from(reporter: Reporter) -> Self {
        Self {
            name: reporter.name,
            phone: reporter.phone,
            email: reporter.email,
        }
    }
}

/// A case as lists and the case page show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    pub case_id: Uuid,
    pub tracking_code: String,
    /// filed, triaged, dispatched, in_progress, resolved, closed, withdrawn, rejected, merged
    pub status: String,
    pub community: String,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub channel: String,
    pub unit: Option<String>,
    pub title: String,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub returns: u32,
    pub reopens: u32,
    pub version: u64,
    /// Masked (`138****5678`) for roles that do not need it; absent for the handling
    /// unit when the concern is confidential.
    pub reporter: Option<ReporterOut>,
    pub anonymous: bool,
    pub confidential: bool,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub contacted_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub satisfaction: Option<String>,
    pub rated_resolved: Option<bool>,
    pub merged_into: Option<Uuid>,
    pub escalated_to: Option<String>,
}

fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl SummaryOut {
    pub fn new(summary: CaseSummary, view: ReporterView) -> Self {
        Self {
            case_id: summary.case_id.as_uuid(),
            tracking_code: summary.tracking_code,
            status: summary.status.as_str().to_owned(),
            community: summary.community,
            category: summary.category,
            priority: summary.priority.map(|p| p.as_str().to_owned()),
            channel: summary.channel.as_str().to_owned(),
            unit: summary.unit,
            title: summary.title,
            filed_at: summary.filed_at,
            updated_at: summary.updated_at,
            response_due: summary.response_due,
            resolution_due: summary.resolution_due,
            overdue: summary.overdue,
            returns: summary.returns,
            reopens: summary.reopens,
            version: summary.version,
            reporter: show_reporter(summary.reporter.as_ref(), view).map(ReporterOut::from),
            anonymous: summary.anonymous,
            confidential: summary.confidential,
            dispatched_at: summary.dispatched_at,
            contacted_at: summary.contacted_at,
            resolved_at: summary.resolved_at,
            closed_at: summary.closed_at,
            outcome: summary.outcome.as_ref().map(label),
            satisfaction: summary.satisfaction.as_ref().map(label),
            rated_resolved: summary.rated_resolved,
            merged_into: summary.merged_into.map(|id| id.as_uuid()),
            escalated_to: summary.escalated_to,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListOut {
    pub items: Vec<SummaryOut>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// One event of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub position: String,
    /// intake, assignment or resolution
    pub context: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub status: String,
    pub note: String,
}

/// What anyone with the tracking code may see: no names, no notes from staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackOut {
    pub tracking_code: String,
    pub status: String,
    pub category: Option<String>,
    pub community: String,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub timeline: Vec<TimelineEntry>,
}

/// The figures of DESIGN §4 for one group or the total. Rates are `null` without a sample.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Figures {
    pub filed: i64,
    pub dispatched: i64,
    pub resolved: i64,
    pub closed: i64,
    /// Open now (a snapshot, not bound to the period); `null` per day.
    pub open: Option<i64>,
    /// Overdue now (a snapshot); `null` per day.
    pub overdue: Option<i64>,
    pub rated: i64,
    /// 响应率: contacted by the response deadline ÷ response deadlines in the period.
    pub response_rate: Option<f64>,
    /// 解决率: rated resolved ÷ rated.
    pub resolution_rate: Option<f64>,
    /// 满意率: satisfied + basically satisfied ÷ rated.
    pub satisfaction_rate: Option<f64>,
    /// 按时办结率: resolved by the resolution deadline ÷ resolved.
    pub on_time_rate: Option<f64>,
    /// Hours from dispatch to first contact; interpolated in hour buckets.
    pub median_hours_to_contact: Option<f64>,
    /// Hours from dispatch to resolution; interpolated in hour buckets.
    pub median_hours_to_resolve: Option<f64>,
    pub returns: i64,
    pub reopened: i64,
    pub response_overdue: i64,
    pub resolution_overdue: i64,
    pub response_due: i64,
    pub responded_on_time: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub key: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
    /// Place by satisfaction rate, then resolution rate; `null` when the sample is below
    /// the minimum (a unit with two cases must not top a league).
    pub rank: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub from: String,
    pub to: String,
    pub area: String,
    pub group_by: Option<String>,
    /// Rated cases a group needs to be ranked.
    pub min_sample: i64,
    pub groups: Vec<GroupOut>,
    pub total: Figures,
}
