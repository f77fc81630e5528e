//! Why the domain refused a command.

use std::borrow::Cow;

use crate::case::Status;

/// A refused command. Nothing is written for any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field is malformed: the HTTP layer answers 400.
    #[error("invalid {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: Cow<'static, str>,
    },
    /// The command does not fit the case's current status: 409.
    #[error("cannot {action} a case that is {status}")]
    WrongState {
        action: &'static str,
        status: Status,
    },
    /// The case has not been filed (in this context's knowledge): 404.
    #[error("no concern has been filed under this case id")]
    NotFiled,
    /// A second filing under the same case id: 409.
    #[error("this case has already been filed")]
    AlreadyFiled,
    /// The actor's role may not do this: 403.
    #[error("{role} may not {action}")]
    NotPermitted {
        action: &'static str,
        role: Cow<'static, str>,
    },
    /// A business rule refuses it: 422.
    #[error("{0}")]
    Rule(Cow<'static, str>),
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub fn rule(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Rule(reason.into())
    }
}
