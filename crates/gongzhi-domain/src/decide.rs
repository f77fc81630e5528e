//! `decide`: the rules of DESIGN §3. Given what a context knows of a case, who asks and
//! what they ask, it returns the events to append or says why not. Pure: time, policy and
//! calendar come in through `Rules`.

use chrono::{DateTime, Utc};

use crate::actor::{Actor, Role};
use crate::calendar::Calendar;
use crate::case::{Case, Dispatch, Status};
use crate::command::{
    AssignmentCommand, Command, Contact, FileConcern, IntakeCommand, ResolutionCommand,
};
use crate::error::{DomainError, Problem};
use crate::event::{CaseEvent, Channel, Reporter};
use crate::sla::SlaPolicy;
use crate::validate::{DESCRIPTION_MAX, NOTE_MAX, SHORT_MAX, TITLE_MAX, optional, required};

/// What a decision may depend on besides the case and the command.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub now: DateTime<Utc>,
    pub sla: &'a SlaPolicy,
    pub calendar: &'a Calendar,
}

type Decision = Result<Vec<CaseEvent>, DomainError>;

/// Decides a command against a case. An empty list means "nothing to do" (timers).
pub fn decide(case: &Case, actor: &Actor, command: &Command, rules: &Rules<'_>) -> Decision {
    let action = command.action();
    if let Command::Intake(IntakeCommand::FileConcern(filing)) = command {
        return file_concern(case, actor, filing, rules);
    }
    let status = case.status.ok_or(DomainError::NotFiled)?;
    if status.is_final() {
        return Err(DomainError::WrongState { action, status });
    }
    let guard = Guard {
        case,
        actor,
        action,
        status,
    };
    match command {
        Command::Intake(command) => intake(&guard, command),
        Command::Assignment(command) => assignment(&guard, command, rules),
        Command::Resolution(command) => resolution(&guard, command, rules),
    }
}

/// Checks shared by every command on a filed case. Who may act is checked before when:
/// a role that may never take an action hears 403, not a state it could not change anyway.
struct Guard<'a> {
    case: &'a Case,
    actor: &'a Actor,
    action: &'static str,
    status: Status,
}

impl Guard<'_> {
    fn status_in(&self, allowed: &[Status]) -> Result<(), DomainError> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(DomainError::WrongState {
                action: self.action,
                status: self.status,
            })
        }
    }

    fn role_in(&self, allowed: &[Role], resident: bool) -> Result<(), DomainError> {
        let ok = match self.actor {
            Actor::Resident => resident,
            Actor::Staff { role, .. } => allowed.contains(role),
            Actor::System => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.not_permitted())
        }
    }

    fn system_only(&self) -> Result<(), DomainError> {
        match self.actor {
            Actor::System => Ok(()),
            _ => Err(self.not_permitted()),
        }
    }

    fn not_permitted(&self) -> DomainError {
        let role = match self.actor {
            Actor::Resident => "a resident".into(),
            Actor::Staff { role, .. } => format!("the {} role", role_name(*role)).into(),
            Actor::System => "the system".into(),
        };
        DomainError::NotPermitted {
            action: self.action,
            role,
        }
    }

    /// Only the unit holding the case may act on it as a handler.
    fn holder(&self) -> Result<&Dispatch, DomainError> {
        let dispatch = self.case.dispatch.as_ref().ok_or(DomainError::WrongState {
            action: self.action,
            status: self.status,
        })?;
        if !self.actor.has_role(&[Role::Handler]) {
            return Err(self.not_permitted());
        }
        if self.actor.unit() != Some(&dispatch.unit) {
            return Err(DomainError::rule(format!(
                "only the handling unit {} may {} this case",
                dispatch.unit, self.action
            )));
        }
        Ok(dispatch)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Operator => "operator",
        Role::Council => "council",
        Role::Handler => "handler",
        Role::Leader => "leader",
        Role::Admin => "admin",
    }
}

const TRIAGERS: &[Role] = &[Role::Council, Role::Admin];
const OPEN: &[Status] = &[
    Status::Filed,
    Status::Triaged,
    Status::Dispatched,
    Status::InProgress,
];

