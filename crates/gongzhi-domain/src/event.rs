//! The events of the three contexts (DESIGN §3). Events are facts in the past tense; their
//! JSON payloads are versioned and old versions are upcast when read (see `upcast`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, Code, TrackingCode};

/// The bounded context that owns (writes) an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    Intake,
    Assignment,
    Resolution,
}

impl Context {
    pub const ALL: [Context; 3] = [Context::Intake, Context::Assignment, Context::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Assignment => "assignment",
            Self::Resolution => "resolution",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }
}

/// How a concern reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Hotline,
    App,
    Web,
    WalkIn,
    CouncilSession,
    EnterpriseService,
    GridPatrol,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Self::Hotline,
        Self::App,
        Self::Web,
        Self::WalkIn,
        Self::CouncilSession,
        Self::EnterpriseService,
        Self::GridPatrol,
    ];

    /// The channel an API name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hotline => "hotline",
            Self::App => "app",
            Self::Web => "web",
            Self::WalkIn => "walk_in",
            Self::CouncilSession => "council_session",
            Self::EnterpriseService => "enterprise_service",
            Self::GridPatrol => "grid_patrol",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Urgent,
    Normal,
    Low,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactVia {
    Phone,
    Visit,
    Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    Explained,
    Unresolvable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
}

impl Satisfaction {
    /// Counts towards the satisfaction rate (满意率).
    pub fn is_satisfied(self) -> bool {
        matches!(self, Self::Satisfied | Self::BasicallySatisfied)
    }
}

/// Who filed, as they gave it. Masked in views for roles that do not need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
}

