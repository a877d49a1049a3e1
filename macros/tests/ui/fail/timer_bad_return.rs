use durable::app::TimerInfo;
use durable::timer_trigger;

#[timer_trigger(schedule = "0 */5 * * * *")]
async fn cleanup(_timer: TimerInfo) -> String {
    String::new()
}

fn main() {}
