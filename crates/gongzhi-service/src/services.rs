//! The three context services of DESIGN §3, each over its own event store, and the
//! projector's replica (the log the views are projected from), wired as embedded mode
//! wires them: every context keeps a replica of the other two, the log of all three.

use std::sync::Arc;

use gongzhi_domain::{Actor, CaseId, Command, Context};
use gongzhi_store::{EventStore, Position};

use crate::clock::Clock;
use crate::commands::{BoxFuture, Commands, HistoryEntry};
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

/// The three services behind the one door the gateway uses.
pub struct ContextServices<S: EventStore> {
    intake: CaseService<S>,
    assignment: CaseService<S>,
    resolution: CaseService<S>,
    log: S,
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
            log: stores.log.clone(),
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
        Box::pin(
            self.service(command.context())
                .execute(case_id, actor, command, meta),
        )
    }

    /// From the projector's replica: all three contexts, causes before effects.
    fn history(&self, case_id: CaseId) -> BoxFuture<'_, Result<Vec<HistoryEntry>, CommandError>> {
        Box::pin(async move {
            let stored = self.log.read_stream(case_id.as_uuid()).await?;
            Ok(stored.into_iter().map(HistoryEntry::from).collect())
        })
    }
}
