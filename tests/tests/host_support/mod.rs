//! Support for the host tests: the `host-test-app` binary run by [`tests::app_host`].
//!
//! Included by the `host_*.rs` tests with `#[path = "host_support/mod.rs"] mod support;`.
#![allow(dead_code)]

pub use tests::app_host::*;

/// The test app binary.
pub const APP: &str = env!("CARGO_BIN_EXE_host-test-app");

/// A temporary app directory for the test app.
pub fn app_dir(values: serde_json::Value, host_json: Option<serde_json::Value>) -> AppDir {
    AppDir::new(APP, values, host_json)
}
