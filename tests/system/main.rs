//! System tests: whole stories through the service, the event store and the projections,
//! on SQLite and on PostgreSQL.

mod story;
mod support;
