//! The pure orchestration engine of Durable Functions for Rust: history model, replay, and the
//! orchestration and entity contexts.
//!
//! Nothing in here does I/O. Given an orchestration's past history and the new messages of an
//! episode, the engine runs the orchestrator code and returns the history delta and the
//! outbound messages (see [`replay`]). It reads no clock and draws no random ids: the time of an
//! episode and an [`environment::Environment`] are handed to it.
#![warn(missing_docs)]

pub mod activity_options;
pub mod context;
pub mod durable_http;
pub mod entity;
pub mod environment;
pub mod failure;
pub mod function;
pub mod futures;
pub mod guid;
pub mod history;
pub mod message;
pub mod replay;
pub mod retry;
pub mod rewind;
pub(crate) mod state;
pub mod time;
pub mod trace;
pub mod version;

#[cfg(test)]
mod tests;
