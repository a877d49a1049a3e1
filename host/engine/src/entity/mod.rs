//! Durable entities: small named pieces of state, addressed as `@name@key`, that
//! process operations one at a time.
//!
//! An entity is an orchestration instance whose messages are `EventRaised` events with the
//! special names DTFx uses (`op`, `release`, responses named by request id), so entities
//! flow through every store and the orchestration dispatcher unchanged. Its state is not kept
//! in history: each batch of operations rewrites the instance row's input with the whole
//! [`SchedulerState`] (see `docs/decisions/0006-entities.md`).
//!
//! - [`EntityId`]: identity and the scheduler id;
//! - [`messages`]: the request, response and release messages;
//! - [`SchedulerState`] / [`EntityStatus`]: what the instance row holds;
//! - [`EntityContext`]: what an entity function sees while running one operation;
//! - [`executor::run_batch`]: the pure batch executor;
//! - [`MessageSorter`]: per-sender ordering and de-duplication;
//! - [`EntityOptions`]: the batch size cap and the reorder window;
//! - `calls`: `call_entity`, `signal_entity` and `lock` on the orchestration context.

mod calls;
mod context;
pub mod executor;
mod id;
pub mod messages;
mod options;
#[cfg(test)]
mod ordering_tests;
pub mod remote;
mod scheduler;
pub mod sorter;
#[cfg(test)]
mod tests;

pub(crate) use calls::is_lock_release;
pub use calls::{EntityLock, OrchestrationEntities};
pub use context::{entity_fn, EntityContext, EntityFn};
pub use id::{is_entity_instance, EntityId, EntityIdError};
pub use options::{EntityOptions, DEFAULT_MAX_OPERATION_BATCH_SIZE};
pub use scheduler::{EntityStatus, SchedulerState};
pub use sorter::{MessageSorter, DEFAULT_REORDER_WINDOW};