fn file_concern(case: &Case, actor: &Actor, filing: &FileConcern, rules: &Rules<'_>) -> Decision {
    if case.status.is_some() {
        return Err(DomainError::AlreadyFiled);
    }
    let resident_channel = matches!(filing.channel, Channel::App | Channel::Web);
    let permitted = match actor {
        Actor::Resident => resident_channel,
        Actor::Staff { role, .. } => matches!(role, Role::Operator | Role::Council | Role::Admin),
        Actor::System => false,
    };
    if !permitted {
        return Err(match actor {
            Actor::Resident => DomainError::rule(
                "residents file through the app or web form; other channels are recorded by staff",
            ),
            _ => DomainError::NotPermitted {
                action: "file",
                role: "this role".into(),
            },
        });
    }
    if filing.anonymous && filing.reporter.as_ref().is_some_and(|r| r.name.is_some()) {
        return Err(DomainError::invalid(
            "reporter.name",
            Problem::NameWhenAnonymous,
        ));
    }
    if filing.secret_digest.len() != 64
        || !filing.secret_digest.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(DomainError::invalid(
            "secret_digest",
            "must be 64 hex digits",
        ));
    }
    if let Some(location) = filing.location {
        let valid =
            (-90.0..=90.0).contains(&location.lat) && (-180.0..=180.0).contains(&location.lon);
        if !valid {
            return Err(DomainError::invalid("lat/lon", "must be a point on Earth"));
        }
    }
    Ok(vec![CaseEvent::ConcernFiled {
        tracking_code: filing.tracking_code.clone(),
        secret_digest: filing.secret_digest.to_ascii_lowercase(),
        channel: filing.channel,
        community: filing.community.clone(),
        category: filing.category.clone(),
        title: required("title", &filing.title, TITLE_MAX)?,
        description: required("description", &filing.description, DESCRIPTION_MAX)?,
        address: optional("address", filing.address.as_deref(), SHORT_MAX)?,
        location: filing.location,
        reporter: reporter(filing.reporter.as_ref())?,
        anonymous: filing.anonymous,
        confidential: filing.confidential,
        filed_at: rules.now,
    }])
}

fn reporter(reporter: Option<&Reporter>) -> Result<Option<Reporter>, DomainError> {
    let Some(reporter) = reporter else {
        return Ok(None);
    };
    let phone = optional("reporter.phone", reporter.phone.as_deref(), 20)?;
    if let Some(phone) = &phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || "+- ".contains(c));
        if !allowed || !(5..=15).contains(&digits) {
            return Err(DomainError::invalid("reporter.phone", Problem::Phone));
        }
    }
    let email = optional("reporter.email", reporter.email.as_deref(), 100)?;
    if email.as_ref().is_some_and(|e| !e.contains('@')) {
        return Err(DomainError::invalid("reporter.email", Problem::Email));
    }
    let reporter = Reporter {
        name: optional("reporter.name", reporter.name.as_deref(), 50)?,
        phone,
        email,
    };
    Ok((reporter != Reporter::default()).then_some(reporter))
}

fn intake(guard: &Guard<'_>, command: &IntakeCommand) -> Decision {
    match command {
        IntakeCommand::FileConcern(_) => unreachable!("filing is decided before the guard"),
        IntakeCommand::AmendConcern {
            title,
            description,
            address,
        } => {
            guard.role_in(&[Role::Operator, Role::Council, Role::Admin], true)?;
            guard.status_in(OPEN)?;
            let title = optional("title", title.as_deref(), TITLE_MAX)?;
            let description = optional("description", description.as_deref(), DESCRIPTION_MAX)?;
            let address = optional("address", address.as_deref(), SHORT_MAX)?;
            if title.is_none() && description.is_none() && address.is_none() {
                return Err(DomainError::invalid(
                    "amendment",
                    "give at least one of title, description or address",
                ));
            }
            Ok(vec![CaseEvent::ConcernAmended {
                title,
                description,
                address,
            }])
        }
        IntakeCommand::WithdrawConcern { reason } => {
            guard.role_in(&[Role::Operator], true)?;
            guard.status_in(OPEN)?;
            Ok(vec![CaseEvent::ConcernWithdrawn {
                reason: optional("reason", reason.as_deref(), NOTE_MAX)?,
            }])
        }
    }
}

