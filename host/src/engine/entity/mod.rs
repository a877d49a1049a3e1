//! Durable entities (spec §6): small named pieces of state, addressed as `@name@key`, that
//! process operations one at a time.
//!
//! An entity is an orchestration instance whose messages are `EventRaised` events with the
//! special names of spec §6.2 (`op`, `release`, responses named by request id), so entities
//! flow through every store and the orchestration dispatcher unchanged. Its state is not kept
//! in history: each batch of operations rewrites the instance row's input with the whole
//! [`SchedulerState`] (see `docs/decisions/0006-entities.md`).
//!
//! - [`EntityId`]: identity and the scheduler id;
//! - [`messages`]: the request, response and release messages;
//! - [`SchedulerState`] / [`EntityStatus`]: what the instance row holds;
//! - [`EntityContext`]: what an entity function sees while running one operation;
//! - [`executor::run_batch`]: the pure batch executor;
//! - `calls`: `call_entity`, `signal_entity` and `lock` on the orchestration context.

mod calls;
mod context;
pub mod executor;
mod id;
pub mod messages;
mod scheduler;
#[cfg(test)]
mod tests;

pub use calls::EntityLock;
pub use context::{entity_fn, EntityContext, EntityFn};
pub use id::{is_entity_instance, EntityId, EntityIdError};
pub use scheduler::{EntityStatus, SchedulerState};
