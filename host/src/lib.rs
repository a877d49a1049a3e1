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
//! This crate is the facade apps depend on; each layer is a crate of its own, re-exported here,
//! and each depends only on the layers below it:
//!
//! - [`prelude`]: what an app imports;
//! - [`host`] (`durable-host`): the function host: configuration, keys, the HTTP server, the
//!   built-in HTTP API, and the timer, queue and blob [`triggers`]; [`app`] is what the
//!   trigger attributes register;
//! - [`runtime`] (`durable-runtime`): the dispatchers that run orchestrations, activities and
//!   entities, with a live orchestration cache;
//! - [`client`](mod@client) (`durable-client`): [`DurableClient`], to start and manage instances;
//! - [`store`] (`durable-store`, with `durable-sqlite` as `store::sqlite` and, with the
//!   `azure` feature, `durable-azure` as `store::azure`): the task hub's roles and backends;
//! - [`http`] (`durable-http`): the request and response types of HTTP functions;
//! - [`engine`] (`durable-engine`): the pure replay engine, the orchestration and entity
//!   contexts; no I/O, no clock.
//!
//! [`testing`] holds the replay check that guards deploys of changed orchestrator code.
#![warn(missing_docs)]

pub use durable_client as client;
pub use durable_engine as engine;
pub use durable_host as host;
pub use durable_host::app;
pub use durable_http as http;
pub mod prelude;
pub use durable_runtime as runtime;
/// JSON Schemas of HTTP functions' bodies for the OpenAPI document: `#[derive(JsonSchema)]`
/// on the types named in `#[http_trigger(request_body = .., responses = [..])]`.
pub use schemars;
pub mod store;
pub use durable_host::triggers;
pub mod testing;

pub use client::{ClientError, DurableClient};
pub use durable_macros::{
    activity_trigger, blob_trigger, durable_client, entity_trigger, http_trigger,
    orchestration_trigger, queue_trigger, timer_trigger,
};
pub use engine::context::OrchestrationContext;
pub use engine::durable_http::{DurableHttpRequest, DurableHttpResponse};
pub use engine::entity::{EntityContext, EntityId, EntityLock};
pub use engine::failure::{Failure, TaskError};
pub use engine::function::{Activity, ActivityContext, Orchestration};
pub use engine::futures::{when_all, when_any};
pub use engine::history::{FailureDetails, OrchestrationStatus};
pub use engine::retry::RetryOptions;
pub use runtime::{ActivityLimits, Registry, Runtime, RuntimeOptions};

/// Items the trigger attributes' expansions refer to; not part of the public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