/// Every event of a case, across the three contexts. Serialized adjacently tagged so the
/// store keeps the type beside the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[allow(
    clippy::large_enum_variant,
    reason = "events are short-lived values and a filing happens once per case; boxing it would only complicate every match"
)]
pub enum CaseEvent {
    // intake
    ConcernFiled {
        tracking_code: TrackingCode,
        /// Hex SHA-256 of the tracking secret; the secret itself is never stored.
        secret_digest: String,
        channel: Channel,
        community: Code,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<Code>,
        title: String,
        description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<Location>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reporter: Option<Reporter>,
        anonymous: bool,
        confidential: bool,
        filed_at: DateTime<Utc>,
    },
    ConcernAmended {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    ConcernWithdrawn {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    // assignment
    CaseTriaged {
        category: Code,
        priority: Priority,
    },
    CaseDispatched {
        unit: Code,
        /// 1 for the first dispatch of the case, counting re-dispatches and reopenings.
        dispatch: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        response_due: DateTime<Utc>,
        resolution_due: DateTime<Utc>,
    },
    DispatchAccepted {
        unit: Code,
    },
    DispatchReturned {
        unit: Code,
        reason: String,
    },
    CaseEscalated {
        to: Code,
        reason: String,
    },
    CaseMergedAsDuplicate {
        into: CaseId,
    },
    ConcernRejected {
        reason: String,
    },
    DeadlineExtended {
        resolution_due: DateTime<Utc>,
        reason: String,
    },
    ResponseOverdue {
        dispatch: u32,
        due: DateTime<Utc>,
    },
    ResolutionOverdue {
        dispatch: u32,
        due: DateTime<Utc>,
    },
    // resolution
    ResidentContacted {
        unit: Code,
        via: ContactVia,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    ProgressRecorded {
        unit: Code,
        note: String,
    },
    CaseResolved {
        unit: Code,
        outcome: Outcome,
        summary: String,
    },
    FeedbackGiven {
        satisfaction: Satisfaction,
        resolved: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// True when an operator recorded it during a follow-up call (回访).
        by_operator: bool,
    },
    CaseReopened {
        reason: String,
        unit: Code,
        dispatch: u32,
        response_due: DateTime<Utc>,
        resolution_due: DateTime<Utc>,
    },
    CaseClosed {
        reason: String,
        /// Closed by the feedback-window timer rather than by a person.
        automatic: bool,
    },
}

/// The payload schema version written today for each event type. Bump it when a payload
/// changes shape and teach `upcast` the old shape.
pub const fn current_schema_version(event_type: &str) -> u32 {
    // Byte comparison because `str` equality is not const.
    if const_eq(event_type, "ConcernFiled") {
        2
    } else {
        1
    }
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A stored payload that could not be turned back into an event.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode {event_type} v{schema_version}: {reason}")]
pub struct DecodeError {
    pub event_type: String,
    pub schema_version: u32,
    pub reason: String,
}

impl CaseEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::ConcernFiled { .. } => "ConcernFiled",
            Self::ConcernAmended { .. } => "ConcernAmended",
            Self::ConcernWithdrawn { .. } => "ConcernWithdrawn",
            Self::CaseTriaged { .. } => "CaseTriaged",
            Self::CaseDispatched { .. } => "CaseDispatched",
            Self::DispatchAccepted { .. } => "DispatchAccepted",
            Self::DispatchReturned { .. } => "DispatchReturned",
            Self::CaseEscalated { .. } => "CaseEscalated",
            Self::CaseMergedAsDuplicate { .. } => "CaseMergedAsDuplicate",
            Self::ConcernRejected { .. } => "ConcernRejected",
            Self::DeadlineExtended { .. } => "DeadlineExtended",
            Self::ResponseOverdue { .. } => "ResponseOverdue",
            Self::ResolutionOverdue { .. } => "ResolutionOverdue",
            Self::ResidentContacted { .. } => "ResidentContacted",
            Self::ProgressRecorded { .. } => "ProgressRecorded",
            Self::CaseResolved { .. } => "CaseResolved",
            Self::FeedbackGiven { .. } => "FeedbackGiven",
            Self::CaseReopened { .. } => "CaseReopened",
            Self::CaseClosed { .. } => "CaseClosed",
        }
    }

    /// The context that writes this event.
    pub fn context(&self) -> Context {
        match self {
            Self::ConcernFiled { .. }
            | Self::ConcernAmended { .. }
            | Self::ConcernWithdrawn { .. } => Context::Intake,
            Self::CaseTriaged { .. }
            | Self::CaseDispatched { .. }
            | Self::DispatchAccepted { .. }
            | Self::DispatchReturned { .. }
            | Self::CaseEscalated { .. }
            | Self::CaseMergedAsDuplicate { .. }
            | Self::ConcernRejected { .. }
            | Self::DeadlineExtended { .. }
            | Self::ResponseOverdue { .. }
            | Self::ResolutionOverdue { .. } => Context::Assignment,
            Self::ResidentContacted { .. }
            | Self::ProgressRecorded { .. }
            | Self::CaseResolved { .. }
            | Self::FeedbackGiven { .. }
            | Self::CaseReopened { .. }
            | Self::CaseClosed { .. } => Context::Resolution,
        }
    }

    pub fn schema_version(&self) -> u32 {
        current_schema_version(self.event_type())
    }

    /// The payload as stored (without the type tag).
    pub fn to_payload(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.remove("data").unwrap_or(serde_json::Value::Null)
            }
            // Serializing plain data with derived impls cannot fail or change shape.
            _ => unreachable!("CaseEvent serializes to an adjacently tagged object"),
        }
    }

    /// Rebuilds an event from its stored type, schema version and payload text, upcasting
    /// old payloads first.
    pub fn from_stored(
        event_type: &str,
        schema_version: u32,
        payload: &str,
    ) -> Result<Self, DecodeError> {
        let fail = |reason: String| DecodeError {
            event_type: event_type.to_owned(),
            schema_version,
            reason,
        };
        if schema_version == current_schema_version(event_type) {
            // The common case: one parse, no intermediate value. Event type names are
            // plain identifiers, so they need no escaping.
            let tagged = format!(r#"{{"type":"{event_type}","data":{payload}}}"#);
            return serde_json::from_str(&tagged).map_err(|e| fail(e.to_string()));
        }
        let value: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| fail(format!("payload is not JSON: {e}")))?;
        let value = crate::upcast::upcast(event_type, schema_version, value).map_err(fail)?;
        let tagged = serde_json::json!({ "type": event_type, "data": value });
        serde_json::from_value(tagged).map_err(|e| fail(e.to_string()))
    }
}
