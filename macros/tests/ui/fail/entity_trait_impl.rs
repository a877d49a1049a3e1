use durable::entity_trigger;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Thing;

#[entity_trigger]
impl Clone for Thing {
    fn clone(&self) -> Self {
        Thing
    }
}

fn main() {}
