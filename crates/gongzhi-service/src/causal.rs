//! What a writer had seen of a case when it decided an event: how many of the case's
//! events from each context. Each context keeps a replica of the others' events; a replica
//! takes an observed event only when it holds everything the event's writer had seen, so
//! every replica (and the projector's) holds a case's events in an order that respects
//! cause and effect, though concurrent events may sit in different orders.

use std::collections::HashMap;
use std::fmt;

use gongzhi_domain::Context;
use gongzhi_store::StoredEvent;
use uuid::Uuid;

/// Counts of a case's events per context, in the order of [`Context::ALL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Seen(pub [u64; 3]);

/// Whether a replica can take an observed event now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The replica holds it already.
    Held,
    /// Everything it depends on is held: append it.
    Ready,
    /// Something it depends on has not arrived yet.
    Waiting,
}

fn index(context: Context) -> usize {
    match context {
        Context::Intake => 0,
        Context::Assignment => 1,
        Context::Resolution => 2,
    }
}

impl Seen {
    /// Counts the events of a stream by the context that wrote them.
    pub fn of(stream: &[StoredEvent]) -> Self {
        let mut seen = Self::default();
        for event in stream {
            if let Some(context) = Context::parse(&event.context) {
                seen.add(context);
            }
        }
        seen
    }

    pub fn add(&mut self, context: Context) {
        self.0[index(context)] += 1;
    }

    pub fn set(&mut self, context: Context, count: u64) {
        self.0[index(context)] = count;
    }

    pub fn get(&self, context: Context) -> u64 {
        self.0[index(context)]
    }

    /// The events held in all.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Whether a replica that has seen `self` can take an event written in `origin` by a
    /// writer that had seen `writer` (its own context's count included).
    pub fn readiness(&self, origin: Context, writer: &Seen) -> Readiness {
        let held = self.get(origin);
        let needed = writer.get(origin);
        if held > needed {
            return Readiness::Held;
        }
        let others_held = Context::ALL
            .into_iter()
            .all(|c| c == origin || self.get(c) >= writer.get(c));
        if held == needed && others_held {
            Readiness::Ready
        } else {
            Readiness::Waiting
        }
    }

    /// What each stream holds, from a store's `count_by_context` rows.
    pub fn by_stream(rows: Vec<(Uuid, String, u64)>) -> HashMap<Uuid, Seen> {
        let mut held: HashMap<Uuid, Seen> = HashMap::new();
        for (stream, context, count) in rows {
            if let Some(context) = Context::parse(&context) {
                held.entry(stream).or_default().set(context, count);
            }
        }
        held
    }

    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(',').map(|p| p.trim().parse::<u64>());
        let seen = [
            parts.next()?.ok()?,
            parts.next()?.ok()?,
            parts.next()?.ok()?,
        ];
        parts.next().is_none().then_some(Self(seen))
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.0[0], self.0[1], self.0[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_waits_for_what_its_writer_had_seen() {
        // A dispatch written after the filing and a triage (1 intake, 1 assignment seen).
        let writer = Seen([1, 1, 0]);
        assert_eq!(
            Seen([0, 1, 0]).readiness(Context::Assignment, &writer),
            Readiness::Waiting
        );
        assert_eq!(
            Seen([1, 1, 0]).readiness(Context::Assignment, &writer),
            Readiness::Ready
        );
        assert_eq!(
            Seen([1, 1, 5]).readiness(Context::Assignment, &writer),
            Readiness::Ready
        );
        assert_eq!(
            Seen([1, 2, 0]).readiness(Context::Assignment, &writer),
            Readiness::Held
        );
        // The triage itself has not arrived: the dispatch must not jump ahead of it.
        assert_eq!(
            Seen([1, 0, 0]).readiness(Context::Assignment, &writer),
            Readiness::Waiting
        );
    }

    #[test]
    fn seen_reads_back_what_it_writes() {
        let seen = Seen([3, 14, 15]);
        assert_eq!(Seen::parse(&seen.to_string()), Some(seen));
        assert_eq!(Seen::parse("1,2"), None);
        assert_eq!(Seen::parse("1,2,x"), None);
    }
}
