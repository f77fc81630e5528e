//! The state of one case as far as a context knows it, folded from the case's events.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{CaseEvent, Channel, Outcome, Priority, Reporter, Satisfaction};
use crate::ids::{CaseId, Code, TrackingCode};

/// The statuses of DESIGN §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Filed,
    Triaged,
    Dispatched,
    InProgress,
    Resolved,
    Closed,
    Withdrawn,
    Rejected,
    Merged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Filed => "filed",
            Self::Triaged => "triaged",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
            Self::Rejected => "rejected",
            Self::Merged => "merged",
        }
    }

    /// No command but reading applies any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Closed | Self::Withdrawn | Self::Rejected | Self::Merged
        )
    }

    /// The case sits with a handling unit.
    pub fn is_with_unit(self) -> bool {
        matches!(self, Self::Dispatched | Self::InProgress)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The dispatch a unit currently holds (or last held, once resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    pub unit: Code,
    pub number: u32,
    pub dispatched_at: DateTime<Utc>,
    pub response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    pub accepted: bool,
    pub contacted_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub response_overdue_recorded: bool,
    pub resolution_overdue_recorded: bool,
}

/// Everything the deciders need to know about one case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: CaseId,
    pub status: Option<Status>,
    pub tracking_code: Option<TrackingCode>,
    pub secret_digest: String,
    pub channel: Option<Channel>,
    pub community: Option<Code>,
    pub category: Option<Code>,
    pub priority: Option<Priority>,
    pub title: String,
    pub reporter: Option<Reporter>,
    pub confidential: bool,
    pub filed_at: Option<DateTime<Utc>>,
    pub dispatch: Option<Dispatch>,
    /// Dispatches so far, counting re-dispatches after a return and reopenings.
    pub dispatches: u32,
    /// Returns so far (退单): leaders watch cases bouncing between units.
    pub returns: u32,
    pub reopens: u32,
    pub outcome: Option<Outcome>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The feedback for the current resolution, cleared on reopen.
    pub feedback: Option<(Satisfaction, bool)>,
    pub merged_into: Option<CaseId>,
    /// Events folded so far: the stream version the next append expects.
    pub version: u64,
}

impl Case {
    /// A case nothing has happened to yet.
    pub fn new(id: CaseId) -> Self {
        Self {
            id,
            status: None,
            tracking_code: None,
            secret_digest: String::new(),
            channel: None,
            community: None,
            category: None,
            priority: None,
            title: String::new(),
            reporter: None,
            confidential: false,
            filed_at: None,
            dispatch: None,
            dispatches: 0,
            returns: 0,
            reopens: 0,
            outcome: None,
            resolved_at: None,
            feedback: None,
            merged_into: None,
            version: 0,
        }
    }

    /// Folds a whole history of events with the times they were recorded.
    pub fn from_events<'a>(
        id: CaseId,
        events: impl IntoIterator<Item = (&'a CaseEvent, DateTime<Utc>)>,
    ) -> Self {
        events
            .into_iter()
            .fold(Self::new(id), |case, (event, at)| case.evolve(event, at))
    }

