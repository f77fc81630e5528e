//! System tests: whole stories through the service, the event store and the projections,
//! on SQLite and on PostgreSQL.

mod faults;
mod story;
mod support;
