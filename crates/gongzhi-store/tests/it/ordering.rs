//! The PostgreSQL ordering stress test.
