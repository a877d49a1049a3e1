use durable::app::TimerInfo;
use durable::timer_trigger;

#[timer_trigger(schedule = "0 */5 * * * *", run_on_startup = "yes")]
async fn cleanup(_timer: TimerInfo) {}

fn main() {}
