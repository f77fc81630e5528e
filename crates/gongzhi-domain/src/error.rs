//! Why the domain refused a command.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::case::Status;

/// A refused command. Nothing is written for any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field is malformed: the HTTP layer answers 400.
    #[error("invalid {field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: Problem,
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
    pub fn invalid(field: &'static str, problem: impl Into<Problem>) -> Self {
        Self::Invalid {
            field,
            problem: problem.into(),
        }
    }

    pub fn rule(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Rule(reason.into())
    }
}

/// What is wrong with a field. The common problems are named, so a form can say them in
/// the reader's language; `Display` is the English the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    #[error("is required")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacters,
    #[error("must be 5-15 digits, optionally with +, - or spaces")]
    Phone,
    #[error("must contain @")]
    Email,
    #[error("must be empty for an anonymous concern")]
    NameWhenAnonymous,
    #[error("{0}")]
    Other(Cow<'static, str>),
}

impl From<&'static str> for Problem {
    fn from(text: &'static str) -> Self {
        Self::Other(Cow::Borrowed(text))
    }
}

impl From<String> for Problem {
    fn from(text: String) -> Self {
        Self::Other(Cow::Owned(text))
    }
}
