//! Triggers that start functions without a caller: the timer trigger.
//!
//! - [`schedule`]: six-field NCRONTAB expressions and their occurrences (UTC);
//! - [`timer`]: runs `#[timer_trigger]` functions on their schedules, with the schedule status
//!   persisted in the task hub so a restart neither skips nor repeats a due run.

pub mod schedule;
pub mod timer;

pub use schedule::{Schedule, ScheduleError};
pub use timer::TimerStartError;
