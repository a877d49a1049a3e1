//! The Durable Task protocol for Durable Functions for Rust: the `TaskHubSidecarService`
//! gRPC service that the Durable Task SDKs (such as the Python `durabletask` package) talk to
//! a backend over.
//!
//! Workers connect to it and run the orchestrators and activities this host has no Rust
//! function for: the [`WorkerHub`] is the runtime's
//! [`RemoteWorkers`](durable_runtime::remote::RemoteWorkers), sending each episode or
//! activity run to a connected worker and handing its answer back. The SDKs' clients start,
//! query and manage instances through the same service, on this host's
//! [`DurableClient`](durable_client::DurableClient). [`serve`] runs it on a listener.
//!
//! The design (routing, locks, what is served and what is not) is in
//! `docs/decisions/0024-durable-task-grpc.md`.
#![warn(missing_docs)]

pub mod convert;
pub mod errors;
mod hub;
pub mod proto;
mod server;
mod service;

pub use hub::{WorkerHub, DEFAULT_PING_INTERVAL};
pub use server::{serve, MAX_MESSAGE_BYTES};
pub use service::Sidecar;
