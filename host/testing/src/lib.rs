//! Test infrastructure for Durable Functions for Rust, kept out of the product: the Azurite
//! emulator as a child process ([`azurite`]). The task hub conformance suite is the
//! `conformance` feature of `durable-store`.
#![warn(missing_docs)]

pub mod azurite;
