//! Tools for testing orchestrations before they reach production.
//!
//! - [`replay_histories`] and [`assert_histories_replay`]: the replay check. Export the
//!   histories of real instances with `<app> export-history --output histories/`, check them
//!   in, and a `cargo test` replays each against the orchestrators of this build, failing with
//!   the event and the call that no longer match. Run it in CI before every deploy.
//!
//! See docs/testing.md.

mod replay;

pub use durable_engine::replay::check::{replay, ReplayError, Replayed, StoredHistory};
pub use replay::{
    assert_histories_replay, replay_histories, replay_histories_with, ReplayFailures,
};
