//! Why a command was not carried out.

use gongzhi_domain::{DecodeError, DomainError};
use gongzhi_store::{Position, StoreError};
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
}
