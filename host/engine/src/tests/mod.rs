//! Canned-history tests of the replay engine.

mod builder;
mod composition;
mod entities;
mod nondeterminism;
mod primitives;
mod regressions;
mod remote;
mod replay_check;
mod serde_round_trip;
mod suspend_terminate;
mod traces;
