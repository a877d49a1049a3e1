//! Trigger attributes for Durable Functions for Rust.
//!
//! The attribute macros (`#[orchestration_trigger]`, `#[activity_trigger]`, ...) arrive with the
//! function-host work; until then this crate only reserves its place in the workspace.
