//! An event as it travels on the bus. This is a contract between services that may run
//! different versions, so it is its own type with its own field names, not the store's.

use chrono::{DateTime, Utc};
use gongzhi_store::{Metadata, Position, StoredEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireEvent {
    pub event_id: Uuid,
    pub stream_id: Uuid,
    pub stream_version: u64,
    pub context: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u32,
    /// The payload's JSON, embedded as JSON.
    pub payload: Box<serde_json::value::RawValue>,
    pub actor: String,
    pub correlation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causal: Option<String>,
}

impl WireEvent {
    pub fn from_stored(event: &StoredEvent) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id: event.event_id,
            stream_id: event.stream_id,
            stream_version: event.stream_version,
            context: event.context.clone(),
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            payload: serde_json::value::RawValue::from_string(event.payload.clone())?,
            actor: event.metadata.actor.clone(),
            correlation_id: event.metadata.correlation_id,
            causation_id: event.metadata.causation_id,
            recorded_at: event.metadata.recorded_at,
            causal: event.causal.clone(),
        })
    }

    /// The event as a feed hands it to an inbox, at `position` in the bus's order.
    pub fn into_stored(self, position: Position) -> StoredEvent {
        StoredEvent {
            position,
            event_id: self.event_id,
            stream_id: self.stream_id,
            stream_version: self.stream_version,
            context: self.context,
            event_type: self.event_type,
            schema_version: self.schema_version,
            payload: self.payload.get().to_owned(),
            metadata: Metadata {
                actor: self.actor,
                correlation_id: self.correlation_id,
                causation_id: self.causation_id,
                // A key answers for the origin's append, never for a copy.
                idempotency_key: None,
                recorded_at: self.recorded_at,
            },
            causal: self.causal,
        }
    }
}
