//! Shared test fixtures. [`PgCluster`] starts a throw-away PostgreSQL server on loopback
//! and removes it on `Drop`; tests that need PostgreSQL start one instead of skipping.

mod postgres;

pub use postgres::{PgCluster, PgSettings};
