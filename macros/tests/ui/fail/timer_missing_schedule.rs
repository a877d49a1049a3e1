use durable::app::TimerInfo;
use durable::timer_trigger;

#[timer_trigger(run_on_startup = true)]
async fn cleanup(_timer: TimerInfo) {}

fn main() {}
