//! Durable entities: the counter in both styles, an orchestration that drives either, and a
//! bank whose transfers lock two accounts, and critical sections that outlive their holder
//! (with the entity storage clean-up).

pub mod bank;
pub mod counter;
pub mod counter_struct;
pub mod locks;
