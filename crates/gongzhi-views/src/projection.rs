//! The projection proper: pure functions from stored events to summary and statistics
//! changes, accumulated in a [`Batch`] that the view store writes in one transaction.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use gongzhi_domain::{CaseEvent, CaseId};
use gongzhi_store::{Position, RecordedEvent};

use crate::error::ProjectionError;
use crate::stats::{Current, CurrentKey, StatCounts, StatDeltas, StatKey};
use crate::summary::CaseSummary;

/// Changes made by a run of events, not yet written.
#[derive(Debug, Default)]
pub struct Batch {
    pub(crate) summaries: HashMap<CaseId, CaseSummary>,
    pub(crate) dirty: HashSet<CaseId>,
    pub(crate) stats: StatDeltas,
    pub(crate) position: Option<Position>,
    /// The checkpoint the batch started from: the write succeeds only if it is still there.
    pub(crate) base: Position,
    pub(crate) applied: usize,
}

impl Batch {
    /// Events applied since the last write.
    pub fn applied(&self) -> usize {
        self.applied
    }

    /// The position of the last event applied, if any.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    pub(crate) fn knows(&self, case_id: &CaseId) -> bool {
        self.summaries.contains_key(case_id)
    }

    /// Forgets what was written, keeping summaries cached for the next batch.
    pub(crate) fn written(&mut self) {
        self.dirty.clear();
        self.stats = StatDeltas::default();
        self.base = self.position.take().unwrap_or(self.base);
        self.applied = 0;
    }

    /// Where the events about to be applied start, when nothing is pending.
    pub(crate) fn starts_at(&mut self, checkpoint: Position) {
        if self.position.is_none() {
            self.base = checkpoint;
        }
    }
}

/// Applies one stored event to the batch. Events a view has already applied (an older
/// stream version) are skipped, so replaying a range is harmless; a version that jumps
/// ahead is an error, never silently accepted.
pub fn project(
    batch: &mut Batch,
    stored: &RecordedEvent,
    offset: FixedOffset,
) -> Result<(), ProjectionError> {
    let event = CaseEvent::from_stored(&stored.event_type, stored.schema_version, &stored.payload)
        .map_err(|source| ProjectionError::Decode {
            position: stored.position,
            stream_id: stored.stream_id,
            source,
        })?;
    let case_id = CaseId::from_uuid(stored.stream_id);
    let at = stored.recorded_at;
    let applied = batch.summaries.get(&case_id).map_or(0, |s| s.version);
    if stored.stream_version <= applied {
        batch.position = Some(stored.position);
        return Ok(());
    }
    let gap = || ProjectionError::Gap {
        position: stored.position,
        stream_id: stored.stream_id,
        version: stored.stream_version,
        applied,
    };
    if stored.stream_version != applied + 1 {
        return Err(gap());
    }
    let (before, summary) = match batch.summaries.entry(case_id) {
        Entry::Occupied(entry) => {
            let summary = entry.into_mut();
            (Some(Before::of(summary)), summary)
        }
        Entry::Vacant(entry) => {
            let created = CaseSummary::filed(case_id, &event, at).ok_or_else(gap)?;
            (None, entry.insert(created))
        }
    };
    let was = before.as_ref().map(|_| current(summary));
    summary.apply(&event, at);
    batch.stats.move_current(was, current(summary));
    summary.version = stored.stream_version;
    count(
        &mut batch.stats,
        before.as_ref(),
        summary,
        &event,
        at,
        offset,
    );
    batch.dirty.insert(case_id);
    batch.position = Some(stored.position);
    batch.applied += 1;
    Ok(())
}

/// Where a case counts in the snapshot counters, and what it counts there.
fn current(summary: &CaseSummary) -> (CurrentKey, Current) {
    let open = !summary.status.is_final();
    (
        CurrentKey {
            community: summary.community.clone(),
            category: summary.category.clone().unwrap_or_default(),
            channel: summary.channel.as_str().to_owned(),
            unit: summary.unit.clone().unwrap_or_default(),
        },
        Current {
            open: i64::from(open),
            overdue: i64::from(open && summary.overdue),
        },
    )
}

/// What statistics need to know of a summary before an event changes it.
struct Before {
    category: Option<String>,
    unit: Option<String>,
    contacted: bool,
}

impl Before {
    fn of(summary: &CaseSummary) -> Self {
        Self {
            category: summary.category.clone(),
            unit: summary.unit.clone(),
            contacted: summary.contacted_at.is_some(),
        }
    }
}

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds().max(0) as f64 / 3600.0
}

