//! The deadline timer of the assignment service and the feedback-window timer of the
//! resolution service. Both work from stored state (the views' next deadline and
//! resolution time), never from timers held in memory, so a restart loses nothing: the
//! first tick after it records every deadline that passed while the process was down,
//! once per dispatch (the domain refuses to record one twice).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gongzhi_domain::{Actor, AssignmentCommand, CaseId, Command, ResolutionCommand};
use gongzhi_store::Partition;
use gongzhi_views::ViewStore;

use crate::clock::Clock;
use crate::commands::Commands;
use crate::error::CommandError;
use crate::service::{Policy, RequestMeta};

/// Cases looked at per query.
const PAGE: u32 = 500;

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Cases whose deadlines were checked.
    pub deadlines_checked: usize,
    /// Of those, cases where an overdue event was recorded.
    pub overdue_recorded: usize,
    /// Cases closed because the feedback window passed.
    pub auto_closed: usize,
}

/// Drives `CheckDeadlines` and `CheckFeedbackWindow` for the cases that need them.
pub struct Timers {
    commands: Arc<dyn Commands>,
    views: ViewStore,
    clock: Arc<dyn Clock>,
    policy: Arc<Policy>,
    /// The cases these timers look after; the projector's copies split them.
    partition: Partition,
}

impl Timers {
    pub fn new(
        commands: Arc<dyn Commands>,
        views: ViewStore,
        clock: Arc<dyn Clock>,
        policy: Arc<Policy>,
    ) -> Self {
        Self {
            commands,
            views,
            clock,
            policy,
            partition: Partition::WHOLE,
        }
    }

    pub fn with_partition(mut self, partition: Partition) -> Self {
        self.partition = partition;
        self
    }

    async fn system(&self, case_id: CaseId, command: Command) -> Result<bool, CommandError> {
        match self
            .commands
            .execute(case_id, &Actor::System, &command, &RequestMeta::default())
            .await
        {
            Ok(outcome) => Ok(!outcome.events.is_empty()),
            // Someone else changed the case this instant, or its context is still catching
            // up with the others: the next tick looks again, the other cases go on now.
            Err(error) if error.passes() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Checks every case whose deadline or feedback window has passed.
    pub async fn tick(&self) -> Result<TickReport, CommandError> {
        let now = self.clock.now();
        let mut report = TickReport::default();
        for case_id in self.views.deadlines_due(now, PAGE).await.map_err(store)? {
            if !self.partition.contains(case_id.as_uuid()) {
                continue;
            }
            report.deadlines_checked += 1;
            let check = Command::Assignment(AssignmentCommand::CheckDeadlines);
            if self.system(case_id, check).await? {
                report.overdue_recorded += 1;
            }
        }
        let window = self.policy.sla.feedback_window;
        for (case_id, resolved_at) in self.views.resolved_before(now, PAGE).await.map_err(store)? {
            // Ordered by resolution time: once one is still inside its window, so are the rest.
            if window.after(resolved_at, &self.policy.calendar) > now {
                break;
            }
            if !self.partition.contains(case_id.as_uuid()) {
                continue;
            }
            let check = Command::Resolution(ResolutionCommand::CheckFeedbackWindow);
            if self.system(case_id, check).await? {
                report.auto_closed += 1;
            }
        }
        Ok(report)
    }

    /// Ticks every `every` until `shutdown`; a failed tick is logged and retried.
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.tick().await {
                Ok(report) if report.overdue_recorded + report.auto_closed > 0 => {
                    tracing::info!(?report, "timers recorded deadlines");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "timer tick failed; retrying"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

fn store(error: gongzhi_views::ProjectionError) -> CommandError {
    CommandError::Unavailable(format!("reading the views: {error}"))
}
