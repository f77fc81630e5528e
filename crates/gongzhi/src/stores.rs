//! Opening a deployment's event stores and filling them with a simulated history.

use anyhow::{Context, Result};
use gongzhi_service::Stores;
use gongzhi_service::history::{self, HistoricEvent};
use gongzhi_store::{AnyEventStore, EventStore, connect};

use crate::admin::redact;

/// Opens (and migrates) the three context stores and the projector's replica.
pub async fn open(urls: &Stores<String>) -> Result<Stores<AnyEventStore>> {
    let open = |url: &String| {
        let url = url.clone();
        async move {
            connect(&url)
                .await
                .with_context(|| format!("opening the event store {}", redact(&url)))
        }
    };
    Ok(Stores {
        intake: open(&urls.intake).await?,
        assignment: open(&urls.assignment).await?,
        resolution: open(&urls.resolution).await?,
        log: open(&urls.log).await?,
    })
}

/// Events in every store together; empty stores mean a fresh deployment.
pub async fn count(stores: &Stores<AnyEventStore>) -> Result<u64> {
    let mut total = 0;
    for (_, store) in stores.named() {
        total += store.count().await?;
    }
    Ok(total)
}

/// Writes a simulated history into every store (each context keeps a replica of the
/// others, the projector of all), then marks every inbox as caught up with it.
/// `progress` gets the events written so far over all stores.
pub async fn load_history(
    stores: &Stores<AnyEventStore>,
    events: &[HistoricEvent],
    mut progress: impl FnMut(u64),
) -> Result<()> {
    let mut heads = Vec::new();
    let mut done = 0;
    for (name, store) in stores.named() {
        let head = history::load(store, events, 1_000, |written| {
            progress(done + written as u64);
        })
        .await
        .with_context(|| format!("writing the history into the {name} store"))?;
        done += events.len() as u64;
        heads.push(head);
    }
    stores
        .mark_delivered([heads[0], heads[1], heads[2]])
        .await?;
    Ok(())
}
