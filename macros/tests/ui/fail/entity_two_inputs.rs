use durable::entity_trigger;

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Account {
    balance: i64,
}

#[entity_trigger]
impl Account {
    pub fn transfer(&mut self, amount: i64, to: String) {
        let _ = to;
        self.balance -= amount;
    }
}

fn main() {}