fn day(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset).date_naive().to_string()
}

/// The statistics an event moves (DESIGN §4).
fn count(
    stats: &mut StatDeltas,
    before: Option<&Before>,
    after: &CaseSummary,
    event: &CaseEvent,
    at: DateTime<Utc>,
    offset: FixedOffset,
) {
    let key = |day: String, category: Option<&str>, unit: Option<&str>| StatKey {
        day,
        community: after.community.clone(),
        category: category.unwrap_or_default().to_owned(),
        channel: after.channel.as_str().to_owned(),
        unit: unit.unwrap_or_default().to_owned(),
    };
    let category = after.category.as_deref();
    let unit = after.unit.as_deref();
    let today = || day(at, offset);
    let mut add = |key: StatKey, update: fn(&mut StatCounts)| stats.add(key, update);
    match event {
        CaseEvent::ConcernFiled { .. } => {
            add(key(day(after.filed_at, offset), category, None), |c| {
                c.filed += 1
            })
        }
        CaseEvent::CaseTriaged { .. } => {
            // `filed` follows the case's category, so a period filtered by category counts
            // the concerns classified into it after filing.
            let old = before.and_then(|b| b.category.as_deref());
            if old != category {
                let filed_day = day(after.filed_at, offset);
                add(key(filed_day.clone(), old, None), |c| c.filed -= 1);
                add(key(filed_day, category, None), |c| c.filed += 1);
            }
        }
        CaseEvent::CaseDispatched { response_due, .. } => {
            add(key(today(), category, unit), |c| c.dispatched += 1);
            add(key(day(*response_due, offset), category, unit), |c| {
                c.response_due += 1
            });
        }
        CaseEvent::CaseReopened { response_due, .. } => {
            add(key(today(), category, unit), |c| c.reopened += 1);
            add(key(day(*response_due, offset), category, unit), |c| {
                c.response_due += 1
            });
        }
        CaseEvent::ResidentContacted { .. } => {
            let first_contact = before.is_some_and(|b| !b.contacted);
            if let Some(due) = after.response_due.filter(|due| first_contact && at <= *due) {
                add(key(day(due, offset), category, unit), |c| {
                    c.responded_on_time += 1
                });
            }
            if let Some(hours) = after
                .dispatched_at
                .filter(|_| first_contact)
                .map(|d| hours(d, at))
            {
                stats.add(key(today(), category, unit), |c| c.add_contact(hours));
            }
        }
        CaseEvent::ResponseOverdue { .. } => {
            add(key(today(), category, unit), |c| c.response_overdue += 1)
        }
        CaseEvent::ResolutionOverdue { .. } => {
            add(key(today(), category, unit), |c| c.resolution_overdue += 1)
        }
        CaseEvent::CaseResolved { .. } => {
            let on_time = i64::from(after.resolution_due.is_some_and(|due| at <= due));
            let hours = after.dispatched_at.map(|d| hours(d, at));
            stats.add(key(today(), category, unit), |c| {
                c.resolved += 1;
                c.resolved_on_time += on_time;
                if let Some(hours) = hours {
                    c.add_resolve(hours);
                }
            });
        }
        CaseEvent::FeedbackGiven {
            satisfaction,
            resolved,
            ..
        } => {
            let (satisfied, resolved) =
                (i64::from(satisfaction.is_satisfied()), i64::from(*resolved));
            stats.add(key(today(), category, unit), |c| {
                c.rated += 1;
                c.rated_resolved += resolved;
                c.satisfied += satisfied;
            });
        }
        CaseEvent::DispatchReturned { .. } => {
            let returned_by = before.and_then(|b| b.unit.as_deref());
            add(key(today(), category, returned_by), |c| c.returns += 1);
        }
        CaseEvent::CaseClosed { .. } => add(key(today(), category, unit), |c| c.closed += 1),
        CaseEvent::ConcernAmended { .. }
        | CaseEvent::ConcernWithdrawn { .. }
        | CaseEvent::DispatchAccepted { .. }
        | CaseEvent::CaseEscalated { .. }
        | CaseEvent::CaseMergedAsDuplicate { .. }
        | CaseEvent::ConcernRejected { .. }
        | CaseEvent::DeadlineExtended { .. }
        | CaseEvent::ProgressRecorded { .. } => {}
    }
}
