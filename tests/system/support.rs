//! Fixtures for system tests: a backend (SQLite files or a PostgreSQL cluster), the shipped
//! policy and calendar, and a clock the test moves.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use gongzhi_domain::{Calendar, SlaPolicy};
use gongzhi_service::{Policy, Stores};
use gongzhi_store::{AnyEventStore, connect};
use gongzhi_test_support::PgCluster;

/// Keeps a backend alive for a test and names its databases.
pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgCluster),
}

impl Backend {
    pub fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    pub fn postgres() -> Self {
        Self::Postgres(PgCluster::start().unwrap())
    }

    /// The URL of a database (SQLite file or PostgreSQL schema) called `name`.
    pub fn url(&self, name: &str) -> String {
        match self {
            Self::Sqlite(dir) => format!(
                "sqlite://{}",
                dir.path().join(format!("{name}.sqlite")).display()
            ),
            Self::Postgres(cluster) => format!("{}?schema={name}", cluster.url()),
        }
    }
}

/// The three contexts' stores and the projector's log, each its own database of `backend`.
pub async fn stores(backend: &Backend) -> Stores<AnyEventStore> {
    Stores {
        intake: connect(&backend.url("intake")).await.unwrap(),
        assignment: connect(&backend.url("assignment")).await.unwrap(),
        resolution: connect(&backend.url("resolution")).await.unwrap(),
        log: connect(&backend.url("log")).await.unwrap(),
    }
}

pub fn policy() -> Arc<Policy> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
    let sla = SlaPolicy::from_toml(&std::fs::read_to_string(format!("{root}/sla.toml")).unwrap())
        .unwrap();
    let mut calendar = Calendar::china();
    calendar
        .load_year(&std::fs::read_to_string(format!("{root}/calendar/2026.toml")).unwrap())
        .unwrap();
    Arc::new(Policy { sla, calendar })
}

pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// China local time.
pub fn cst(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    china()
        .with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}
