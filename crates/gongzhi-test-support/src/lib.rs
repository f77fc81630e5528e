//! Shared test fixtures. [`PgCluster`] starts a throw-away PostgreSQL server and
//! [`NatsCluster`] a throw-away NATS JetStream cluster on loopback; both stop and remove
//! everything on `Drop`. Tests that need them start one instead of skipping.

mod nats;
mod ports;
mod postgres;

pub use nats::NatsCluster;
pub use ports::port_base;
pub use postgres::{PgCluster, PgSettings};
