//! Who issues a command. Area scoping is the gateway's job; the domain checks role and
//! which unit holds the case.

use serde::{Deserialize, Serialize};

use crate::ids::Code;

/// The five staff roles of DESIGN §7. Residents need no account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Council,
    Handler,
    Leader,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Operator,
        Self::Council,
        Self::Handler,
        Self::Leader,
        Self::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Council => "council",
            Self::Handler => "handler",
            Self::Leader => "leader",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == value)
    }
}

/// The author of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A resident who proved the case's tracking secret (or is filing a new concern).
    Resident,
    /// A signed-in member of staff; `unit` is set for handlers.
    Staff {
        username: String,
        role: Role,
        unit: Option<Code>,
    },
    /// The services themselves: deadline timers and the feedback-window auto-close.
    System,
}

impl Actor {
    pub fn staff(username: &str, role: Role, unit: Option<Code>) -> Self {
        Self::Staff {
            username: username.to_owned(),
            role,
            unit,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Staff { role, .. } => Some(*role),
            _ => None,
        }
    }

    pub fn has_role(&self, wanted: &[Role]) -> bool {
        self.role().is_some_and(|role| wanted.contains(&role))
    }

    /// The unit a handler works for.
    pub fn unit(&self) -> Option<&Code> {
        match self {
            Self::Staff { unit, .. } => unit.as_ref(),
            _ => None,
        }
    }

    /// A short label for event metadata and logs.
    pub fn label(&self) -> String {
        match self {
            Self::Resident => "resident".to_owned(),
            Self::Staff { username, .. } => username.clone(),
            Self::System => "system".to_owned(),
        }
    }
}
