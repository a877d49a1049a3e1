//! The function app of the singleton-timer test: one timer function every two seconds that
//! appends `{occurrence}\t{pid}\t{past due}` to the file named by the `TimerRunsFile` setting.
//! Several processes of it share one task hub; only one may run each occurrence.

use std::io::Write;

use durable::app::TimerInfo;
use durable::{timer_trigger, Failure};

/// Records this run of the schedule.
#[timer_trigger(schedule = "*/2 * * * * *")]
async fn every_two_seconds(timer: TimerInfo) -> Result<(), Failure> {
    let occurrence = timer
        .schedule_status
        .map(|s| s.last.to_rfc3339())
        .unwrap_or_default();
    let path = std::env::var("TimerRunsFile").map_err(|e| Failure::new("io", e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Failure::new("io", e.to_string()))?;
    // One write per line: O_APPEND keeps lines from several processes whole.
    let line = format!(
        "{occurrence}\t{}\t{}\n",
        std::process::id(),
        timer.is_past_due
    );
    file.write_all(line.as_bytes())
        .map_err(|e| Failure::new("io", e.to_string()))?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
