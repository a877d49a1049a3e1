use durable::engine::entity::EntityContext;
use durable::{entity_trigger, Failure};

#[entity_trigger]
async fn counter(ctx: &mut EntityContext) -> Result<(), Failure> {
    ctx.set_result(&1)
}

fn main() {}
