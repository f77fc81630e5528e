//! SLA policy (DESIGN §3): contact and resolution deadlines by priority and category,
//! counted in hours, days or working days, loaded from an admin-editable data file.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::calendar::Calendar;
use crate::event::Priority;
use crate::ids::Code;

#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    #[error("SLA policy file is not valid TOML")]
    Syntax(#[from] toml::de::Error),
    #[error("SLA policy has no rule for class {0}")]
    MissingClass(&'static str),
}

/// A length of time as the policy states it: `2h`, `1d` (24 hours) or `13wd` (working days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Hours(u32),
    Days(u32),
    WorkingDays(u32),
}

impl Span {
    /// The instant this span after `start` ends.
    pub fn after(self, start: DateTime<Utc>, calendar: &Calendar) -> DateTime<Utc> {
        match self {
            Self::Hours(hours) => start + Duration::hours(i64::from(hours)),
            Self::Days(days) => start + Duration::days(i64::from(days)),
            Self::WorkingDays(days) => calendar.add_working_days(start, days),
        }
    }
}

impl FromStr for Span {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("'{text}' has no unit (h, d or wd)"))?;
        let (number, unit) = text.split_at(split);
        let number: u32 = number
            .parse()
            .map_err(|_| format!("'{text}' does not start with a whole number"))?;
        match unit {
            "h" => Ok(Self::Hours(number)),
            "d" => Ok(Self::Days(number)),
            "wd" => Ok(Self::WorkingDays(number)),
            _ => Err(format!("'{text}': unit must be h, d or wd")),
        }
    }
}

impl TryFrom<String> for Span {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hours(n) => write!(f, "{n}h"),
            Self::Days(n) => write!(f, "{n}d"),
            Self::WorkingDays(n) => write!(f, "{n}wd"),
        }
    }
}

/// The two clocks started by a dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    pub response: Span,
    pub resolution: Span,
}

/// What kind of concern a category is, for its default SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaClass {
    Complaint,
    Consultation,
    HelpRequest,
}

impl SlaClass {
    fn as_str(self) -> &'static str {
        match self {
            Self::Complaint => "complaint",
            Self::Consultation => "consultation",
            Self::HelpRequest => "help_request",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryRule {
    class: SlaClass,
    #[serde(default)]
    priority: BTreeMap<Priority, Sla>,
}

/// Deadlines computed at dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
}

/// The whole policy. Lookup order: a category's own rule for the priority, then the urgent
/// rule for urgent cases, then the rule of the category's class.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub feedback_window: Span,
    default_class: SlaClass,
    urgent: Sla,
    class: BTreeMap<SlaClass, Sla>,
    #[serde(default)]
    category: BTreeMap<Code, CategoryRule>,
}

impl SlaPolicy {
    pub fn from_toml(text: &str) -> Result<Self, SlaError> {
        let policy: Self = toml::from_str(text)?;
        for class in [
            SlaClass::Complaint,
            SlaClass::Consultation,
            SlaClass::HelpRequest,
        ] {
            if !policy.class.contains_key(&class) {
                return Err(SlaError::MissingClass(class.as_str()));
            }
        }
        Ok(policy)
    }

    /// The rule that applies to a case of `category` (if classified) at `priority`.
    pub fn rule(&self, category: Option<&Code>, priority: Priority) -> Sla {
        let category_rule = category.and_then(|code| self.category.get(code));
        if let Some(sla) = category_rule.and_then(|rule| rule.priority.get(&priority)) {
            return *sla;
        }
        if priority == Priority::Urgent {
            return self.urgent;
        }
        let class = category_rule.map_or(self.default_class, |rule| rule.class);
        self.class[&class]
    }

    /// Deadlines for a dispatch at `dispatched_at`: the SLA clock starts at dispatch, not at
    /// acceptance.
    pub fn deadlines(
        &self,
        category: Option<&Code>,
        priority: Priority,
        dispatched_at: DateTime<Utc>,
        calendar: &Calendar,
    ) -> Deadlines {
        let sla = self.rule(category, priority);
        Deadlines {
            response_due: sla.response.after(dispatched_at, calendar),
            resolution_due: sla.resolution.after(dispatched_at, calendar),
        }
    }
}
