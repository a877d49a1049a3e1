//! Durable Functions for Rust: a function host with durable orchestrations.
//!
//! - [`engine`]: the pure replay engine and the orchestration context API;
//! - [`store`]: the task hub trait and its backends (embedded SQLite by default);
//! - [`runtime`]: dispatchers that run orchestrations and activities against a task hub;
//! - [`client`]: [`DurableClient`], to start and manage instances;
//! - [`triggers`]: the timer trigger (NCRONTAB schedules, status kept in the task hub), and
//!   with the `azure` feature the queue and blob triggers on Azure Storage.
#![warn(missing_docs)]

pub mod app;
pub mod client;
pub mod engine;
pub mod host;
pub mod http;
pub mod http_api;
pub mod runtime;
pub mod store;
pub mod triggers;

pub use client::{ClientError, DurableClient};
pub use durable_macros::{
    activity_trigger, blob_trigger, durable_client, entity_trigger, http_trigger,
    orchestration_trigger, queue_trigger, timer_trigger,
};
pub use engine::context::OrchestrationContext;
pub use engine::entity::{EntityContext, EntityId, EntityLock};
pub use engine::failure::{Failure, TaskError};
pub use engine::function::{Activity, ActivityContext, Orchestration};
pub use engine::futures::{when_all, when_any};
pub use engine::history::{FailureDetails, OrchestrationStatus};
pub use engine::retry::RetryOptions;
pub use runtime::{Registry, Runtime, RuntimeOptions};

/// Items the trigger attributes' expansions refer to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use futures;
    pub use inventory;
    pub use serde_json;
}