fn assignment(guard: &Guard<'_>, command: &AssignmentCommand, rules: &Rules<'_>) -> Decision {
    let case = guard.case;
    match command {
        AssignmentCommand::TriageCase { category, priority } => {
            guard.role_in(TRIAGERS, false)?;
            guard.status_in(&[Status::Filed, Status::Triaged])?;
            Ok(vec![CaseEvent::CaseTriaged {
                category: category.clone(),
                priority: *priority,
            }])
        }
        AssignmentCommand::DispatchCase { unit, note } => {
            guard.role_in(TRIAGERS, false)?;
            if guard.status == Status::Filed {
                return Err(DomainError::rule(
                    "triage the case (category and priority) before dispatching it",
                ));
            }
            // One unit at a time: a case with a unit must come back before it goes again.
            guard.status_in(&[Status::Triaged])?;
            let priority = case
                .priority
                .ok_or(DomainError::rule("the case has no priority"))?;
            let deadlines =
                rules
                    .sla
                    .deadlines(case.category.as_ref(), priority, rules.now, rules.calendar);
            Ok(vec![CaseEvent::CaseDispatched {
                unit: unit.clone(),
                dispatch: case.dispatches + 1,
                note: optional("note", note.as_deref(), NOTE_MAX)?,
                response_due: deadlines.response_due,
                resolution_due: deadlines.resolution_due,
            }])
        }
        AssignmentCommand::AcceptDispatch => {
            guard.status_in(&[Status::Dispatched])?;
            let dispatch = guard.holder()?;
            Ok(vec![CaseEvent::DispatchAccepted {
                unit: dispatch.unit.clone(),
            }])
        }
        AssignmentCommand::ReturnDispatch { reason } => {
            guard.status_in(&[Status::Dispatched, Status::InProgress])?;
            let dispatch = guard.holder()?;
            Ok(vec![CaseEvent::DispatchReturned {
                unit: dispatch.unit.clone(),
                reason: required("reason", reason, NOTE_MAX)?,
            }])
        }
        AssignmentCommand::EscalateCase { to, reason } => {
            guard.status_in(OPEN)?;
            if guard.actor.has_role(&[Role::Handler]) {
                guard.holder()?;
            } else {
                guard.role_in(TRIAGERS, false)?;
            }
            Ok(vec![CaseEvent::CaseEscalated {
                to: to.clone(),
                reason: required("reason", reason, NOTE_MAX)?,
            }])
        }
        AssignmentCommand::MergeDuplicate { into } => {
            guard.role_in(TRIAGERS, false)?;
            guard.status_in(&[Status::Filed, Status::Triaged])?;
            if *into == case.id {
                return Err(DomainError::rule("a case cannot be merged into itself"));
            }
            Ok(vec![CaseEvent::CaseMergedAsDuplicate { into: *into }])
        }
        AssignmentCommand::RejectConcern { reason } => {
            guard.role_in(TRIAGERS, false)?;
            guard.status_in(&[Status::Filed, Status::Triaged])?;
            Ok(vec![CaseEvent::ConcernRejected {
                reason: required("reason", reason, NOTE_MAX)?,
            }])
        }
        AssignmentCommand::ExtendDeadline {
            resolution_due,
            reason,
        } => {
            guard.role_in(TRIAGERS, false)?;
            guard.status_in(&[Status::Dispatched, Status::InProgress])?;
            let current = case.dispatch.as_ref().map(|d| d.resolution_due);
            if current.is_some_and(|current| *resolution_due <= current) {
                return Err(DomainError::rule(
                    "an extension must move the resolution deadline later",
                ));
            }
            Ok(vec![CaseEvent::DeadlineExtended {
                resolution_due: *resolution_due,
                reason: required("reason", reason, NOTE_MAX)?,
            }])
        }
        AssignmentCommand::CheckDeadlines => {
            guard.system_only()?;
            Ok(overdue(case, rules.now))
        }
    }
}

/// ResponseOverdue and ResolutionOverdue, each at most once per dispatch, also when the
/// timer runs late (after a restart): a contact or resolution after the deadline still
/// counts as late.
fn overdue(case: &Case, now: DateTime<Utc>) -> Vec<CaseEvent> {
    let Some(dispatch) = &case.dispatch else {
        return Vec::new();
    };
    let mut events = Vec::new();
    let late = |done: Option<DateTime<Utc>>, due: DateTime<Utc>| {
        now >= due && done.is_none_or(|done| done > due)
    };
    if !dispatch.response_overdue_recorded && late(dispatch.contacted_at, dispatch.response_due) {
        events.push(CaseEvent::ResponseOverdue {
            dispatch: dispatch.number,
            due: dispatch.response_due,
        });
    }
    if !dispatch.resolution_overdue_recorded && late(dispatch.resolved_at, dispatch.resolution_due)
    {
        events.push(CaseEvent::ResolutionOverdue {
            dispatch: dispatch.number,
            due: dispatch.resolution_due,
        });
    }
    events
}

