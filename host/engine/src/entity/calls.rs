//! The orchestration side of entities: `call_entity`, `signal_entity` and `lock`.
//!
//! A call sends an `op` request (its id from the deterministic `new_guid`, the send recorded
//! as an `EventSent` action) and waits for the external event named by that id, so calls
//! replay deterministically. A lock sends one lock request to the first entity of the sorted
//! set; each entity forwards it to the next, the last one answers.
//!
//! Every request is labelled for the entity's message sorter from the
//! orchestration's replay-safe clock, so a resend after a crash carries the same labels and
//! is recognised as a duplicate.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::id::EntityId;
use super::messages::{ReleaseMessage, RequestMessage, ResponseMessage, OP, RELEASE};
use super::sorter::MessageSorter;
use crate::context::OrchestrationContext;
use crate::failure::TaskError;
use crate::history::FailureDetails;
use crate::state::Action;

/// True for the `release` an [`EntityLock`] sends to an entity (sent even by a terminated
/// orchestration, whose guards are dropped with its code).
pub(crate) fn is_lock_release(action: &Action) -> bool {
    matches!(action, Action::SendEvent { instance_id, name, .. }
        if name == RELEASE && super::id::is_entity_instance(instance_id))
}

/// What an orchestration execution keeps about entities (rebuilt identically by replay).
#[derive(Debug, Default)]
pub struct OrchestrationEntities {
    /// The request id of the critical section it holds, if any.
    pub lock: Option<String>,
    /// The labels of the requests sent to each entity.
    pub sorter: MessageSorter,
}

