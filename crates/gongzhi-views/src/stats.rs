//! Daily statistics rows: counters per local day x community x category x channel x unit.

use std::collections::HashMap;
use std::ops::AddAssign;

use serde::Serialize;

/// The dimensions of a statistics row. Empty strings stand for "none" (no category yet,
/// no unit involved), so the key is total and indexable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StatKey {
    pub day: String,
    pub community: String,
    pub category: String,
    pub channel: String,
    pub unit: String,
}

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// The counters of one statistics row (or of a sum of rows).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
        pub struct StatCounts {
            $(pub $name: i64,)*
        }

        impl StatCounts {
            /// Column names, in the order of [`StatCounts::values`].
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($name)),*];

            pub fn values(&self) -> Vec<i64> {
                vec![$(self.$name),*]
            }

            pub fn from_values(values: &[i64]) -> Self {
                let mut values = values.iter().copied();
                Self { $($name: values.next().unwrap_or(0),)* }
            }
        }

        impl AddAssign for StatCounts {
            fn add_assign(&mut self, other: Self) {
                $(self.$name += other.$name;)*
            }
        }
    };
}

counters!(
    filed,
    dispatched,
    resolved,
    resolved_on_time,
    closed,
    response_due,
    responded_on_time,
    response_overdue,
    resolution_overdue,
    rated,
    rated_resolved,
    satisfied,
    returns,
    reopened,
);

/// Deltas accumulated over a batch of events, summed per key before they are written.
#[derive(Debug, Default)]
pub struct StatDeltas(pub(crate) HashMap<StatKey, StatCounts>);

impl StatDeltas {
    pub(crate) fn add(&mut self, key: StatKey, update: impl FnOnce(&mut StatCounts)) {
        update(self.0.entry(key).or_default());
    }
}
