//! The case lifecycle of DESIGN §3 as pure functions: `decide(case, actor, command, rules)`
//! turns a command into events and `Case::evolve` folds events into state.
//!
//! This crate does no I/O and knows nothing of tokio, sqlx or NATS. Data files (calendar,
//! SLA policy) are parsed from text handed in by the caller.

mod actor;
mod calendar;
mod case;
mod command;
mod decide;
mod directory;
mod error;
mod event;
mod ids;
mod sla;
mod upcast;
mod validate;

#[cfg(test)]
mod tests;

pub use actor::{Actor, Role};
pub use calendar::{Calendar, CalendarError};
pub use case::{Case, Dispatch, Status};
pub use command::{
    AssignmentCommand, Command, Contact, FileConcern, IntakeCommand, ResolutionCommand,
};
pub use decide::{Rules, decide};
pub use directory::{Area, AreaLevel, Category, CategoryKind, Directory, DirectoryError, Unit};
pub use error::{DomainError, Problem};
pub use event::{
    CaseEvent, Channel, ContactVia, Context, DecodeError, Location, Outcome, Priority, Reporter,
    Satisfaction,
};
pub use ids::{CaseId, Code, TrackingCode};
pub use sla::{Deadlines, Sla, SlaClass, SlaError, SlaPolicy, Span};
pub use upcast::upcast;
