//! The three context services of DESIGN §3, each over its own event store, and the
//! projector's replica (the log the views are projected from), wired as embedded mode
//! wires them: every context keeps a replica of the other two, the log of all three.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use gongzhi_domain::{Actor, CaseId, Command, Context};
use gongzhi_store::{EventStore, Position};
use tokio::sync::OwnedMutexGuard;

use crate::causal::Seen;
use crate::clock::Clock;
use crate::commands::{BoxFuture, Commands, HistoryEntry, history_of};
use crate::error::CommandError;
use crate::inbox::{Inbox, StoreFeed};
use crate::service::{CaseService, CommandOutcome, Policy, RequestMeta};

/// The event stores of one deployment.
#[derive(Debug, Clone)]
pub struct Stores<S> {
    pub intake: S,
    pub assignment: S,
    pub resolution: S,
    /// The projector's replica of all three, in an order that respects causality.
    pub log: S,
}

impl<S> Stores<S> {
    /// The store a context owns.
    pub fn of(&self, context: Context) -> &S {
        match context {
            Context::Intake => &self.intake,
            Context::Assignment => &self.assignment,
            Context::Resolution => &self.resolution,
        }
    }

    /// Every store with its name, the log last.
    pub fn named(&self) -> [(&'static str, &S); 4] {
        [
            ("intake", &self.intake),
            ("assignment", &self.assignment),
            ("resolution", &self.resolution),
            ("projector", &self.log),
        ]
    }
}

impl<S: EventStore + Clone> Stores<S> {
    /// The in-process bus: each context follows the other two, the log all three.
    pub fn inboxes(&self) -> Vec<Inbox<S, StoreFeed<S>>> {
        let mut inboxes = Vec::new();
        for local in Context::ALL {
            for origin in Context::ALL.into_iter().filter(|o| *o != local) {
                inboxes.push(Inbox::new(
                    self.of(local).clone(),
                    StoreFeed::new(self.of(origin).clone(), origin),
                ));
            }
        }
        for origin in Context::ALL {
            inboxes.push(Inbox::new(
                self.log.clone(),
                StoreFeed::new(self.of(origin).clone(), origin),
            ));
        }
        inboxes
    }

    /// Marks every inbox as having read its origin up to `heads` (the last position of
    /// intake, assignment and resolution): for stores filled by a bulk load that wrote
    /// every event into every store.
    pub async fn mark_delivered(&self, heads: [Position; 3]) -> Result<(), CommandError> {
        for inbox_local in [&self.intake, &self.assignment, &self.resolution, &self.log] {
            for (origin, head) in Context::ALL.into_iter().zip(heads) {
                inbox_local
                    .save_checkpoint(&format!("inbox:{}", origin.as_str()), head)
                    .await?;
            }
        }
        Ok(())
    }
}

/// How long a command waits for its context's replica of a case to catch up with the
/// other contexts' stores before it gives up with 503 (retrying with the same
/// idempotency key is safe).
const CATCH_UP: Duration = Duration::from_secs(2);

/// The three services behind the one door the gateway uses.
///
/// Commands on one case are carried out one at a time, each after its context's replica
/// has caught up with everything the other contexts hold of the case. So two concurrent
/// commands in different contexts (a withdrawal racing a dispatch) cannot both be decided
/// on the same state: the second sees the first, and every pair of a case's events is
/// causally ordered, so every replica holds them in the same order. The lock is taken in
/// this process, then as a lease in the database (PostgreSQL advisory lock) when the
/// contexts run as separate processes on one database.
pub struct ContextServices<S: EventStore> {
    intake: CaseService<S>,
    assignment: CaseService<S>,
    resolution: CaseService<S>,
    stores: Stores<S>,
    locks: CaseLocks,
}

/// One lock per case with commands under way; a case's entry goes when its last holder
/// is done.
#[derive(Default)]
struct CaseLocks(Mutex<HashMap<CaseId, Weak<tokio::sync::Mutex<()>>>>);

impl CaseLocks {
    async fn lock(&self, case_id: CaseId) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(lock) = locks.get(&case_id).and_then(Weak::upgrade) {
                lock
            } else {
                if locks.len() > 1_024 {
                    locks.retain(|_, lock| lock.strong_count() > 0);
                }
                let lock = Arc::new(tokio::sync::Mutex::new(()));
                locks.insert(case_id, Arc::downgrade(&lock));
                lock
            }
        };
        lock.lock_owned().await
    }
}

