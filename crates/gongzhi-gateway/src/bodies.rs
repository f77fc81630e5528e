//! Request bodies of DESIGN §6 and their translation into domain commands. Codes are
//! checked against the directory here; text sizes and the rules are the domain's.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use gongzhi_domain::{
    AreaLevel, AssignmentCommand, CaseId, Channel, Code, Command, Contact, ContactVia, Directory,
    FileConcern, IntakeCommand, Location, Outcome, Priority, Problem, Reporter, ResolutionCommand,
    Satisfaction, TrackingCode,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// A new concern (诉求).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcernBody {
    /// hotline, app, web, walk_in, council_session, enterprise_service, grid_patrol
    #[schema(example = "app")]
    pub channel: String,
    /// A community code from `/api/v1/directory`.
    #[schema(example = "shilong")]
    pub community: String,
    /// A category code from the directory; council members classify it if left out.
    pub category: Option<String>,
    /// At most 200 characters.
    pub title: String,
    /// At most 5,000 characters.
    pub description: String,
    /// At most 200 characters.
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub reporter: Option<ReporterBody>,
    #[serde(default)]
    pub anonymous: bool,
    /// Hides the reporter from the handling unit.
    #[serde(default)]
    pub confidential: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterBody {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

fn one_of<T: Copy>(field: &str, value: &str, options: &[(&str, T)]) -> Result<T, ApiError> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            ApiError::invalid_field(
                field,
                format!("'{value}' is not one of {}", names.join(", ")),
            )
        })
}

pub fn channel(field: &str, value: &str) -> Result<Channel, ApiError> {
    Channel::parse(value).ok_or_else(|| {
        let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        ApiError::invalid_field(
            field,
            format!("'{value}' is not one of {}", names.join(", ")),
        )
    })
}

fn code(field: &'static str, value: &str) -> Result<Code, ApiError> {
    Code::parse(field, value).map_err(ApiError::from)
}

/// A community code known to the directory.
pub fn community(
    directory: &Directory,
    field: &'static str,
    value: &str,
) -> Result<Code, ApiError> {
    let code = code(field, value)?;
    match directory.area(&code) {
        Some(area) if area.level == AreaLevel::Community => Ok(code),
        Some(_) => Err(ApiError::invalid_field(
            field,
            format!("'{value}' is an area but not a community"),
        )),
        None => Err(ApiError::invalid_field(
            field,
            format!("'{value}' is not a community in the directory"),
        )),
    }
}

/// An area code known to the directory (any level).
pub fn area(directory: &Directory, field: &'static str, value: &str) -> Result<Code, ApiError> {
    let code = code(field, value)?;
    directory.area(&code).map(|_| code.clone()).ok_or_else(|| {
        ApiError::invalid_field(field, format!("'{value}' is not an area in the directory"))
    })
}

pub fn category(directory: &Directory, field: &'static str, value: &str) -> Result<Code, ApiError> {
    let code = code(field, value)?;
    directory
        .category(&code)
        .map(|_| code.clone())
        .ok_or_else(|| {
            ApiError::invalid_field(
                field,
                format!("'{value}' is not a category in the directory"),
            )
        })
}

pub fn unit(directory: &Directory, field: &'static str, value: &str) -> Result<Code, ApiError> {
    let code = code(field, value)?;
    directory.unit(&code).map(|_| code.clone()).ok_or_else(|| {
        ApiError::invalid_field(field, format!("'{value}' is not a unit in the directory"))
    })
}

