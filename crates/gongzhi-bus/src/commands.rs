//! Commands across processes (DESIGN §5): the gateway's [`Commands`] over NATS
//! request/reply, answered by a NATS service ("micro" API) in front of the context
//! services. Every copy of a service joins the same queue group, so copies share the load.
//! A request that gets no answer in time is `Unavailable` (HTTP 503); its idempotency key
//! makes the retry safe. The request carries the time the service may spend on it, after
//! which it writes nothing, so a late answer is rarely a commit nobody heard of.
//!
//! Subjects: `gongzhi.cmd.<context>` carries a command for that context, and
//! `gongzhi.cmd.history` a request for a case's events.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::service::ServiceExt;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use gongzhi_domain::{Actor, CaseEvent, CaseId, Command, Context, Status};
use gongzhi_service::{
    BoxFuture, CommandError, CommandOutcome, Commands, HistoryEntry, Refusal, RequestMeta,
};
use gongzhi_store::{Appended, Position};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::BusError;

const GROUP: &str = "gongzhi.cmd";
const HISTORY: &str = "history";

#[derive(Serialize, Deserialize)]
struct CommandRequest {
    case_id: CaseId,
    actor: Actor,
    command: Command,
    idempotency_key: Option<String>,
    expected_version: Option<u64>,
    correlation_id: Option<Uuid>,
    tracking_secret: Option<String>,
    /// How long the service may take before it must not write: the caller's timeout less
    /// a margin for the way there and back.
    #[serde(default)]
    budget_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct WireAppended {
    stream_id: Uuid,
    first_version: u64,
    last_version: u64,
    commit: i64,
    sequence: i64,
    replayed: bool,
}

#[derive(Serialize, Deserialize)]
struct WireCaseEvent {
    #[serde(rename = "type")]
    event_type: String,
    schema_version: u32,
    payload: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
struct WireOutcome {
    case_id: CaseId,
    version: u64,
    status: Option<Status>,
    appended: Option<WireAppended>,
    events: Vec<WireCaseEvent>,
}

#[derive(Serialize, Deserialize)]
struct WireHistoryEntry {
    position: String,
    context: String,
    event_type: String,
    at: DateTime<Utc>,
    actor: String,
    data: serde_json::Value,
    schema_version: u32,
    commit: i64,
    sequence: i64,
}

impl From<HistoryEntry> for WireHistoryEntry {
    fn from(e: HistoryEntry) -> Self {
        Self {
            position: e.position,
            context: e.context,
            event_type: e.event_type,
            at: e.at,
            actor: e.actor,
            data: e.data,
            schema_version: e.schema_version,
            commit: e.sort_key.commit,
            sequence: e.sort_key.sequence,
        }
    }
}

impl From<WireHistoryEntry> for HistoryEntry {
    fn from(e: WireHistoryEntry) -> Self {
        Self {
            position: e.position,
            context: e.context,
            event_type: e.event_type,
            at: e.at,
            actor: e.actor,
            data: e.data,
            schema_version: e.schema_version,
            sort_key: Position {
                commit: e.commit,
                sequence: e.sequence,
            },
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply<T> {
    Ok(T),
    Refused(Refusal),
}

impl WireOutcome {
    fn from_outcome(outcome: &CommandOutcome) -> Self {
        Self {
            case_id: outcome.case_id,
            version: outcome.version,
            status: outcome.status,
            appended: outcome.appended.map(|a| WireAppended {
                stream_id: a.stream_id,
                first_version: a.first_version,
                last_version: a.last_version,
                commit: a.last_position.commit,
                sequence: a.last_position.sequence,
                replayed: a.replayed,
            }),
            events: outcome
                .events
                .iter()
                .map(|e| WireCaseEvent {
                    event_type: e.event_type().to_owned(),
                    schema_version: e.schema_version(),
                    payload: e.to_payload(),
                })
                .collect(),
        }
    }

    fn into_outcome(self) -> Result<CommandOutcome, CommandError> {
        let events = self
            .events
            .into_iter()
            .map(|e| {
                CaseEvent::from_stored(&e.event_type, e.schema_version, &e.payload.to_string())
                    .map_err(|error| CommandError::Unavailable(format!("a reply's event: {error}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(CommandOutcome {
            case_id: self.case_id,
            version: self.version,
            status: self.status,
            appended: self.appended.map(|a| Appended {
                stream_id: a.stream_id,
                first_version: a.first_version,
                last_version: a.last_version,
                last_position: Position {
                    commit: a.commit,
                    sequence: a.sequence,
                },
                replayed: a.replayed,
            }),
            events,
        })
    }
}

fn encode<T: Serialize>(reply: &Reply<T>) -> bytes::Bytes {
    serde_json::to_vec(reply).map_or_else(|_| bytes::Bytes::new(), Into::into)
}

async fn answer_command(commands: &dyn Commands, payload: &[u8]) -> bytes::Bytes {
    let request: CommandRequest = match serde_json::from_slice(payload) {
        Ok(request) => request,
        Err(error) => {
            let refused = CommandError::Unavailable(format!("an unreadable command: {error}"));
            return encode::<WireOutcome>(&Reply::Refused(Refusal::from(&refused)));
        }
    };
    let meta = RequestMeta {
        idempotency_key: request.idempotency_key,
        expected_version: request.expected_version,
        correlation_id: request.correlation_id,
        tracking_secret: request.tracking_secret,
        deadline: request
            .budget_ms
            .and_then(|budget| Instant::now().checked_add(Duration::from_millis(budget))),
    };
    match commands
        .execute(request.case_id, &request.actor, &request.command, &meta)
        .await
    {
        Ok(outcome) => encode(&Reply::Ok(WireOutcome::from_outcome(&outcome))),
        Err(error) => {
            if !error.passes() {
                tracing::error!(%error, "command failed");
            }
            encode::<WireOutcome>(&Reply::Refused(Refusal::from(&error)))
        }
    }
}

async fn answer_history(commands: &dyn Commands, payload: &[u8]) -> bytes::Bytes {
    let Ok(case_id) = serde_json::from_slice::<CaseId>(payload) else {
        let refused = CommandError::Unavailable("an unreadable history request".to_owned());
        return encode::<Vec<WireHistoryEntry>>(&Reply::Refused(Refusal::from(&refused)));
    };
    match commands.history(case_id).await {
        Ok(entries) => encode(&Reply::Ok(
            entries
                .into_iter()
                .map(WireHistoryEntry::from)
                .collect::<Vec<_>>(),
        )),
        Err(error) => encode::<Vec<WireHistoryEntry>>(&Reply::Refused(Refusal::from(&error))),
    }
}

/// Answers commands for `contexts` (and history requests) with `commands` until
/// `shutdown`, then drains: it leaves the queue groups (new requests go to the other
/// copies), answers what had already reached it and waits for every answer in flight.
/// Requests are answered concurrently; each case's commands are put in order by the
/// services themselves.
pub async fn serve_commands(
    client: async_nats::Client,
    commands: Arc<dyn Commands>,
    contexts: &[Context],
    shutdown: impl Future<Output = ()>,
) -> Result<(), BusError> {
    let service = client
        .service_builder()
        .description("共治 Gongzhi command services")
        .start("gongzhi-commands", env!("CARGO_PKG_VERSION"))
        .await
        .map_err(|e| BusError::Nats(e.to_string()))?;
    let group = service.group(GROUP);
    let mut endpoints = Vec::new();
    for context in contexts {
        endpoints.push((
            false,
            group
                .endpoint(context.as_str())
                .await
                .map_err(|e| BusError::Nats(e.to_string()))?,
        ));
    }
    endpoints.push((
        true,
        group
            .endpoint(HISTORY)
            .await
            .map_err(|e| BusError::Nats(e.to_string()))?,
    ));
    let (stop, stopped) = watch::channel(false);
    let mut tasks: JoinSet<()> = endpoints
        .into_iter()
        .map(|(history, endpoint)| {
            answer(endpoint, history, Arc::clone(&commands), stopped.clone())
        })
        .collect();
    tokio::select! {
        () = shutdown => {}
        _ = tasks.join_next() => {}
    }
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    let _ = service.stop().await;
    Ok(())
}

/// One endpoint's loop: each request answered in a task of its own, all of them awaited
/// before it returns.
async fn answer(
    mut endpoint: async_nats::service::endpoint::Endpoint,
    history: bool,
    commands: Arc<dyn Commands>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut in_flight = JoinSet::new();
    let respond = |request: async_nats::service::Request| {
        let commands = Arc::clone(&commands);
        async move {
            let reply = if history {
                answer_history(commands.as_ref(), &request.message.payload).await
            } else {
                answer_command(commands.as_ref(), &request.message.payload).await
            };
            if let Err(error) = request.respond(Ok(reply)).await {
                tracing::warn!(%error, "a command's reply could not be sent");
            }
        }
    };
    loop {
        tokio::select! {
            request = endpoint.next() => match request {
                Some(request) => {
                    in_flight.spawn(respond(request));
                }
                None => break,
            },
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = async { stopped.wait_for(|stop| *stop).await.map(|_| ()) } => {
                // Leave the queue group, then answer what had already been delivered.
                if let Err(error) = endpoint.stop().await {
                    tracing::warn!(%error, "leaving a command queue group");
                }
                while let Some(request) = endpoint.next().await {
                    in_flight.spawn(respond(request));
                }
                break;
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// What a service may spend of the caller's `timeout`: a fifth (at most 2 s) is kept for
/// the request's way there, queueing and the reply's way back.
fn budget(timeout: Duration) -> u64 {
    let margin = (timeout / 5).min(Duration::from_secs(2));
    u64::try_from(timeout.saturating_sub(margin).as_millis()).unwrap_or(u64::MAX)
}

/// The gateway's door to services in other processes.
pub struct NatsCommands {
    client: async_nats::Client,
    timeout: Duration,
}

impl NatsCommands {
    pub fn new(client: async_nats::Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    async fn request<T: for<'de> Deserialize<'de>>(
        &self,
        subject: String,
        payload: Vec<u8>,
    ) -> Result<T, CommandError> {
        let asked = tokio::time::timeout(
            self.timeout,
            self.client.request(subject.clone(), payload.into()),
        )
        .await;
        let message = match asked {
            Ok(Ok(message)) => message,
            Ok(Err(error)) => {
                return Err(CommandError::Unavailable(format!(
                    "{subject}: {error}; retry with the same Idempotency-Key"
                )));
            }
            Err(_) => {
                return Err(CommandError::Unavailable(format!(
                    "{subject} did not answer within {:?}; retry with the same Idempotency-Key",
                    self.timeout
                )));
            }
        };
        match serde_json::from_slice::<Reply<T>>(&message.payload) {
            Ok(Reply::Ok(value)) => Ok(value),
            Ok(Reply::Refused(refusal)) => Err(CommandError::Remote(refusal)),
            Err(error) => Err(CommandError::Unavailable(format!(
                "{subject} answered unreadably: {error}"
            ))),
        }
    }
}

impl Commands for NatsCommands {
    fn execute<'a>(
        &'a self,
        case_id: CaseId,
        actor: &'a Actor,
        command: &'a Command,
        meta: &'a RequestMeta,
    ) -> BoxFuture<'a, Result<CommandOutcome, CommandError>> {
        Box::pin(async move {
            let request = CommandRequest {
                case_id,
                actor: actor.clone(),
                command: command.clone(),
                idempotency_key: meta.idempotency_key.clone(),
                expected_version: meta.expected_version,
                correlation_id: meta.correlation_id,
                tracking_secret: meta.tracking_secret.clone(),
                budget_ms: Some(budget(self.timeout)),
            };
            let payload = serde_json::to_vec(&request)
                .map_err(|e| CommandError::Unavailable(format!("encoding a command: {e}")))?;
            let subject = format!("{GROUP}.{}", command.context().as_str());
            let outcome: WireOutcome = self.request(subject, payload).await?;
            outcome.into_outcome()
        })
    }

    fn history(&self, case_id: CaseId) -> BoxFuture<'_, Result<Vec<HistoryEntry>, CommandError>> {
        Box::pin(async move {
            let payload = serde_json::to_vec(&case_id)
                .map_err(|e| CommandError::Unavailable(format!("encoding a request: {e}")))?;
            let entries: Vec<WireHistoryEntry> =
                self.request(format!("{GROUP}.{HISTORY}"), payload).await?;
            Ok(entries.into_iter().map(HistoryEntry::from).collect())
        })
    }
}