    /// Applies one event recorded at `at`. Events are facts, so this never fails; an event
    /// that does not fit the state (which `decide` never produces) still updates what it can.
    #[must_use]
    pub fn evolve(mut self, event: &CaseEvent, at: DateTime<Utc>) -> Self {
        self.version += 1;
        match event {
            CaseEvent::ConcernFiled {
                tracking_code,
                secret_digest,
                channel,
                community,
                category,
                title,
                reporter,
                confidential,
                filed_at,
                ..
            } => {
                self.status = Some(Status::Filed);
                self.tracking_code = Some(tracking_code.clone());
                self.secret_digest = secret_digest.clone();
                self.channel = Some(*channel);
                self.community = Some(community.clone());
                self.category = category.clone();
                self.title = title.clone();
                self.reporter = reporter.clone();
                self.confidential = *confidential;
                self.filed_at = Some(*filed_at);
            }
            CaseEvent::ConcernAmended { title, .. } => {
                if let Some(title) = title {
                    self.title = title.clone();
                }
            }
            CaseEvent::ConcernWithdrawn { .. } => self.status = Some(Status::Withdrawn),
            CaseEvent::CaseTriaged { category, priority } => {
                self.status = Some(Status::Triaged);
                self.category = Some(category.clone());
                self.priority = Some(*priority);
            }
            CaseEvent::CaseDispatched {
                unit,
                dispatch,
                response_due,
                resolution_due,
                ..
            } => {
                self.status = Some(Status::Dispatched);
                self.dispatches = *dispatch;
                self.dispatch = Some(Dispatch {
                    unit: unit.clone(),
                    number: *dispatch,
                    dispatched_at: at,
                    response_due: *response_due,
                    resolution_due: *resolution_due,
                    accepted: false,
                    contacted_at: None,
                    resolved_at: None,
                    response_overdue_recorded: false,
                    resolution_overdue_recorded: false,
                });
            }
            CaseEvent::DispatchAccepted { .. } => {
                self.status = Some(Status::InProgress);
                if let Some(dispatch) = &mut self.dispatch {
                    dispatch.accepted = true;
                }
            }
            CaseEvent::DispatchReturned { .. } => {
                self.status = Some(Status::Triaged);
                self.returns += 1;
                self.dispatch = None;
            }
            CaseEvent::CaseEscalated { .. } => {}
            CaseEvent::CaseMergedAsDuplicate { into } => {
                self.status = Some(Status::Merged);
                self.merged_into = Some(*into);
            }
            CaseEvent::ConcernRejected { .. } => self.status = Some(Status::Rejected),
            CaseEvent::DeadlineExtended { resolution_due, .. } => {
                if let Some(dispatch) = &mut self.dispatch {
                    dispatch.resolution_due = *resolution_due;
                }
            }
            CaseEvent::ResponseOverdue { dispatch, .. } => {
                if let Some(current) = self.dispatch.as_mut().filter(|d| d.number == *dispatch) {
                    current.response_overdue_recorded = true;
                }
            }
            CaseEvent::ResolutionOverdue { dispatch, .. } => {
                if let Some(current) = self.dispatch.as_mut().filter(|d| d.number == *dispatch) {
                    current.resolution_overdue_recorded = true;
                }
            }
            CaseEvent::ResidentContacted { .. } => {
                if let Some(dispatch) = self.dispatch.as_mut().filter(|d| d.contacted_at.is_none())
                {
                    dispatch.contacted_at = Some(at);
                }
            }
            CaseEvent::ProgressRecorded { .. } => {}
            CaseEvent::CaseResolved { outcome, .. } => {
                self.status = Some(Status::Resolved);
                self.outcome = Some(*outcome);
                self.resolved_at = Some(at);
                self.feedback = None;
                if let Some(dispatch) = &mut self.dispatch {
                    dispatch.resolved_at = Some(at);
                }
            }
            CaseEvent::FeedbackGiven {
                satisfaction,
                resolved,
                ..
            } => self.feedback = Some((*satisfaction, *resolved)),
            CaseEvent::CaseReopened {
                unit,
                dispatch,
                response_due,
                resolution_due,
                ..
            } => {
                self.status = Some(Status::InProgress);
                self.reopens += 1;
                self.dispatches = *dispatch;
                self.outcome = None;
                self.resolved_at = None;
                self.feedback = None;
                self.dispatch = Some(Dispatch {
                    unit: unit.clone(),
                    number: *dispatch,
                    dispatched_at: at,
                    response_due: *response_due,
                    resolution_due: *resolution_due,
                    accepted: true,
                    contacted_at: None,
                    resolved_at: None,
                    response_overdue_recorded: false,
                    resolution_overdue_recorded: false,
                });
            }
            CaseEvent::CaseClosed { .. } => self.status = Some(Status::Closed),
        }
        self
    }
}