impl ConcernBody {
    /// The FileConcern command, given the identity the gateway made for it.
    pub fn into_command(
        self,
        directory: &Directory,
        tracking_code: TrackingCode,
        secret_digest: String,
    ) -> Result<FileConcern, ApiError> {
        let channel = channel("channel", &self.channel)?;
        let community = community(directory, "community", &self.community)?;
        let category = self
            .category
            .as_deref()
            .map(|value| category(directory, "category", value))
            .transpose()?;
        let location = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some(Location { lat, lon }),
            (None, None) => None,
            _ => return Err(ApiError::invalid_field("lat/lon", "give both or neither")),
        };
        // The domain checks the reporter's fields (phone digits, e-mail, lengths).
        let reporter = self.reporter.map(|r| Reporter {
            name: r.name,
            phone: r.phone,
            email: r.email,
        });
        Ok(FileConcern {
            tracking_code,
            secret_digest,
            channel,
            community,
            category,
            title: self.title,
            description: self.description,
            address: self.address,
            location,
            reporter,
            anonymous: self.anonymous,
            confidential: self.confidential,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageBody {
    pub category: String,
    /// urgent, normal or low
    pub priority: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    pub unit: String,
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateBody {
    /// An area or unit code.
    pub to: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The case id of the primary case.
    pub into: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendDeadlineBody {
    /// A date (`YYYY-MM-DD`, end of that day locally) or an RFC 3339 time.
    pub resolution_due: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// phone, visit or message
    pub via: String,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressBody {
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// resolved, explained or unresolvable
    pub outcome: String,
    pub summary: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// satisfied, basically_satisfied or unsatisfied
    pub satisfaction: String,
    pub resolved: bool,
    pub comment: Option<String>,
    /// Required when the resident rates without a session.
    pub tracking_secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    pub reason: Option<String>,
    /// Required when the resident withdraws without a session.
    pub tracking_secret: Option<String>,
}

/// Parses a JSON body; an empty body reads as `{}`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|error| {
        // serde names a missing field only in its message: "missing field `title` at ...".
        let message = error.to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_owned());
        match (error.classify(), missing) {
            (serde_json::error::Category::Data, Some(field)) => ApiError::Invalid {
                field,
                problem: Problem::Missing,
            },
            (category, _) => parse_error(category, error),
        }
    })
}

fn parse_error(category: serde_json::error::Category, error: serde_json::Error) -> ApiError {
    match category {
        serde_json::error::Category::Data => ApiError::BadRequest {
            code: "invalid_field",
            message: error.to_string(),
        },
        _ => ApiError::BadRequest {
            code: "malformed_json",
            message: format!("the body is not valid JSON: {error}"),
        },
    }
}

/// An action's command, and the tracking secret a resident sent with it.
pub struct Action {
    pub command: Command,
    pub tracking_secret: Option<String>,
    /// For `merge`: the primary case, which must be checked by the caller.
    pub merge_into: Option<CaseId>,
}

impl From<Command> for Action {
    fn from(command: Command) -> Self {
        Self {
            command,
            tracking_secret: None,
            merge_into: None,
        }
    }
}

/// The actions of DESIGN §6 by their path name.
pub const ACTIONS: &[&str] = &[
    "triage",
    "dispatch",
    "accept",
    "return",
    "escalate",
    "merge",
    "reject",
    "extend-deadline",
    "contact",
    "progress",
    "resolve",
    "feedback",
    "reopen",
    "close",
    "withdraw",
];

/// Translates `POST /cases/{id}/{action}` into a command.
pub fn action(
    directory: &Directory,
    offset: chrono::FixedOffset,
    action: &str,
    body: &[u8],
) -> Result<Action, ApiError> {
    use AssignmentCommand as A;
    use ResolutionCommand as R;
    let assignment = |command| Action::from(Command::Assignment(command));
    let resolution = |command| Action::from(Command::Resolution(command));
    Ok(match action {
        "triage" => {
            let body: TriageBody = parse(body)?;
            assignment(A::TriageCase {
                category: category(directory, "category", &body.category)?,
                priority: one_of(
                    "priority",
                    &body.priority,
                    &[
                        ("urgent", Priority::Urgent),
                        ("normal", Priority::Normal),
                        ("low", Priority::Low),
                    ],
                )?,
            })
        }
        "dispatch" => {
            let body: DispatchBody = parse(body)?;
            assignment(A::DispatchCase {
                unit: unit(directory, "unit", &body.unit)?,
                note: body.note,
            })
        }
        "accept" => {
            let EmptyBody {} = parse(body)?;
            assignment(A::AcceptDispatch)
        }
        "return" => {
            let body: ReasonBody = parse(body)?;
            assignment(A::ReturnDispatch {
                reason: body.reason,
            })
        }
        "escalate" => {
            let body: EscalateBody = parse(body)?;
            let to = code("to", &body.to)?;
            if directory.area(&to).is_none() && directory.unit(&to).is_none() {
                return Err(ApiError::invalid_field(
                    "to",
                    format!(
                        "'{}' is neither an area nor a unit in the directory",
                        body.to
                    ),
                ));
            }
            assignment(A::EscalateCase {
                to,
                reason: body.reason,
            })
        }
        "merge" => {
            let body: MergeBody = parse(body)?;
            let into = CaseId::from_uuid(body.into);
            let mut action = assignment(A::MergeDuplicate { into });
            action.merge_into = Some(into);
            action
        }
        "reject" => {
            let body: ReasonBody = parse(body)?;
            assignment(A::RejectConcern {
                reason: body.reason,
            })
        }
        "extend-deadline" => {
            let body: ExtendDeadlineBody = parse(body)?;
            assignment(A::ExtendDeadline {
                resolution_due: instant("resolution_due", &body.resolution_due, offset, true)?,
                reason: body.reason,
            })
        }
        "contact" => {
            let body: ContactBody = parse(body)?;
            resolution(R::RecordContact(Contact {
                via: one_of(
                    "via",
                    &body.via,
                    &[
                        ("phone", ContactVia::Phone),
                        ("visit", ContactVia::Visit),
                        ("message", ContactVia::Message),
                    ],
                )?,
                note: body.note,
            }))
        }
        "progress" => {
            let body: ProgressBody = parse(body)?;
            resolution(R::RecordProgress { note: body.note })
        }
        "resolve" => {
            let body: ResolveBody = parse(body)?;
            resolution(R::ResolveCase {
                outcome: one_of(
                    "outcome",
                    &body.outcome,
                    &[
                        ("resolved", Outcome::Resolved),
                        ("explained", Outcome::Explained),
                        ("unresolvable", Outcome::Unresolvable),
                    ],
                )?,
                summary: body.summary,
            })
        }
        "feedback" => {
            let body: FeedbackBody = parse(body)?;
            let mut action = resolution(R::GiveFeedback {
                satisfaction: one_of(
                    "satisfaction",
                    &body.satisfaction,
                    &[
                        ("satisfied", Satisfaction::Satisfied),
                        ("basically_satisfied", Satisfaction::BasicallySatisfied),
                        ("unsatisfied", Satisfaction::Unsatisfied),
                    ],
                )?,
                resolved: body.resolved,
                comment: body.comment,
            });
            action.tracking_secret = body.tracking_secret;
            action
        }
        "reopen" => {
            let body: ReasonBody = parse(body)?;
            resolution(R::ReopenCase {
                reason: body.reason,
            })
        }
        "close" => {
            let body: ReasonBody = parse(body)?;
            resolution(R::CloseCase {
                reason: body.reason,
            })
        }
        "withdraw" => {
            let body: WithdrawBody = parse(body)?;
            Action {
                command: Command::Intake(IntakeCommand::WithdrawConcern {
                    reason: body.reason,
                }),
                tracking_secret: body.tracking_secret,
                merge_into: None,
            }
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no action '{other}'; actions are {}",
                ACTIONS.join(", ")
            )));
        }
    })
}

/// A date (`YYYY-MM-DD`, local) or an RFC 3339 time. A date means its start, or its end
/// when `end_of_day`.
pub fn instant(
    field: &str,
    value: &str,
    offset: chrono::FixedOffset,
    end_of_day: bool,
) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::invalid_field(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time")
    })?;
    let time = if end_of_day {
        date.and_hms_opt(23, 59, 59)
    } else {
        date.and_hms_opt(0, 0, 0)
    };
    time.and_then(|t| t.and_local_timezone(offset).single())
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid_field(field, "is not a time that exists"))
}

/// The local date a `from`/`to` value names, between the years 2000 and 2200.
pub fn local_date(
    field: &str,
    value: &str,
    offset: chrono::FixedOffset,
) -> Result<NaiveDate, ApiError> {
    let date = match DateTime::parse_from_rfc3339(value) {
        Ok(at) => at.with_timezone(&offset).date_naive(),
        Err(_) => NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
            ApiError::invalid_field(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time")
        })?,
    };
    if !(2000..=2200).contains(&date.year()) {
        return Err(ApiError::invalid_field(
            field,
            "must lie between the years 2000 and 2200",
        ));
    }
    Ok(date)
}
