//! Integration tests of the event store: one conformance suite run on both backends, and
//! the PostgreSQL ordering stress test.

mod conformance;
mod ordering;
mod support;
