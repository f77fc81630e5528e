//! The public tracking page's data: status and a timeline by tracking code, with no names
//! and no staff notes.

use axum::Json;
use axum::extract::{Path, State};
use gongzhi_domain::{CaseEvent, TrackingCode};
use gongzhi_views::CaseSummary;

use crate::error::{ApiError, ErrorBody};
use crate::out::{TimelineEntry, TrackOut};
use crate::state::SharedState;

/// What a resident reads for each step: status after it and a bilingual note.
fn step(event: &CaseEvent) -> Option<(&'static str, String)> {
    Some(match event {
        CaseEvent::ConcernFiled { .. } => ("filed", "已受理 Concern received".to_owned()),
        CaseEvent::ConcernAmended { .. } => ("filed", "已补充 Concern amended".to_owned()),
        CaseEvent::ConcernWithdrawn { .. } => ("withdrawn", "已撤回 Withdrawn".to_owned()),
        CaseEvent::CaseTriaged { .. } => ("triaged", "已分拨研判 Classified".to_owned()),
        CaseEvent::CaseDispatched { .. } => {
            ("dispatched", "已派单 Sent to the handling unit".to_owned())
        }
        CaseEvent::DispatchAccepted { .. } => (
            "in_progress",
            "已签收 Accepted by the handling unit".to_owned(),
        ),
        CaseEvent::DispatchReturned { .. } => (
            "triaged",
            "已退单，重新分拨 Returned for re-dispatch".to_owned(),
        ),
        CaseEvent::CaseMergedAsDuplicate { .. } => (
            "merged",
            "已合并至相同诉求 Merged with the same concern; you will hear its outcome".to_owned(),
        ),
        CaseEvent::ConcernRejected { reason } => {
            ("rejected", format!("不予受理 Not accepted: {reason}"))
        }
        CaseEvent::ResidentContacted { .. } => (
            "in_progress",
            "已联系诉求人 The unit contacted you".to_owned(),
        ),
        CaseEvent::CaseResolved { summary, .. } => {
            ("resolved", format!("已办结 Resolved: {summary}"))
        }
        CaseEvent::FeedbackGiven { .. } => ("resolved", "已评价 Rated".to_owned()),
        CaseEvent::CaseReopened { .. } => ("in_progress", "重办 Reopened".to_owned()),
        CaseEvent::CaseClosed { .. } => ("closed", "已结案 Closed".to_owned()),
        CaseEvent::CaseEscalated { .. }
        | CaseEvent::DeadlineExtended { .. }
        | CaseEvent::ResponseOverdue { .. }
        | CaseEvent::ResolutionOverdue { .. }
        | CaseEvent::ProgressRecorded { .. } => return None,
    })
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
    let history = state.gateway.commands.history(summary.case_id).await?;
    let timeline = history
        .iter()
        .filter_map(|entry| {
            let event = CaseEvent::from_stored(
                &entry.event_type,
                entry.schema_version,
                &entry.data.to_string(),
            )
            .ok()?;
            let (status, note) = step(&event)?;
            Some(TimelineEntry {
                at: entry.at,
                status: status.to_owned(),
                note,
            })
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
