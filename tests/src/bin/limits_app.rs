//! The app of the activity-limits test (`tests/tests/activity_limits.rs`), with limits given
//! by the trigger attribute:
//!
//! - `pinched`: at most 2 runs at once; each run takes 200 ms and returns how many runs of it
//!   were running in this process when it started (itself included);
//! - `paced`: at most 10 runs started per second; returns when it started, in milliseconds
//!   since the Unix epoch;
//! - `fan_out({"activity": name, "count": n})`: calls the activity `n` times at once and
//!   returns the answers in call order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use durable::{activity_trigger, orchestration_trigger, when_all, Failure, OrchestrationContext};
use serde::{Deserialize, Serialize};

/// Runs of `pinched` running now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Leaves the count of running `pinched` runs when the run ends (or is dropped).
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A call to a service that allows two at once.
#[activity_trigger(max_concurrent = 2)]
async fn pinched() -> Result<usize, Failure> {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    let _running = Running;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(now)
}

/// A call to a service that allows ten a second.
#[activity_trigger(max_per_second = 10)]
async fn paced() -> Result<u64, Failure> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Failure::new("Clock", e.to_string()))?;
    Ok(since_epoch.as_millis() as u64)
}

/// What `fan_out` calls.
#[derive(Serialize, Deserialize)]
struct FanOut {
    activity: String,
    count: usize,
}

/// Calls one activity `count` times at once.
#[orchestration_trigger]
async fn fan_out(ctx: OrchestrationContext, f: FanOut) -> Result<Vec<u64>, Failure> {
    let calls = (0..f.count).map(|_| ctx.call_activity_by_name::<_, u64>(&f.activity, &()));
    let answers = when_all(calls)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(answers)
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
