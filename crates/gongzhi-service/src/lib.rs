//! Command handling: load a case's stream, fold it, `decide`, append with the version it
//! was decided on. Idempotency keys make retries safe; the expected version makes
//! concurrent commands on one case conflict instead of both winning.

mod clock;
mod commands;
mod data;
mod error;
mod filing;
pub mod history;
mod service;
mod timers;

pub use clock::{Clock, ManualClock, SystemClock};
pub use commands::{BoxFuture, Commands, HistoryEntry};
pub use data::{DataError, DataFiles};
pub use error::CommandError;
pub use filing::{Filing, SecretKey, secret_digest};
pub use service::{CaseService, CommandOutcome, Policy, RequestMeta};
pub use timers::{TickReport, Timers};
