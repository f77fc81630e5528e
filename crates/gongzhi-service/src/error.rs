//! Why a command was not carried out.

use gongzhi_domain::{DecodeError, DomainError, Problem};
use gongzhi_store::{Position, StoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused; nothing was written.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The case changed since the caller (or this service) read it (HTTP 409).
    #[error("case {case_id} is at version {actual}, not {expected}: reload and retry")]
    VersionConflict {
        case_id: Uuid,
        expected: u64,
        actual: u64,
    },
    /// A stored event could not be read back; reported with where it is.
    #[error("event at position {position} in stream {stream_id} cannot be decoded")]
    Decode {
        position: Position,
        stream_id: Uuid,
        #[source]
        source: DecodeError,
    },
    /// The idempotency key was already used for a different case (HTTP 422).
    #[error("idempotency key '{key}' was already used for another request")]
    IdempotencyKeyReused { key: String },
    /// A resident acted on a case without its tracking secret, or with a wrong one.
    #[error("the tracking secret does not match this case")]
    SecretMismatch,
    /// The case is not known (to this context, after waiting for it).
    #[error("case {0} not found")]
    NotFound(Uuid),
    /// A command reached a context that does not handle it (a wiring fault: HTTP 500).
    #[error("{action} is not handled by the {context} service")]
    Misrouted {
        action: &'static str,
        context: &'static str,
    },
    /// The service that handles the command did not answer in time (HTTP 503); the
    /// idempotency key makes a retry safe.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A service in another process refused or failed; its kind and words came back.
    #[error("{}", .0.message)]
    Remote(Refusal),
}

impl CommandError {
    /// A refusal that says nothing is wrong with the service: the case moved, the domain
    /// said no, or the context is still catching up. Worth trying again later.
    pub fn passes(&self) -> bool {
        match self {
            Self::VersionConflict { .. } | Self::Domain(_) | Self::Unavailable(_) => true,
            Self::Remote(refusal) => refusal.kind != RefusalKind::Internal,
            _ => false,
        }
    }
}

/// A command error as it travels back from a service in another process: enough for the
/// caller to answer with the same status, words and field as the service itself would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    Invalid,
    WrongState,
    NotFiled,
    AlreadyFiled,
    NotPermitted,
    Rule,
    VersionConflict,
    IdempotencyKeyReused,
    SecretMismatch,
    NotFound,
    Unavailable,
    /// Decode, store and wiring faults: the cause stays in the service's log.
    Internal,
}

impl From<&CommandError> for Refusal {
    fn from(error: &CommandError) -> Self {
        let (kind, field, problem) = match error {
            CommandError::Domain(domain) => match domain {
                DomainError::Invalid { field, problem } => (
                    RefusalKind::Invalid,
                    Some((*field).to_owned()),
                    Some(problem.clone()),
                ),
                DomainError::WrongState { .. } => (RefusalKind::WrongState, None, None),
                DomainError::NotFiled => (RefusalKind::NotFiled, None, None),
                DomainError::AlreadyFiled => (RefusalKind::AlreadyFiled, None, None),
                DomainError::NotPermitted { .. } => (RefusalKind::NotPermitted, None, None),
                DomainError::Rule(_) => (RefusalKind::Rule, None, None),
            },
            CommandError::VersionConflict { .. } => (RefusalKind::VersionConflict, None, None),
            CommandError::IdempotencyKeyReused { .. } => {
                (RefusalKind::IdempotencyKeyReused, None, None)
            }
            CommandError::SecretMismatch => (RefusalKind::SecretMismatch, None, None),
            CommandError::NotFound(_) => (RefusalKind::NotFound, None, None),
            CommandError::Unavailable(_) => (RefusalKind::Unavailable, None, None),
            CommandError::Remote(refusal) => return refusal.clone(),
            CommandError::Decode { .. }
            | CommandError::Store(_)
            | CommandError::Misrouted { .. } => (RefusalKind::Internal, None, None),
        };
        let message = match kind {
            RefusalKind::Internal => "the service failed; the cause is in its log".to_owned(),
            RefusalKind::Invalid => match (&field, &problem) {
                (Some(field), Some(problem)) => format!("invalid {field}: {problem}"),
                _ => error.to_string(),
            },
            _ => error.to_string(),
        };
        Self {
            kind,
            message,
            field,
            problem,
        }
    }
}
