//! Command handling: load a case's stream, fold it, `decide`, append with the version it
//! was decided on. Idempotency keys make retries safe; the expected version makes
//! concurrent commands on one case conflict instead of both winning.
//!
//! Each context (intake, assignment, resolution) is a [`CaseService`] over its own store;
//! [`Inbox`]es carry each context's events to the others and to the projector's replica,
//! in causal order ([`Seen`]). [`ContextServices`] puts the three behind [`Commands`], the
//! door the gateway uses; [`Timers`] drive the deadline and feedback-window checks.

mod causal;
mod clock;
mod commands;
mod data;
mod error;
mod filing;
pub mod history;
mod inbox;
mod service;
mod services;
mod timers;

pub use causal::{Readiness, Seen};
pub use clock::{Clock, FileClock, ManualClock, SystemClock};
pub use commands::{BoxFuture, Commands, HistoryEntry};
pub use data::{DataError, DataFiles};
pub use error::{CommandError, Refusal, RefusalKind};
pub use filing::{Filing, SecretKey, secret_digest};
pub use inbox::{Delivered, Feed, Inbox, StoreFeed};
pub use service::{CaseService, CommandOutcome, Policy, RequestMeta};
pub use services::{ContextServices, Stores};
pub use timers::{TickReport, Timers};
