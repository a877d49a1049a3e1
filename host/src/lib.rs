//! Durable Functions for Rust: a function host with durable orchestrations.
//!
//! # Quick start
//!
//! A function app is a binary crate:
//!
//! ```toml
//! [dependencies]
//! durable = { path = "../durable-functions-rust/host" } # your checkout
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! Its functions register themselves, and `main` hands over to the host:
//!
//! ```no_run
//! use durable::prelude::*;
//!
//! #[activity_trigger]
//! async fn say_hello(city: String) -> Result<String, Failure> {
//!     Ok(format!("Hello {city}!"))
//! }
//!
//! #[orchestration_trigger]
//! async fn hello_cities(ctx: OrchestrationContext) -> Result<Vec<String>, Failure> {
//!     let mut greetings = Vec::new();
//!     for city in ["Tokyo", "Seattle", "London"] {
//!         greetings.push(ctx.call_activity(say_hello, city).await?);
//!     }
//!     Ok(greetings)
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     durable::host::main()
//! }
//! ```
//!
//! `cargo run` starts the host on port 7071 with the task hub in an embedded SQLite file under
//! `.durable/`; `curl -X POST http://localhost:7071/api/orchestrators/hello_cities` starts an
//! orchestration (with an HTTP starter function, see [`prelude`]). Build with the `azure`
//! feature and set `AzureWebJobsStorage` to keep the task hub in Azure Storage instead.
//!
//! # Layers
//!
//! - [`prelude`]: what an app imports;
//! - [`engine`] (the `durable-engine` crate): the pure replay engine and the orchestration
//!   context API;
//! - [`store`] (the `durable-store` crate, with `durable-sqlite` as [`store::sqlite`]): the
//!   task hub API and its backends;
//! - [`runtime`]: dispatchers that run orchestrations and activities against a task hub;
//! - [`client`]: [`DurableClient`], to start and manage instances;
//! - [`host`]: the function host, its HTTP API and [`triggers`].
#![warn(missing_docs)]

pub mod app;
pub use durable_client as client;
pub use durable_engine as engine;
pub mod host;
pub use durable_http as http;
mod http_api;
pub mod prelude;
pub use durable_runtime as runtime;
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
#[path = "private.rs"]
pub mod __private;
