//! Triggers that start functions without a caller: the timer trigger.
//!
//! - [`schedule`]: six-field NCRONTAB expressions and their occurrences (UTC).

pub mod schedule;

pub use schedule::{Schedule, ScheduleError};
