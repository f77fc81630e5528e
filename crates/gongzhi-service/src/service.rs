//! The command handler for one event store.

use std::sync::Arc;
use std::time::Instant;

use gongzhi_domain::{
    Actor, Calendar, Case, CaseEvent, CaseId, Command, Context, Rules, SlaPolicy, Status, decide,
};
use gongzhi_store::{
    AppendError, AppendRequest, Appended, EventStore, Metadata, NewEvent, StoredEvent,
};
use uuid::Uuid;

use crate::causal::Seen;
use crate::clock::Clock;
use crate::error::CommandError;
use crate::filing::secret_digest;

/// The SLA policy and calendar decisions are made under.
#[derive(Debug, Clone)]
pub struct Policy {
    pub sla: SlaPolicy,
    pub calendar: Calendar,
}

/// What travels with a command besides its body.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// A retry with the same key returns the first result and writes nothing.
    pub idempotency_key: Option<String>,
    /// `If-Match`: refuse unless the case is at this version.
    pub expected_version: Option<u64>,
    pub correlation_id: Option<Uuid>,
    /// What a resident acting without an account proves the case is theirs with.
    pub tracking_secret: Option<String>,
    /// When the caller stops waiting (a gateway across NATS): past it the command writes
    /// nothing, so a caller told "unavailable" was not also obeyed.
    pub deadline: Option<Instant>,
}

/// The result of a command.
#[derive(Debug, Clone)]
pub struct CommandOutcome {
    pub case_id: CaseId,
    /// The case's version after the command.
    pub version: u64,
    pub status: Option<Status>,
    /// What was appended; `None` when the command had nothing to do (a timer tick).
    pub appended: Option<Appended>,
    pub events: Vec<CaseEvent>,
}

/// Times a command is decided again when an observed event landed between reading the
/// case and appending to it.
const OBSERVED_RETRIES: usize = 8;

/// Handles commands against one event store: either one store holding every context's
/// events, or one context's store holding its own events and its replica of the others'.
pub struct CaseService<S: EventStore> {
    store: S,
    /// The context this service is, if it is one: it then takes only that context's
    /// commands, and retries a decision an observed event overtook.
    context: Option<Context>,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
}