impl OrchestrationContext {
    /// Calls an operation on an entity and waits for its result, or its error as
    /// [`TaskError::Failed`].
    pub fn call_entity<I, O>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
    ) -> impl Future<Output = Result<O, TaskError>> + Send + 'static
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned + Send + 'static,
    {
        let what = format!("entity operation {entity}.{operation}");
        let invalid = entity.validate().err();
        let encoded = serde_json::to_string(input);
        let wait = encoded
            .as_ref()
            .ok()
            .filter(|_| invalid.is_none())
            .map(|json| {
                let id = self.send_request(entity, operation, Some(json.clone()), false);
                self.wait_for_external_event::<ResponseMessage>(&id)
            });
        async move {
            if let Some(e) = invalid {
                return Err(invalid_entity(what, &e));
            }
            let Some(wait) = wait else {
                let message = encoded.err().map(|e| e.to_string()).unwrap_or_default();
                return Err(TaskError::Deserialize {
                    name: what,
                    message: format!("input does not serialize: {message}"),
                });
            };
            let response = wait.await?;
            if let Some(details) = response.failure() {
                return Err(TaskError::Failed {
                    name: what,
                    details: Box::new(details),
                });
            }
            crate::function::from_json(response.result.as_deref().unwrap_or("null")).map_err(|e| {
                TaskError::Deserialize {
                    name: what,
                    message: e.to_string(),
                }
            })
        }
    }

    /// Signals an operation on an entity (one-way; nothing to await).
    pub fn signal_entity<I: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
    ) {
        // A signal has no task to fail: a bad one fails the orchestration at its next poll.
        let failure = match (entity.validate(), serde_json::to_string(input)) {
            (Ok(()), Ok(json)) => {
                self.send_request(entity, operation, Some(json), true);
                return;
            }
            (Err(e), _) => FailureDetails::new("InvalidEntityId", e.to_string()),
            (_, Err(e)) => FailureDetails::new(
                "SerializationError",
                format!("entity signal input does not serialize: {e}"),
            ),
        };
        self.state.lock().fatal.get_or_insert(failure);
    }

    /// Sends one operation request; returns its id.
    fn send_request(
        &self,
        entity: &EntityId,
        operation: &str,
        input: Option<String>,
        signal: bool,
    ) -> String {
        let id = self.new_guid().to_string();
        let now = self.current_utc_datetime();
        let request = RequestMessage::operation(id.clone(), operation, input, signal, now);
        self.send_labelled(&entity.scheduler_id(), request);
        id
    }

    /// Labels a request from this orchestration (parent, clock, order) and sends it.
    fn send_labelled(&self, target: &str, mut request: RequestMessage) {
        let now = self.current_utc_datetime();
        {
            let mut st = self.state.lock();
            request.parent = Some(st.instance_id.clone());
            request.parent_execution = Some(st.execution_id.clone());
            let window = st.entity_reorder_window;
            st.entities
                .sorter
                .label_outgoing(&mut request, target, now, window);
        }
        self.send_event(target, OP, &request);
    }

    /// Enters a critical section over `entities`: waits until all of them are locked by this
    /// orchestration. Entities are locked in sorted order, so two sections never deadlock.
    /// The locks are released when the returned [`EntityLock`] is dropped (at the latest when
    /// the orchestration ends, completes or fails). Holding two sections at once is an error.
    pub fn lock(
        &self,
        entities: &[EntityId],
    ) -> impl Future<Output = Result<EntityLock, TaskError>> + Send + 'static {
        let mut set: Vec<EntityId> = entities.to_vec();
        set.sort_by_key(EntityId::scheduler_id);
        set.dedup();
        let invalid = set.iter().find_map(|e| e.validate().err());
        if let Some(e) = invalid {
            return futures::future::Either::Left(std::future::ready(Err(invalid_entity(
                "lock".to_string(),
                &e,
            ))));
        }
        let already = self.state.lock().entities.lock.is_some();
        // The guard exists from the moment the request is sent, so that dropping the lock
        // future (even unpolled) or ending the orchestration releases what it may acquire.
        let pending = (!already && !set.is_empty()).then(|| {
            let id = self.new_guid().to_string();
            let now = self.current_utc_datetime();
            let mut request = RequestMessage::operation(id.clone(), "", None, false, now);
            request.op = None;
            request.lockset = Some(set.clone());
            self.send_labelled(&set[0].scheduler_id(), request);
            self.state.lock().entities.lock = Some(id.clone());
            let wait = self.wait_for_external_event::<ResponseMessage>(&id);
            let guard = EntityLock {
                ctx: self.clone(),
                id,
                entities: set,
                released: false,
            };
            (guard, wait)
        });
        let ctx = self.clone();
        futures::future::Either::Right(async move {
            if already {
                return Err(TaskError::Failed {
                    name: "lock".to_string(),
                    details: Box::new(FailureDetails::new(
                        "LockingRulesViolation",
                        "this orchestration already holds a critical section; release it first",
                    )),
                });
            }
            let Some((guard, wait)) = pending else {
                return Ok(EntityLock {
                    ctx,
                    id: String::new(),
                    entities: Vec::new(),
                    released: true,
                });
            };
            wait.await?;
            Ok(guard)
        })
    }
}

/// The error of a call or lock on an entity id that cannot identify an entity.
fn invalid_entity(name: String, e: &super::id::EntityIdError) -> TaskError {
    TaskError::Failed {
        name,
        details: Box::new(FailureDetails::new("InvalidEntityId", e.to_string())),
    }
}

/// A critical section: the entities it locked stay locked until it is dropped or released.
#[must_use = "dropping the lock releases it at once"]
#[derive(Debug)]
pub struct EntityLock {
    ctx: OrchestrationContext,
    id: String,
    entities: Vec<EntityId>,
    released: bool,
}

impl EntityLock {
    /// The locked entities, in acquisition order.
    pub fn entities(&self) -> &[EntityId] {
        &self.entities
    }

    /// Releases the locks now (same as dropping the guard).
    pub fn release(mut self) {
        self.release_now();
    }

    fn release_now(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        let me = self.ctx.instance_id();
        for entity in &self.entities {
            let message = ReleaseMessage {
                parent: me.clone(),
                id: self.id.clone(),
            };
            self.ctx
                .send_event(&entity.scheduler_id(), RELEASE, &message);
        }
        let mut st = self.ctx.state.lock();
        if st.entities.lock.as_deref() == Some(self.id.as_str()) {
            st.entities.lock = None;
        }
    }
}

impl Drop for EntityLock {
    fn drop(&mut self) {
        self.release_now();
    }
}
