//! Commands, imperative and in the words of DESIGN §3, grouped by the context that handles
//! them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{
    Channel, ContactVia, Context, Location, Outcome, Priority, Reporter, Satisfaction,
};
use crate::ids::{CaseId, Code, TrackingCode};

/// A new concern. The tracking code and the digest of the secret are made by the caller,
/// which owns randomness and hashing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileConcern {
    pub tracking_code: TrackingCode,
    pub secret_digest: String,
    pub channel: Channel,
    pub community: Code,
    pub category: Option<Code>,
    pub title: String,
    pub description: String,
    pub address: Option<String>,
    pub location: Option<Location>,
    pub reporter: Option<Reporter>,
    pub anonymous: bool,
    pub confidential: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IntakeCommand {
    FileConcern(Box<FileConcern>),
    AmendConcern {
        title: Option<String>,
        description: Option<String>,
        address: Option<String>,
    },
    WithdrawConcern {
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AssignmentCommand {
    TriageCase {
        category: Code,
        priority: Priority,
    },
    DispatchCase {
        unit: Code,
        note: Option<String>,
    },
    AcceptDispatch,
    ReturnDispatch {
        reason: String,
    },
    EscalateCase {
        to: Code,
        reason: String,
    },
    MergeDuplicate {
        into: CaseId,
    },
    RejectConcern {
        reason: String,
    },
    ExtendDeadline {
        resolution_due: DateTime<Utc>,
        reason: String,
    },
    /// The deadline timer: records ResponseOverdue / ResolutionOverdue once per dispatch.
    CheckDeadlines,
}

/// How the handler reached the resident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub via: ContactVia,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResolutionCommand {
    RecordContact(Contact),
    RecordProgress {
        note: String,
    },
    ResolveCase {
        outcome: Outcome,
        summary: String,
    },
    GiveFeedback {
        satisfaction: Satisfaction,
        resolved: bool,
        comment: Option<String>,
    },
    ReopenCase {
        reason: String,
    },
    CloseCase {
        reason: String,
    },
    /// The feedback-window timer: closes a resolved case once the window has passed.
    CheckFeedbackWindow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    Intake(IntakeCommand),
    Assignment(AssignmentCommand),
    Resolution(ResolutionCommand),
}

impl Command {
    /// The context whose service handles this command.
    pub fn context(&self) -> Context {
        match self {
            Self::Intake(_) => Context::Intake,
            Self::Assignment(_) => Context::Assignment,
            Self::Resolution(_) => Context::Resolution,
        }
    }

    /// Whether this files a new concern (which makes its case rather than acting on one).
    pub fn is_filing(&self) -> bool {
        matches!(self, Self::Intake(IntakeCommand::FileConcern(_)))
    }

    /// The action's name as the API spells it, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Intake(IntakeCommand::FileConcern(_)) => "file",
            Self::Intake(IntakeCommand::AmendConcern { .. }) => "amend",
            Self::Intake(IntakeCommand::WithdrawConcern { .. }) => "withdraw",
            Self::Assignment(command) => match command {
                AssignmentCommand::TriageCase { .. } => "triage",
                AssignmentCommand::DispatchCase { .. } => "dispatch",
                AssignmentCommand::AcceptDispatch => "accept",
                AssignmentCommand::ReturnDispatch { .. } => "return",
                AssignmentCommand::EscalateCase { .. } => "escalate",
                AssignmentCommand::MergeDuplicate { .. } => "merge",
                AssignmentCommand::RejectConcern { .. } => "reject",
                AssignmentCommand::ExtendDeadline { .. } => "extend-deadline",
                AssignmentCommand::CheckDeadlines => "check deadlines of",
            },
            Self::Resolution(command) => match command {
                ResolutionCommand::RecordContact(_) => "contact",
                ResolutionCommand::RecordProgress { .. } => "progress",
                ResolutionCommand::ResolveCase { .. } => "resolve",
                ResolutionCommand::GiveFeedback { .. } => "feedback",
                ResolutionCommand::ReopenCase { .. } => "reopen",
                ResolutionCommand::CloseCase { .. } => "close",
                ResolutionCommand::CheckFeedbackWindow => "check the feedback window of",
            },
        }
    }
}
