//! Durable Functions for Rust: a function host with durable orchestrations.
//!
//! - [`engine`]: the pure replay engine and the orchestration context API;
//! - [`store`]: the task hub trait and its backends (embedded SQLite by default);
//! - [`runtime`]: dispatchers that run orchestrations and activities against a task hub.
#![warn(missing_docs)]

pub mod engine;
pub mod store;
