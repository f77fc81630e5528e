//! The distributed bus (DESIGN §5): each service's relay publishes its own events to one
//! NATS JetStream stream; inboxes and the projector follow it through [`JetStreamFeed`].
//! Subjects and stream settings are in [`subject`]; the wire format in [`wire`]. Commands
//! travel as NATS request/reply ([`NatsCommands`], [`serve_commands`]).

mod commands;
mod feed;
mod relay;
pub mod subject;
pub mod wire;

use std::time::Duration;

use async_nats::jetstream;

pub use commands::{NatsCommands, serve_commands};
pub use feed::JetStreamFeed;
pub use relay::{RELAY_CHECKPOINT, Relay, RelayStatus, Relayed};
pub use subject::StreamSettings;

/// Everything the bus can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Store(#[from] gongzhi_store::StoreError),
    #[error("encoding an event for the bus: {0}")]
    Encode(#[from] serde_json::Error),
}

macro_rules! nats_errors {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for BusError {
            fn from(error: $error) -> Self {
                Self::Nats(error.to_string())
            }
        })*
    };
}

nats_errors!(
    async_nats::ConnectError,
    async_nats::jetstream::context::PublishError,
    async_nats::jetstream::context::CreateStreamError,
    async_nats::jetstream::context::GetStreamError,
    async_nats::jetstream::stream::ConsumerError,
);

/// Connects to the servers in `urls` (comma-separated) and makes sure the events stream
/// exists with `settings`.
pub async fn connect(
    urls: &str,
    settings: &StreamSettings,
) -> Result<jetstream::Context, BusError> {
    let jetstream = jetstream::new(connect_client(urls).await?);
    ensure_stream(&jetstream, settings).await?;
    Ok(jetstream)
}

/// How long a starting service waits for the cluster to be able to create the stream.
const STREAM_WITHIN: Duration = Duration::from_secs(60);

/// Makes sure the events stream exists with `settings`. A cluster that has just started
/// may not have elected its JetStream leader yet: keep asking for a while.
pub async fn ensure_stream(
    jetstream: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<(), BusError> {
    let started = std::time::Instant::now();
    loop {
        match jetstream.get_or_create_stream(settings.config()).await {
            Ok(_) => return Ok(()),
            Err(error) if started.elapsed() < STREAM_WITHIN => {
                tracing::info!(%error, "waiting for JetStream to create the stream");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// A NATS connection to the servers in `urls` (comma-separated); the client keeps
/// reconnecting to whichever of them is up.
pub async fn connect_client(urls: &str) -> Result<async_nats::Client, BusError> {
    let servers = urls
        .split(',')
        .map(|url| url.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| BusError::Nats(format!("server list '{urls}': {error}")))?;
    Ok(async_nats::ConnectOptions::new()
        .name("gongzhi")
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(servers)
        .await?)
}
