//! Durable entities: the counter in both styles, an orchestration that drives either, and a
//! bank whose transfers lock two accounts.

pub mod bank;
pub mod counter;
pub mod counter_struct;
