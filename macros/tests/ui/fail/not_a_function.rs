use durable::activity_trigger;

#[activity_trigger]
struct SayHello;

fn main() {}
