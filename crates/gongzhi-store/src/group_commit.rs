//! Group commit for the SQLite writer. SQLite has one writer, so appends queue for it
//! anyway; the writer task takes every append waiting at that moment and commits them in
//! one transaction, paying for one fsync instead of one each. A lone append still runs as
//! a single autocommitted statement, so low load pays nothing extra but a channel hop.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::error::{AppendError, StoreError};
use crate::sqlite::{InTransaction, SqliteEventStore};
use crate::types::{AppendRequest, Metadata, NewEvent};

/// Most appends committed together; bounds the latency a large group adds to its first.
const MAX_GROUP: usize = 256;

/// An append handed to the writer task, owning its data.
pub(crate) struct Job {
    pub stream_id: Uuid,
    pub expected_version: u64,
    pub events: Vec<NewEvent>,
    pub metadata: Metadata,
    pub reply: oneshot::Sender<Result<InTransaction, AppendError>>,
}

impl Job {
    fn request(&self) -> AppendRequest<'_> {
        AppendRequest {
            stream_id: self.stream_id,
            expected_version: self.expected_version,
            events: &self.events,
            metadata: &self.metadata,
        }
    }
}

/// Starts the writer task; it ends when every sender is dropped.
pub(crate) fn spawn(writer: SqlitePool, appended: watch::Sender<u64>) -> mpsc::Sender<Job> {
    let (sender, mut jobs) = mpsc::channel::<Job>(4 * MAX_GROUP);
    tokio::spawn(async move {
        while let Some(first) = jobs.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            commit(&writer, group).await;
            appended.send_modify(|n| *n += 1);
        }
    });
    sender
}

async fn commit(writer: &SqlitePool, mut group: Vec<Job>) {
    if group.len() == 1 {
        let job = group.remove(0);
        let outcome = SqliteEventStore::append_on(writer, &job.request()).await;
        let _ = job.reply.send(outcome);
        return;
    }
    match in_one_transaction(writer, &group).await {
        Ok(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                // The caller may have given up waiting; its append stands regardless.
                let _ = job.reply.send(outcome);
            }
        }
        Err(error) => {
            let message = error.to_string();
            for job in group {
                let _ = job
                    .reply
                    .send(Err(StoreError::Commit(message.clone()).into()));
            }
        }
    }
}

/// Each append is one statement; a statement refused by a constraint (a conflict, a reused
/// key) undoes only itself, so the others in the group still commit. Any other database
/// error fails the whole group.
async fn in_one_transaction(
    writer: &SqlitePool,
    group: &[Job],
) -> Result<Vec<Result<InTransaction, AppendError>>, sqlx::Error> {
    let mut tx = writer.begin().await?;
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        let outcome = SqliteEventStore::append_on(&mut *tx, &job.request()).await;
        // A database error (disk full, I/O) may have rolled the whole transaction back
        // behind our back: stop here, so nothing after it commits on its own.
        if let Err(AppendError::Store(StoreError::Database(error))) = outcome {
            return Err(error);
        }
        outcomes.push(outcome);
    }
    tx.commit().await?;
    Ok(outcomes)
}
