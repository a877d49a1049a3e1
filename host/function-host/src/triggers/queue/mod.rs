//! The queue trigger: runs a `#[queue_trigger]` function for each message on an Azure
//! Storage queue, as Azure Functions' queue listener does.
//!
//! Each function gets one listener task that:
//!
//! - receives up to `batchSize` messages per get (hidden for [`LOCK`] while they run, the
//!   hiding renewed every half of it) and runs them concurrently;
//! - polls again at once after a batch; while the queue is empty it waits between polls,
//!   from [`MIN_POLL`] doubling up to `maxPollingInterval`, back to the minimum on a message;
//! - deletes a message whose run succeeded; after a failed run (an error, a panic, a body
//!   that does not convert) makes it visible again after `visibilityTimeout`, unless it has
//!   now been received `maxDequeueCount` times: then it is moved to `{queue}-poison` (the
//!   text as it was). A message received more often than that without a recorded failure
//!   (hosts crashed while running it) goes to the poison queue without another run.
//!
//! Delivery is at least once: a host that stops during a run leaves the message hidden until
//! its lock runs out, then it is received again with a higher dequeue count.

#[cfg(feature = "azure")]
mod listener;

#[cfg(feature = "azure")]
pub(crate) use listener::{prepare, spawn, QueueListener};

use std::time::Duration;

/// How long a received message stays hidden while its run goes on; renewed every half.
pub const LOCK: Duration = Duration::from_secs(60);

/// The shortest pause between polls of an idle queue.
pub const MIN_POLL: Duration = Duration::from_millis(100);

/// The poison queue of `queue`.
pub fn poison_queue_name(queue: &str) -> String {
    format!("{queue}-poison")
}
