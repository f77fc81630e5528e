//! The gateway's settings, validated once at start-up.

use std::time::Duration;

use gongzhi_domain::Role;

/// How the gateway behaves. Defaults suit `gongzhi dev`.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Requests per minute per client address without a session; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// How long a login lasts.
    pub session_ttl: chrono::Duration,
    /// Mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookie: bool,
    /// How long a command's reply waits for the views to show it before answering anyway.
    pub read_your_writes_timeout: Duration,
    /// Smallest sample (rated cases) for a group to be ranked in statistics.
    pub min_sample: i64,
    /// The most items a list returns per page.
    pub max_per_page: u64,
    /// Demo accounts the start page lists (`gongzhi dev`); empty in a real deployment.
    pub demo_accounts: Vec<(String, Role)>,
    /// The demo accounts' shared password, published on the start page with them.
    pub demo_password: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            rate_limit_per_minute: 120,
            session_ttl: chrono::Duration::hours(12),
            secure_cookie: false,
            read_your_writes_timeout: Duration::from_secs(5),
            min_sample: 10,
            max_per_page: 200,
            demo_accounts: Vec::new(),
            demo_password: String::new(),
        }
    }
}
