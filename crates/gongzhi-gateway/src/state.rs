//! What every handler can reach.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::FixedOffset;
use gongzhi_accounts::Accounts;
use gongzhi_domain::Directory;
use gongzhi_service::{Clock, Commands, Policy, SecretKey};
use gongzhi_store::Position;
use gongzhi_views::{Applied, ViewStore};
use tokio::sync::{broadcast, watch};

use crate::config::GatewayConfig;
use crate::limit::RateLimiter;
use crate::metrics::Metrics;
use crate::session::SessionCache;

/// The gateway's dependencies, built once by the caller and shared by every request.
pub struct Gateway {
    pub commands: Arc<dyn Commands>,
    pub views: ViewStore,
    /// Where the written views stand (see `Projector::committed`).
    pub committed: watch::Receiver<Position>,
    /// The cases each write of the views changed (see `Projector::applied`).
    pub applied: broadcast::Sender<Applied>,
    pub accounts: Accounts,
    pub directory: Arc<Directory>,
    pub policy: Arc<Policy>,
    pub clock: Arc<dyn Clock>,
    pub secret_key: SecretKey,
    pub config: GatewayConfig,
}

/// The gateway plus its own runtime state.
pub struct AppState {
    pub gateway: Gateway,
    pub offset: FixedOffset,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    pub sessions: SessionCache,
    /// Tracking codes handed out but maybe not yet in the views, so two filings in the
    /// same instant cannot get the same code.
    pub pending_codes: Mutex<HashSet<String>>,
    /// Turns true when the server begins to stop, so long-lived responses (server-sent
    /// events) end and the graceful shutdown does not wait for them forever.
    pub closing: watch::Sender<bool>,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(gateway: Gateway) -> SharedState {
        let offset = gateway.policy.calendar.offset();
        let limiter = RateLimiter::new(gateway.config.rate_limit_per_minute);
        Arc::new(Self {
            gateway,
            offset,
            metrics: Metrics::default(),
            limiter,
            sessions: SessionCache::default(),
            pending_codes: Mutex::new(HashSet::new()),
            closing: watch::Sender::new(false),
        })
    }
}
