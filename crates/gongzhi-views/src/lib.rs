//! Read models (DESIGN §4, §6) kept current by projection: the case summary and the daily
//! statistics rows. The projection itself is pure ([`project`]); [`ViewStore`] persists its
//! results with the projector's checkpoint in the same transaction, and [`Projector`]
//! follows an event store and can rebuild every view from position zero.

mod error;
mod projection;
mod projector;
mod query;
mod stats;
mod store;
mod summary;

pub use error::ProjectionError;
pub use projection::{Batch, project};
pub use projector::{Applied, Progress, Projector};
pub use query::{CaseFilter, CurrentCounts, GroupBy, ListOrder, StatsQuery};
pub use stats::{
    CONTACT_HOURS, Current, CurrentKey, RESOLVE_HOURS, StatCounts, StatKey, bucket_median,
};
pub use store::{ViewContents, ViewStore};
pub use summary::CaseSummary;