impl<S: EventStore + Clone> ContextServices<S> {
    pub fn new(stores: &Stores<S>, policy: Arc<Policy>, clock: Arc<dyn Clock>) -> Self {
        let service = |context| {
            CaseService::for_context(
                stores.of(context).clone(),
                context,
                Arc::clone(&policy),
                Arc::clone(&clock),
            )
        };
        Self {
            intake: service(Context::Intake),
            assignment: service(Context::Assignment),
            resolution: service(Context::Resolution),
            stores: stores.clone(),
            locks: CaseLocks::default(),
        }
    }

    /// Waits until `local`'s replica of the case holds every event the other contexts'
    /// stores hold of it (their inboxes deliver them; this only waits).
    async fn catch_up(&self, case_id: CaseId, local: Context) -> Result<(), CommandError> {
        let id = [case_id.as_uuid()];
        let held_in = async |store: &S| -> Result<Seen, CommandError> {
            let mut held = Seen::by_stream(store.count_by_context(&id).await?);
            Ok(held.remove(&id[0]).unwrap_or_default())
        };
        let mut wanted = Seen::default();
        for origin in Context::ALL.into_iter().filter(|o| *o != local) {
            wanted.set(origin, held_in(self.stores.of(origin)).await?.get(origin));
        }
        let store = self.stores.of(local);
        let deadline = Instant::now() + CATCH_UP;
        let mut appended = store.appended();
        loop {
            appended.borrow_and_update();
            let held = held_in(store).await?;
            let behind = Context::ALL
                .into_iter()
                .any(|origin| origin != local && held.get(origin) < wanted.get(origin));
            if !behind {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(CommandError::Unavailable(format!(
                    "the {} service has not yet received the other services' events of case \
                     {case_id}; retry with the same Idempotency-Key",
                    local.as_str()
                )));
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), appended.changed()).await;
        }
    }

    fn service(&self, context: Context) -> &CaseService<S> {
        match context {
            Context::Intake => &self.intake,
            Context::Assignment => &self.assignment,
            Context::Resolution => &self.resolution,
        }
    }
}

impl<S: EventStore + Clone> Commands for ContextServices<S> {
    fn execute<'a>(
        &'a self,
        case_id: CaseId,
        actor: &'a Actor,
        command: &'a Command,
        meta: &'a RequestMeta,
    ) -> BoxFuture<'a, Result<CommandOutcome, CommandError>> {
        Box::pin(async move {
            let _one_at_a_time = self.locks.lock(case_id).await;
            // A filing makes a new case that nothing else can act on yet (a retry of it is
            // answered through its idempotency key): no lease and no catch-up.
            let filing = command.is_filing();
            let _leased = if filing {
                None
            } else {
                // Across processes too, where the stores can hold a case (PostgreSQL).
                let store = self.stores.of(command.context());
                let lease = store.lease(case_id.as_uuid()).await.map_err(|error| {
                    CommandError::Unavailable(format!(
                        "case {case_id} is busy in another process ({error}); retry with the \
                         same Idempotency-Key"
                    ))
                })?;
                self.catch_up(case_id, command.context()).await?;
                lease
            };
            self.service(command.context())
                .execute(case_id, actor, command, meta)
                .await
        })
    }

    /// From the projector's replica: all three contexts, causes before effects.
    fn history(&self, case_id: CaseId) -> BoxFuture<'_, Result<Vec<HistoryEntry>, CommandError>> {
        Box::pin(async move { history_of(&self.stores.log, case_id).await })
    }
}
