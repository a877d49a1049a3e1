use durable::entity_trigger;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Named {
    name: String,
}

#[entity_trigger]
impl Named {
    pub fn rename(&mut self, name: &str) {
        self.name = name.to_string();
    }
}

fn main() {}
