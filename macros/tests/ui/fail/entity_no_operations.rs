use durable::entity_trigger;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Empty;

#[entity_trigger]
impl Empty {
    fn private(&self) {}
}

fn main() {}
