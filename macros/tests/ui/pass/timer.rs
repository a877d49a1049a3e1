//! Every `#[timer_trigger]` form. The functions stay callable as written.
#![deny(warnings)]

use durable::app::TimerInfo;
use durable::{durable_client, timer_trigger, DurableClient, Failure};

/// With the client and a `Result`.
#[timer_trigger(schedule = "0 */5 * * * *", run_on_startup = false)]
pub async fn cleanup(timer: TimerInfo, #[durable_client] client: DurableClient) -> Result<(), Failure> {
    if timer.is_past_due {
        client.start_new("cleanup", None, &()).await?;
    }
    Ok(())
}

/// Nothing returned, renamed, run at start-up.
#[timer_trigger(schedule = "0 0 9 * * MON-FRI", run_on_startup = true, name = "MorningReport")]
async fn morning_report(_timer: TimerInfo) {}

/// `-> ()` written out, client first, a std error type.
#[timer_trigger(schedule = "*/30 * * * * *")]
async fn tick(#[durable_client] _client: DurableClient, _: TimerInfo) -> () {}

/// A std error type.
#[timer_trigger(schedule = "0 0 * * * *")]
async fn hourly(_timer: TimerInfo) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let info = TimerInfo {
        is_past_due: false,
        schedule_status: None,
    };
    let _ = morning_report(info);
    let _ = (cleanup, tick, hourly);
}
