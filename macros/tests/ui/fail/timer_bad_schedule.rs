use durable::app::TimerInfo;
use durable::timer_trigger;

#[timer_trigger(schedule = "*/5 * * * *")]
async fn cleanup(_timer: TimerInfo) {}

fn main() {}
