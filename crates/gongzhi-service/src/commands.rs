//! The one door the gateway knocks on: carry out a command, read a case's events. In one
//! process it is a direct call ([`CaseService`]); across processes the same trait is
//! implemented over NATS request/reply.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use gongzhi_domain::{Actor, CaseId, Command};
use gongzhi_store::{EventStore, Position, StoredEvent};
use serde::Serialize;

use crate::error::CommandError;
use crate::service::{CaseService, CommandOutcome, RequestMeta};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One event of a case's history, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub position: String,
    pub context: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub data: serde_json::Value,
    #[serde(skip)]
    pub schema_version: u32,
    #[serde(skip)]
    pub sort_key: Position,
}

impl From<StoredEvent> for HistoryEntry {
    fn from(event: StoredEvent) -> Self {
        Self {
            position: event.position.to_string(),
            context: event.context,
            event_type: event.event_type,
            at: event.metadata.recorded_at,
            actor: event.metadata.actor,
            data: serde_json::from_str(&event.payload).unwrap_or_default(),
            schema_version: event.schema_version,
            sort_key: event.position,
        }
    }
}

/// A case's history as one store holds it.
pub(crate) async fn history_of<S: EventStore>(
    store: &S,
    case_id: CaseId,
) -> Result<Vec<HistoryEntry>, CommandError> {
    let stored = store.read_stream(case_id.as_uuid()).await?;
    Ok(stored.into_iter().map(HistoryEntry::from).collect())
}

/// Commands and event history, wherever the services run.
pub trait Commands: Send + Sync + 'static {
    fn execute<'a>(
        &'a self,
        case_id: CaseId,
        actor: &'a Actor,
        command: &'a Command,
        meta: &'a RequestMeta,
    ) -> BoxFuture<'a, Result<CommandOutcome, CommandError>>;

    /// Every event of a case across the contexts, in the order they happened.
    fn history(&self, case_id: CaseId) -> BoxFuture<'_, Result<Vec<HistoryEntry>, CommandError>>;
}

impl<S: EventStore> Commands for CaseService<S> {
    fn execute<'a>(
        &'a self,
        case_id: CaseId,
        actor: &'a Actor,
        command: &'a Command,
        meta: &'a RequestMeta,
    ) -> BoxFuture<'a, Result<CommandOutcome, CommandError>> {
        Box::pin(CaseService::execute(self, case_id, actor, command, meta))
    }

    fn history(&self, case_id: CaseId) -> BoxFuture<'_, Result<Vec<HistoryEntry>, CommandError>> {
        Box::pin(async move { history_of(self.store(), case_id).await })
    }
}
