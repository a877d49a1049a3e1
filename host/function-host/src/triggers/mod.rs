//! Triggers that start functions without a caller: timers, queues and blobs.
//!
//! - [`schedule`]: six-field NCRONTAB expressions and their occurrences (UTC);
//! - [`timer`]: runs `#[timer_trigger]` functions on their schedules, with the schedule status
//!   persisted in the task hub so a restart neither skips nor repeats a due run;
//! - [`queue`]: runs `#[queue_trigger]` functions for Azure Storage queue messages, with
//!   retries and a poison queue;
//! - [`blob`]: runs `#[blob_trigger]` functions once per new or changed blob version, with
//!   receipts shared between hosts;
//! - [`s3`]: the same for blob functions whose connection is on Amazon S3 or an
//!   S3-compatible store (cargo feature `s3`);
//! - [`storage`]: checks and starts the queue and blob listeners (which need the cargo
//!   feature `azure`), [`options`] their host.json settings, [`backoff`] their idle polling.

pub mod backoff;
pub mod blob;
pub mod options;
pub mod panics;
pub mod queue;
pub mod s3;
pub mod schedule;
pub mod storage;
pub mod timer;

pub use options::{BlobOptions, MessageEncoding, QueueOptions};
pub use schedule::{Schedule, ScheduleError};
pub use storage::{StorageTriggerConfig, StorageTriggerError};
pub use timer::TimerStartError;
