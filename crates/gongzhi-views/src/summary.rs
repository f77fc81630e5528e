//! The case summary: what a list, a queue or a tracking page shows of one case.

use chrono::{DateTime, Utc};
use gongzhi_domain::{
    CaseEvent, CaseId, Channel, Outcome, Priority, Reporter, Satisfaction, Status,
};
use serde::{Deserialize, Serialize};

/// One case as the views know it (DESIGN §6 summary fields, plus what statistics and the
/// case page need). `reporter` is stored whole; masking is the reader's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub case_id: CaseId,
    pub tracking_code: String,
    pub status: Status,
    pub community: String,
    pub category: Option<String>,
    pub priority: Option<Priority>,
    pub channel: Channel,
    pub unit: Option<String>,
    pub title: String,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub returns: u32,
    pub reopens: u32,
    /// Events of this case applied so far (its stream version).
    pub version: u64,
    pub reporter: Option<Reporter>,
    pub anonymous: bool,
    pub confidential: bool,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub contacted_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub satisfaction: Option<Satisfaction>,
    pub rated_resolved: Option<bool>,
    pub merged_into: Option<CaseId>,
    pub escalated_to: Option<String>,
    /// ResponseOverdue was recorded for the current dispatch.
    #[serde(default)]
    pub response_missed: bool,
    /// ResolutionOverdue was recorded for the current dispatch.
    #[serde(default)]
    pub resolution_missed: bool,
}

impl CaseSummary {
    /// The summary a filing creates, or `None` for any other event on an unknown case.
    pub(crate) fn filed(case_id: CaseId, event: &CaseEvent, at: DateTime<Utc>) -> Option<Self> {
        let CaseEvent::ConcernFiled {
            tracking_code,
            channel,
            community,
            category,
            title,
            reporter,
            anonymous,
            confidential,
            filed_at,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            case_id,
            tracking_code: tracking_code.to_string(),
            status: Status::Filed,
            community: community.to_string(),
            category: category.as_ref().map(ToString::to_string),
            priority: None,
            channel: *channel,
            unit: None,
            title: title.clone(),
            filed_at: *filed_at,
            updated_at: at,
            response_due: None,
            resolution_due: None,
            overdue: false,
            returns: 0,
            reopens: 0,
            version: 0,
            reporter: reporter.clone(),
            anonymous: *anonymous,
            confidential: *confidential,
            dispatched_at: None,
            contacted_at: None,
            resolved_at: None,
            closed_at: None,
            outcome: None,
            satisfaction: None,
            rated_resolved: None,
            merged_into: None,
            escalated_to: None,
            response_missed: false,
            resolution_missed: false,
        })
    }

    /// Applies one event recorded at `at`.
    pub(crate) fn apply(&mut self, event: &CaseEvent, at: DateTime<Utc>) {
        self.updated_at = at;
        match event {
            CaseEvent::ConcernFiled { .. } => {}
            CaseEvent::ConcernAmended { title, .. } => {
                if let Some(title) = title {
                    self.title = title.clone();
                }
            }
            CaseEvent::ConcernWithdrawn { .. } => self.finish(Status::Withdrawn),
            CaseEvent::CaseTriaged { category, priority } => {
                self.status = Status::Triaged;
                self.category = Some(category.to_string());
                self.priority = Some(*priority);
            }
            CaseEvent::CaseDispatched {
                unit,
                response_due,
                resolution_due,
                ..
            } => {
                self.status = Status::Dispatched;
                self.unit = Some(unit.to_string());
                self.start_dispatch(at, *response_due, *resolution_due);
            }
            CaseEvent::DispatchAccepted { .. } => self.status = Status::InProgress,
            CaseEvent::DispatchReturned { .. } => {
                self.status = Status::Triaged;
                self.unit = None;
                self.returns += 1;
                self.response_due = None;
                self.resolution_due = None;
                self.overdue = false;
            }
            CaseEvent::CaseEscalated { to, .. } => self.escalated_to = Some(to.to_string()),
            CaseEvent::CaseMergedAsDuplicate { into } => {
                self.merged_into = Some(*into);
                self.finish(Status::Merged);
            }
            CaseEvent::ConcernRejected { .. } => self.finish(Status::Rejected),
            CaseEvent::DeadlineExtended { resolution_due, .. } => {
                self.resolution_due = Some(*resolution_due);
            }
            // A late timer may record a deadline missed by a case already resolved: the
            // statistics count it, but the case is no longer waiting on anyone.
            CaseEvent::ResponseOverdue { .. } => {
                self.response_missed = true;
                self.overdue = self.status.is_with_unit();
            }
            CaseEvent::ResolutionOverdue { .. } => {
                self.resolution_missed = true;
                self.overdue = self.status.is_with_unit();
            }
            CaseEvent::ResidentContacted { .. } => {
                self.contacted_at.get_or_insert(at);
            }
            CaseEvent::ProgressRecorded { .. } => {}
            CaseEvent::CaseResolved { outcome, .. } => {
                self.status = Status::Resolved;
                self.outcome = Some(*outcome);
                self.resolved_at = Some(at);
                self.overdue = false;
            }
            CaseEvent::FeedbackGiven {
                satisfaction,
                resolved,
                ..
            } => {
                self.satisfaction = Some(*satisfaction);
                self.rated_resolved = Some(*resolved);
            }
            CaseEvent::CaseReopened {
                response_due,
                resolution_due,
                ..
            } => {
                self.status = Status::InProgress;
                self.reopens += 1;
                self.outcome = None;
                self.resolved_at = None;
                self.satisfaction = None;
                self.rated_resolved = None;
                self.start_dispatch(at, *response_due, *resolution_due);
            }
            CaseEvent::CaseClosed { .. } => {
                self.closed_at = Some(at);
                self.finish(Status::Closed);
            }
        }
    }

    fn start_dispatch(
        &mut self,
        at: DateTime<Utc>,
        response_due: DateTime<Utc>,
        resolution_due: DateTime<Utc>,
    ) {
        self.dispatched_at = Some(at);
        self.contacted_at = None;
        self.response_missed = false;
        self.resolution_missed = false;
        self.response_due = Some(response_due);
        self.resolution_due = Some(resolution_due);
        self.overdue = false;
    }

    /// When the deadline timer must next look at this case: the earliest deadline of the
    /// current dispatch not yet recorded as missed and not met in time. `None` when no
    /// deadline is pending.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        if self.status.is_final() {
            return None;
        }
        let pending = |due: Option<DateTime<Utc>>, missed: bool, done: Option<DateTime<Utc>>| {
            due.filter(|due| !missed && done.is_none_or(|done| done > *due))
        };
        let response = pending(self.response_due, self.response_missed, self.contacted_at);
        let resolution = pending(
            self.resolution_due,
            self.resolution_missed,
            self.resolved_at,
        );
        response.into_iter().chain(resolution).min()
    }

    fn finish(&mut self, status: Status) {
        self.status = status;
        self.overdue = false;
    }
}