impl<S: EventStore> CaseService<S> {
    /// A service over a store that holds every event of every case.
    pub fn new(store: S, policy: Arc<Policy>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            context: None,
            policy,
            clock,
        }
    }

    /// The service of one context, over its own store.
    pub fn for_context(
        store: S,
        context: Context,
        policy: Arc<Policy>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            context: Some(context),
            policy,
            clock,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Loads a case as its stream says it is.
    pub async fn load(&self, case_id: CaseId) -> Result<Case, CommandError> {
        let stored = self.store.read_stream(case_id.as_uuid()).await?;
        fold(case_id, &stored)
    }

    /// The case and what this store holds of it, as the command is decided on. A filing
    /// makes its case id: there is nothing to read. (Waiting for the other contexts'
    /// events is `ContextServices`' job, under the case's lock.)
    async fn load_current(
        &self,
        case_id: CaseId,
        command: &Command,
    ) -> Result<(Case, Seen), CommandError> {
        if command.is_filing() {
            return Ok((Case::new(case_id), Seen::default()));
        }
        let stored = self.store.read_stream(case_id.as_uuid()).await?;
        Ok((fold(case_id, &stored)?, Seen::of(&stored)))
    }

    /// Decides `command` against the case and appends the result.
    pub async fn execute(
        &self,
        case_id: CaseId,
        actor: &Actor,
        command: &Command,
        meta: &RequestMeta,
    ) -> Result<CommandOutcome, CommandError> {
        let Some(key) = &meta.idempotency_key else {
            return self.decide_and_append(case_id, actor, command, meta).await;
        };
        let filing = command.is_filing();
        // A retry is found by its key when it appends (the key's unique index refuses it)
        // or, if the case has moved on so that the command is refused now, here.
        match self.decide_and_append(case_id, actor, command, meta).await {
            Err(error @ (CommandError::Domain(_) | CommandError::VersionConflict { .. })) => {
                match self.store.find_idempotent(key).await? {
                    Some(original) => self.replayed(case_id, key, original, filing).await,
                    None => Err(error),
                }
            }
            other => other,
        }
    }

    async fn decide_and_append(
        &self,
        case_id: CaseId,
        actor: &Actor,
        command: &Command,
        meta: &RequestMeta,
    ) -> Result<CommandOutcome, CommandError> {
        if let Some(context) = self.context.filter(|c| *c != command.context()) {
            return Err(CommandError::Misrouted {
                action: command.action(),
                context: context.as_str(),
            });
        }
        let mut attempts = 0;
        loop {
            match self.decide_once(case_id, actor, command, meta).await {
                // An observed event landed between reading and appending: decide again on
                // what is there now. A caller's If-Match is their own check; it stands.
                Err(CommandError::VersionConflict { .. })
                    if self.context.is_some()
                        && meta.expected_version.is_none()
                        && attempts < OBSERVED_RETRIES =>
                {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    async fn decide_once(
        &self,
        case_id: CaseId,
        actor: &Actor,
        command: &Command,
        meta: &RequestMeta,
    ) -> Result<CommandOutcome, CommandError> {
        let (case, seen) = self.load_current(case_id, command).await?;
        if actor == &Actor::Resident && case.status.is_some() {
            let proven = meta
                .tracking_secret
                .as_deref()
                .is_some_and(|secret| secret_digest(secret) == case.secret_digest);
            if !proven {
                return Err(CommandError::SecretMismatch);
            }
        }
        if let Some(expected) = meta.expected_version.filter(|v| *v != case.version) {
            return Err(CommandError::VersionConflict {
                case_id: case_id.as_uuid(),
                expected,
                actual: case.version,
            });
        }
        let now = self.clock.now();
        let rules = Rules {
            now,
            sla: &self.policy.sla,
            calendar: &self.policy.calendar,
        };
        let events = decide(&case, actor, command, &rules)?;
        if events.is_empty() {
            return Ok(CommandOutcome {
                case_id,
                version: case.version,
                status: case.status,
                appended: None,
                events,
            });
        }
        let mut seen = seen;
        let new_events: Vec<NewEvent> = events
            .iter()
            .map(|event| {
                let new = to_new_event(event, seen);
                seen.add(event.context());
                new
            })
            .collect();
        let metadata = Metadata {
            actor: actor.label(),
            correlation_id: meta.correlation_id.unwrap_or_else(Uuid::now_v7),
            causation_id: None,
            idempotency_key: meta.idempotency_key.clone(),
            recorded_at: now,
        };
        let request = AppendRequest {
            stream_id: case_id.as_uuid(),
            expected_version: case.version,
            events: &new_events,
            metadata: &metadata,
        };
        if meta
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            return Err(CommandError::Unavailable(
                "the caller stopped waiting before the command was written; nothing was written"
                    .to_owned(),
            ));
        }
        let appended = match self.store.append(request).await {
            Ok(appended) => appended,
            Err(AppendError::VersionConflict {
                expected, actual, ..
            }) => {
                return Err(CommandError::VersionConflict {
                    case_id: case_id.as_uuid(),
                    expected,
                    actual,
                });
            }
            Err(AppendError::Store(error)) => return Err(error.into()),
            // The key was claimed meanwhile by an append to another stream: a retry of a
            // filing racing its original (answered with the original), or a reuse.
            Err(AppendError::KeyTaken) => {
                let key = meta.idempotency_key.as_deref().unwrap_or_default();
                let filing = command.is_filing();
                return match self.store.find_idempotent(key).await? {
                    Some(original) => self.replayed(case_id, key, original, filing).await,
                    None => Err(CommandError::IdempotencyKeyReused {
                        key: key.to_owned(),
                    }),
                };
            }
            Err(error @ (AppendError::DuplicateEvent(_) | AppendError::Empty)) => {
                unreachable!("fresh event ids and a non-empty decision: {error}")
            }
        };
        if appended.replayed {
            // A concurrent retry with the same key got there first.
            let key = meta.idempotency_key.as_deref().unwrap_or_default();
            let filing = command.is_filing();
            return self.replayed(case_id, key, appended, filing).await;
        }
        let status = events
            .iter()
            .fold(case, |case, event| case.evolve(event, now))
            .status;
        Ok(CommandOutcome {
            case_id,
            version: appended.last_version,
            status,
            appended: Some(appended),
            events,
        })
    }

    /// The outcome of an earlier append, as the retried caller should see it. A key used
    /// before for another case is refused rather than answered with that case's outcome;
    /// a retried filing cannot know its case id, so it is answered with the case its key
    /// filed.
    async fn replayed(
        &self,
        case_id: CaseId,
        key: &str,
        original: Appended,
        filing: bool,
    ) -> Result<CommandOutcome, CommandError> {
        let reused = || CommandError::IdempotencyKeyReused {
            key: key.to_owned(),
        };
        let case_id = if filing && original.first_version == 1 {
            CaseId::from_uuid(original.stream_id)
        } else {
            case_id
        };
        if original.stream_id != case_id.as_uuid() {
            return Err(reused());
        }
        let stored = self.store.read_stream(original.stream_id).await?;
        let upto: Vec<StoredEvent> = stored
            .into_iter()
            .take_while(|e| e.stream_version <= original.last_version)
            .collect();
        let case = fold(case_id, &upto)?;
        let events: Vec<CaseEvent> = upto
            .iter()
            .filter(|e| e.stream_version >= original.first_version)
            .map(decode)
            .collect::<Result<_, _>>()?;
        if filing && !matches!(events.first(), Some(CaseEvent::ConcernFiled { .. })) {
            return Err(reused());
        }
        Ok(CommandOutcome {
            case_id,
            version: original.last_version,
            status: case.status,
            appended: Some(original),
            events,
        })
    }
}

fn to_new_event(event: &CaseEvent, seen: Seen) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        context: event.context().as_str(),
        event_type: event.event_type(),
        schema_version: event.schema_version(),
        payload: event.to_payload(),
        causal: Some(seen.to_string()),
    }
}

pub(crate) fn decode(stored: &StoredEvent) -> Result<CaseEvent, CommandError> {
    CaseEvent::from_stored(&stored.event_type, stored.schema_version, &stored.payload).map_err(
        |source| CommandError::Decode {
            position: stored.position,
            stream_id: stored.stream_id,
            source,
        },
    )
}

fn fold(case_id: CaseId, stored: &[StoredEvent]) -> Result<Case, CommandError> {
    let mut case = Case::new(case_id);
    for event in stored {
        case = case.evolve(&decode(event)?, event.metadata.recorded_at);
    }
    Ok(case)
}
