//! Canned-history tests of the replay engine.

mod builder;
mod nondeterminism;
mod primitives;
mod serde_round_trip;
mod suspend_terminate;
