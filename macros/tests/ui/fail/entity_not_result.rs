use durable::engine::entity::EntityContext;
use durable::entity_trigger;

#[entity_trigger]
fn counter(ctx: &mut EntityContext) -> i64 {
    let _ = ctx;
    1
}

fn main() {}
