//! Why a projection stopped. The projector never skips an event it cannot apply: it stops
//! and says which one.

use gongzhi_domain::DecodeError;
use gongzhi_store::{Position, StoreError};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("event at position {position} in stream {stream_id} cannot be decoded")]
    Decode {
        position: Position,
        stream_id: Uuid,
        #[source]
        source: DecodeError,
    },
    #[error(
        "event at position {position} in stream {stream_id} has version {version}, but the view is at {applied}: events are missing"
    )]
    Gap {
        position: Position,
        stream_id: Uuid,
        version: u64,
        applied: u64,
    },
    /// Another projector moved the checkpoint since this one read it; writing would count
    /// the same events twice, so nothing was written.
    #[error(
        "projector '{consumer}' expected its checkpoint at {expected}, but another projector moved it"
    )]
    CheckpointMoved {
        consumer: String,
        expected: Position,
    },
    /// A rebuild empties every view, so only a projector of every case may do it.
    #[error(
        "projector share {partition} cannot rebuild the views: they hold the other shares' cases too"
    )]
    PartialRebuild { partition: String },
    #[error("view store error")]
    Database(#[from] sqlx::Error),
    #[error("event store error")]
    Store(#[from] StoreError),
}
