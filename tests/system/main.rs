//! System tests: whole stories through the service, the event store and the projections,
//! on SQLite and on PostgreSQL; and the whole product over real HTTP (`http`).

mod browser;
mod bus;
mod distributed;
mod faults;
mod http;
mod replicas;
mod story;
mod support;
mod topology;
