//! Subjects and the stream's settings.
//!
//! Every event is published to `gongzhi.events.<context>.<community>.<EventType>`, so a
//! consumer filters by what it needs: `gongzhi.events.assignment.>` (one context),
//! `gongzhi.events.*.shilong.>` (one community), `gongzhi.events.*.*.CaseResolved` (one
//! kind of event).

use std::time::Duration;

use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType};

pub const PREFIX: &str = "gongzhi.events";

/// A subject token: NATS forbids `.`, `*`, `>` and whitespace inside one.
fn token(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "_".to_owned()
    } else {
        cleaned
    }
}

/// Where an event is published. `community` is `None` when the relay could not tell.
pub fn event_subject(context: &str, community: Option<&str>, event_type: &str) -> String {
    format!(
        "{PREFIX}.{}.{}.{}",
        token(context),
        community.map_or_else(|| "_".to_owned(), token),
        token(event_type)
    )
}

/// Everything one context publishes.
pub fn context_filter(context: &str) -> String {
    format!("{PREFIX}.{}.>", token(context))
}

/// How the events stream is kept.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub name: String,
    /// Copies of every message across the cluster (3 for a three-node cluster).
    pub replicas: usize,
    /// How long a `Nats-Msg-Id` is remembered. A relay republishes at most what it sent
    /// since its last checkpoint (seconds); the window is far longer so a relay that was
    /// stopped mid-batch and restarted within it still adds no duplicate.
    pub duplicate_window: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            name: "GONGZHI_EVENTS".to_owned(),
            replicas: 1,
            duplicate_window: Duration::from_secs(2 * 60 * 60),
        }
    }
}

impl StreamSettings {
    /// File storage, no limits by age, count or size: the stream loses nothing on its own.
    /// The event stores stay the source of truth; the stream can be rebuilt from them.
    pub fn config(&self) -> Config {
        Config {
            name: self.name.clone(),
            subjects: vec![format!("{PREFIX}.>")],
            storage: StorageType::File,
            num_replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::New,
            max_age: Duration::ZERO,
            max_messages: -1,
            max_bytes: -1,
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_carry_context_community_and_type() {
        assert_eq!(
            event_subject("assignment", Some("shilong"), "CaseDispatched"),
            "gongzhi.events.assignment.shilong.CaseDispatched"
        );
        assert_eq!(
            event_subject("intake", None, "ConcernFiled"),
            "gongzhi.events.intake._.ConcernFiled"
        );
        assert_eq!(
            event_subject("intake", Some("a.b *>"), "X"),
            "gongzhi.events.intake.a_b___.X"
        );
        assert_eq!(context_filter("resolution"), "gongzhi.events.resolution.>");
    }
}
