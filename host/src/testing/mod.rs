//! Tools for testing orchestrations before they reach production.
//!
//! - [`replay_histories`] and [`assert_histories_replay`]: the replay check. Export the
//!   histories of real instances with `<app> export-history --output histories/`, check them
//!   in, and a `cargo test` replays each against the orchestrators of this build, failing with
//!   the event and the call that no longer match. Run it in CI before every deploy.
//!
//! - [`TestHub`]: an in-memory task hub with a virtual clock, so a unit test runs an
//!   orchestration with a 72-hour timer in milliseconds, with activities optionally stubbed,
//!   and asserts on its output, custom status, history and activity calls.
//!
//! See docs/testing.md.

mod hub;
mod replay;

pub use hub::{default_start, StillRunning, TestHub, TestInstance};

pub use durable_engine::replay::check::{replay, ReplayError, Replayed, StoredHistory};
pub use replay::{
    assert_histories_replay, replay_histories, replay_histories_with, ReplayFailures,
};
