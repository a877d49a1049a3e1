//! The counter as a struct-style entity (`struct_counter`): public methods are the
//! operations, the struct is the state.

use durable::entity_trigger;
use serde::{Deserialize, Serialize};

/// The counter's state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counter {
    value: i64,
}

#[entity_trigger(name = "struct_counter")]
impl Counter {
    /// Adds `amount`.
    pub fn add(&mut self, amount: i64) {
        self.value += amount;
    }

    /// Back to zero.
    pub fn reset(&mut self) {
        self.value = 0;
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.value
    }
}
