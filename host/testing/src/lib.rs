//! Test infrastructure for Durable Functions for Rust, kept out of the product:
//!
//! - [`azurite`]: the Azurite emulator as a child process, in memory or on disk, with a
//!   crash-restart ([`azurite::Azurite::restart`]) for fault tests;
//! - [`fault_proxy`]: a TCP proxy that injects delays, resets and partitions between a client
//!   and its upstream;
//! - [`fs_faults`]: file system faults (`EIO` on fsync, `EMFILE`, `ENOSPC`, `EROFS`) for a
//!   child process, through an `LD_PRELOAD` shim compiled on first use;
//! - [`tls`]: a certificate authority and server certificate made by the test (Azurite over
//!   HTTPS, for its OAuth mode);
//! - [`identity_provider`]: the managed identity endpoint and the Entra token endpoint, issuing
//!   tokens Azurite's OAuth mode accepts, for identity-based connections;
//! - [`otlp_receiver`]: an OTLP receiver (gRPC or HTTP/protobuf) standing in for an
//!   OpenTelemetry collector, collecting the spans and metrics a host exports.
//!
//! The task hub conformance suite is the `conformance` feature of `durable-store`.
#![warn(missing_docs)]

pub mod azurite;
pub mod fault_proxy;
pub mod fs_faults;
pub mod identity_provider;
pub mod moto;
pub mod otlp_receiver;
mod request_log;
pub mod tls;
