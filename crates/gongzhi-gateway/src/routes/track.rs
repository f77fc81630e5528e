//! The public tracking page's data: status and a timeline by tracking code, with no names
//! and no staff notes.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use gongzhi_domain::{CaseEvent, TrackingCode};
use gongzhi_views::CaseSummary;

use crate::error::{ApiError, ErrorBody};
use crate::out::{TimelineEntry, TrackOut};
use crate::state::SharedState;

/// A step of the public timeline: what a resident reads, without names or staff notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Received,
    Amended,
    Withdrawn,
    Classified,
    Dispatched,
    Accepted,
    Returned,
    Merged,
    Rejected(String),
    Contacted,
    Resolved(String),
    Rated,
    Reopened,
    Closed,
}

impl Step {
    fn of(event: &CaseEvent) -> Option<Self> {
        Some(match event {
            CaseEvent::ConcernFiled { .. } => Self::Received,
            CaseEvent::ConcernAmended { .. } => Self::Amended,
            CaseEvent::ConcernWithdrawn { .. } => Self::Withdrawn,
            CaseEvent::CaseTriaged { .. } => Self::Classified,
            CaseEvent::CaseDispatched { .. } => Self::Dispatched,
            CaseEvent::DispatchAccepted { .. } => Self::Accepted,
            CaseEvent::DispatchReturned { .. } => Self::Returned,
            CaseEvent::CaseMergedAsDuplicate { .. } => Self::Merged,
            CaseEvent::ConcernRejected { reason } => Self::Rejected(reason.clone()),
            CaseEvent::ResidentContacted { .. } => Self::Contacted,
            CaseEvent::CaseResolved { summary, .. } => Self::Resolved(summary.clone()),
            CaseEvent::FeedbackGiven { .. } => Self::Rated,
            CaseEvent::CaseReopened { .. } => Self::Reopened,
            CaseEvent::CaseClosed { .. } => Self::Closed,
            CaseEvent::CaseEscalated { .. }
            | CaseEvent::DeadlineExtended { .. }
            | CaseEvent::ResponseOverdue { .. }
            | CaseEvent::ResolutionOverdue { .. }
            | CaseEvent::ProgressRecorded { .. } => return None,
        })
    }

    /// The status the case has after this step.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Received | Self::Amended => "filed",
            Self::Withdrawn => "withdrawn",
            Self::Classified | Self::Returned => "triaged",
            Self::Dispatched => "dispatched",
            Self::Accepted | Self::Contacted | Self::Reopened => "in_progress",
            Self::Merged => "merged",
            Self::Rejected(_) => "rejected",
            Self::Resolved(_) | Self::Rated => "resolved",
            Self::Closed => "closed",
        }
    }

    /// The API's bilingual note.
    fn note(&self) -> String {
        match self {
            Self::Received => "已受理 Concern received".to_owned(),
            Self::Amended => "已补充 Concern amended".to_owned(),
            Self::Withdrawn => "已撤回 Withdrawn".to_owned(),
            Self::Classified => "已分拨研判 Classified".to_owned(),
            Self::Dispatched => "已派单 Sent to the handling unit".to_owned(),
            Self::Accepted => "已签收 Accepted by the handling unit".to_owned(),
            Self::Returned => "已退单，重新分拨 Returned for re-dispatch".to_owned(),
            Self::Merged => {
                "已合并至相同诉求 Merged with the same concern; you will hear its outcome"
                    .to_owned()
            }
            Self::Rejected(reason) => format!("不予受理 Not accepted: {reason}"),
            Self::Contacted => "已联系诉求人 The unit contacted you".to_owned(),
            Self::Resolved(summary) => format!("已办结 Resolved: {summary}"),
            Self::Rated => "已评价 Rated".to_owned(),
            Self::Reopened => "重办 Reopened".to_owned(),
            Self::Closed => "已结案 Closed".to_owned(),
        }
    }
}

/// The public steps of a case, oldest first.
pub(crate) async fn public_timeline(
    state: &SharedState,
    summary: &CaseSummary,
) -> Result<Vec<(DateTime<Utc>, Step)>, ApiError> {
    let history = state.gateway.commands.history(summary.case_id).await?;
    Ok(history
        .iter()
        .filter_map(|entry| {
            let event = CaseEvent::from_stored(
                &entry.event_type,
                entry.schema_version,
                &entry.data.to_string(),
            )
            .ok()?;
            Some((entry.at, Step::of(&event)?))
        })
        .collect())
}

/// The case a tracking code names: 400 for a malformed code, 404 for an unknown one.
pub(crate) async fn case_by_code(state: &SharedState, code: &str) -> Result<CaseSummary, ApiError> {
    let code = TrackingCode::parse(code)?;
    state
        .gateway
        .views
        .by_tracking_code(code.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no concern {code} / 查无此诉求")))
}

/// Status and public timeline of a concern by its tracking code.
#[utoipa::path(get, path = "/api/v1/track/{tracking_code}", tag = "cases",
    params(("tracking_code" = String, Path, example = "SY-2611-7K3Q")),
    responses((status = 200, body = TrackOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn track(
    State(state): State<SharedState>,
    Path(code): Path<String>,
) -> Result<Json<TrackOut>, ApiError> {
    let summary = case_by_code(&state, &code).await?;
    let timeline = public_timeline(&state, &summary)
        .await?
        .into_iter()
        .map(|(at, step)| TimelineEntry {
            at,
            status: step.status().to_owned(),
            note: step.note(),
        })
        .collect();
    Ok(Json(TrackOut {
        tracking_code: summary.tracking_code,
        status: summary.status.as_str().to_owned(),
        category: summary.category,
        community: summary.community,
        filed_at: summary.filed_at,
        updated_at: summary.updated_at,
        timeline,
    }))
}
