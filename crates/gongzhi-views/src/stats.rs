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
    contact_h1,
    contact_h2,
    contact_h4,
    contact_h8,
    contact_h24,
    contact_h48,
    contact_h72,
    contact_h168,
    contact_hmore,
    resolve_h8,
    resolve_h24,
    resolve_h48,
    resolve_h72,
    resolve_h120,
    resolve_h168,
    resolve_h336,
    resolve_h720,
    resolve_hmore,
);

/// Upper bounds (hours) of the time-to-contact buckets; a last bucket holds the rest.
pub const CONTACT_HOURS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 24.0, 48.0, 72.0, 168.0];
/// Upper bounds (hours) of the time-to-resolve buckets; a last bucket holds the rest.
pub const RESOLVE_HOURS: [f64; 8] = [8.0, 24.0, 48.0, 72.0, 120.0, 168.0, 336.0, 720.0];

impl StatCounts {
    /// Counts one first contact `hours` after dispatch.
    pub(crate) fn add_contact(&mut self, hours: f64) {
        *self.contact_buckets_mut()[bucket(&CONTACT_HOURS, hours)] += 1;
    }

    /// Counts one resolution `hours` after dispatch.
    pub(crate) fn add_resolve(&mut self, hours: f64) {
        *self.resolve_buckets_mut()[bucket(&RESOLVE_HOURS, hours)] += 1;
    }

    pub fn contact_buckets(&self) -> [i64; 9] {
        [
            self.contact_h1,
            self.contact_h2,
            self.contact_h4,
            self.contact_h8,
            self.contact_h24,
            self.contact_h48,
            self.contact_h72,
            self.contact_h168,
            self.contact_hmore,
        ]
    }

    pub fn resolve_buckets(&self) -> [i64; 9] {
        [
            self.resolve_h8,
            self.resolve_h24,
            self.resolve_h48,
            self.resolve_h72,
            self.resolve_h120,
            self.resolve_h168,
            self.resolve_h336,
            self.resolve_h720,
            self.resolve_hmore,
        ]
    }

    fn contact_buckets_mut(&mut self) -> [&mut i64; 9] {
        [
            &mut self.contact_h1,
            &mut self.contact_h2,
            &mut self.contact_h4,
            &mut self.contact_h8,
            &mut self.contact_h24,
            &mut self.contact_h48,
            &mut self.contact_h72,
            &mut self.contact_h168,
            &mut self.contact_hmore,
        ]
    }

    fn resolve_buckets_mut(&mut self) -> [&mut i64; 9] {
        [
            &mut self.resolve_h8,
            &mut self.resolve_h24,
            &mut self.resolve_h48,
            &mut self.resolve_h72,
            &mut self.resolve_h120,
            &mut self.resolve_h168,
            &mut self.resolve_h336,
            &mut self.resolve_h720,
            &mut self.resolve_hmore,
        ]
    }
}

fn bucket(bounds: &[f64; 8], hours: f64) -> usize {
    bounds
        .iter()
        .position(|bound| hours <= *bound)
        .unwrap_or(bounds.len())
}

/// The median of a bucketed distribution, interpolated linearly inside the bucket that
/// holds it (the first bucket starts at 0 hours). `None` without samples. A median in the
/// open last bucket is reported as that bucket's lower bound: "more than N hours".
pub fn bucket_median(bounds: &[f64; 8], counts: &[i64; 9]) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return None;
    }
    let half = total as f64 / 2.0;
    let mut below = 0.0;
    for (index, count) in counts.iter().enumerate() {
        let count = *count as f64;
        if count > 0.0 && below + count >= half {
            let lower = if index == 0 { 0.0 } else { bounds[index - 1] };
            let Some(upper) = bounds.get(index) else {
                return Some(lower);
            };
            return Some(lower + (upper - lower) * (half - below) / count);
        }
        below += count;
    }
    None
}

/// A row of a one-dimension rollup: per day (`YYYY-MM-DD`) or month (`YYYY-MM`) and
/// community, by one of category, channel or unit (`dim`), or by nothing (`level`
/// "community", `dim` "").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RollupKey {
    pub level: &'static str,
    pub day: String,
    pub community: String,
    pub dim: String,
}

/// Where the snapshot counters (open, overdue now) of a case are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CurrentKey {
    pub community: String,
    pub category: String,
    pub channel: String,
    pub unit: String,
}

/// Stands for "every value" of a dimension in a snapshot rollup row; never a code.
pub(crate) const ALL: &str = "*";

impl CurrentKey {
    /// The row itself and the rows that roll it up: per community, and per community and
    /// one of category, channel or unit (the others `*`).
    fn with_rollups(self) -> [CurrentKey; 5] {
        let all = || ALL.to_owned();
        let rollup = |category: String, channel: String, unit: String| CurrentKey {
            community: self.community.clone(),
            category,
            channel,
            unit,
        };
        [
            rollup(all(), all(), all()),
            rollup(self.category.clone(), all(), all()),
            rollup(all(), self.channel.clone(), all()),
            rollup(all(), all(), self.unit.clone()),
            self,
        ]
    }
}

/// Cases open now and, of those, overdue now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Current {
    pub open: i64,
    pub overdue: i64,
}

/// Deltas accumulated over a batch of events, summed per key before they are written:
/// the full cube, its rollups and the snapshot counters.
#[derive(Debug, Default)]
pub struct StatDeltas {
    pub(crate) cube: HashMap<StatKey, StatCounts>,
    pub(crate) rollup: HashMap<RollupKey, StatCounts>,
    pub(crate) current: HashMap<CurrentKey, Current>,
}

impl StatDeltas {
    pub(crate) fn add(&mut self, key: StatKey, update: impl FnOnce(&mut StatCounts)) {
        let mut delta = StatCounts::default();
        update(&mut delta);
        let month = key.day.get(..7).unwrap_or(&key.day);
        for (level, dim) in [
            ("community", ""),
            ("category", key.category.as_str()),
            ("channel", key.channel.as_str()),
            ("unit", key.unit.as_str()),
        ] {
            for period in [key.day.as_str(), month] {
                let rollup = RollupKey {
                    level,
                    day: period.to_owned(),
                    community: key.community.clone(),
                    dim: dim.to_owned(),
                };
                *self.rollup.entry(rollup).or_default() += delta;
            }
        }
        *self.cube.entry(key).or_default() += delta;
    }

    pub(crate) fn move_current(
        &mut self,
        from: Option<(CurrentKey, Current)>,
        to: (CurrentKey, Current),
    ) {
        if from.as_ref() == Some(&to) {
            return;
        }
        if let Some((key, was)) = from {
            for key in key.with_rollups() {
                let entry = self.current.entry(key).or_default();
                entry.open -= was.open;
                entry.overdue -= was.overdue;
            }
        }
        let (key, now) = to;
        for key in key.with_rollups() {
            let entry = self.current.entry(key).or_default();
            entry.open += now.open;
            entry.overdue += now.overdue;
        }
    }
}