fn resolution(guard: &Guard<'_>, command: &ResolutionCommand, rules: &Rules<'_>) -> Decision {
    let case = guard.case;
    match command {
        ResolutionCommand::RecordContact(Contact { via, note }) => {
            guard.status_in(&[Status::InProgress])?;
            let dispatch = guard.holder()?;
            Ok(vec![CaseEvent::ResidentContacted {
                unit: dispatch.unit.clone(),
                via: *via,
                note: optional("note", note.as_deref(), NOTE_MAX)?,
            }])
        }
        ResolutionCommand::RecordProgress { note } => {
            guard.status_in(&[Status::InProgress])?;
            let dispatch = guard.holder()?;
            Ok(vec![CaseEvent::ProgressRecorded {
                unit: dispatch.unit.clone(),
                note: required("note", note, NOTE_MAX)?,
            }])
        }
        ResolutionCommand::ResolveCase { outcome, summary } => {
            guard.status_in(&[Status::InProgress])?;
            let dispatch = guard.holder()?;
            Ok(vec![CaseEvent::CaseResolved {
                unit: dispatch.unit.clone(),
                outcome: *outcome,
                summary: required("summary", summary, NOTE_MAX)?,
            }])
        }
        ResolutionCommand::GiveFeedback {
            satisfaction,
            resolved,
            comment,
        } => {
            guard.status_in(&[Status::Resolved])?;
            // Only the resident, or an operator recording a follow-up call, rates a case.
            guard.role_in(&[Role::Operator], true)?;
            if case.feedback.is_some() {
                return Err(DomainError::rule(
                    "feedback has already been given for this resolution",
                ));
            }
            Ok(vec![CaseEvent::FeedbackGiven {
                satisfaction: *satisfaction,
                resolved: *resolved,
                comment: optional("comment", comment.as_deref(), NOTE_MAX)?,
                by_operator: matches!(guard.actor, Actor::Staff { .. }),
            }])
        }
        ResolutionCommand::ReopenCase { reason } => {
            guard.role_in(&[Role::Operator, Role::Council, Role::Admin], true)?;
            guard.status_in(&[Status::Resolved])?;
            let unsatisfied = case
                .feedback
                .is_some_and(|(satisfaction, _)| !satisfaction.is_satisfied());
            if !unsatisfied {
                return Err(DomainError::rule(
                    "only a case rated unsatisfied may be reopened",
                ));
            }
            let dispatch = case.dispatch.as_ref().ok_or(DomainError::rule(
                "the case has no handling unit to reopen it to",
            ))?;
            let priority = case
                .priority
                .ok_or(DomainError::rule("the case has no priority"))?;
            let deadlines =
                rules
                    .sla
                    .deadlines(case.category.as_ref(), priority, rules.now, rules.calendar);
            Ok(vec![CaseEvent::CaseReopened {
                reason: required("reason", reason, NOTE_MAX)?,
                unit: dispatch.unit.clone(),
                dispatch: case.dispatches + 1,
                response_due: deadlines.response_due,
                resolution_due: deadlines.resolution_due,
            }])
        }
        ResolutionCommand::CloseCase { reason } => {
            guard.role_in(&[Role::Operator, Role::Council, Role::Admin], false)?;
            guard.status_in(&[Status::Resolved])?;
            Ok(vec![CaseEvent::CaseClosed {
                reason: required("reason", reason, NOTE_MAX)?,
                automatic: false,
            }])
        }
        ResolutionCommand::CheckFeedbackWindow => {
            guard.system_only()?;
            let window_passed = case
                .resolved_at
                .is_some_and(|at| rules.now >= rules.sla.feedback_window.after(at, rules.calendar));
            Ok(if guard.status == Status::Resolved && window_passed {
                vec![CaseEvent::CaseClosed {
                    reason: format!(
                        "feedback window of {} passed / 评价期已过",
                        rules.sla.feedback_window
                    ),
                    automatic: true,
                }]
            } else {
                Vec::new()
            })
        }
    }
}
