//! [`WorkerHub`]: the workers connected over the Durable Task protocol, and the work the
//! runtime hands them.
//!
//! A worker connects with `GetWorkItems` and keeps that stream open; the hub sends it work
//! items on it, each with a fresh completion token, and the worker answers each with
//! `CompleteOrchestratorTask` / `CompleteActivityTask` (or gives it up with an `Abandon...`
//! call), naming the token. The runtime's request waits for that answer; the work item stays
//! locked by the runtime meanwhile, and the runtime commits the answer itself.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use parking_lot::Mutex;
use tokio::sync::{oneshot, watch, Notify};

use crate::convert::{self, Episode};
use crate::proto;
use crate::proto::work_item::Request;
use durable_engine::entity::remote::RemoteBatch;
use durable_engine::entity::EntityId;
use durable_engine::replay::remote::Decision;
use durable_runtime::remote::{
    ActivityAnswer, ActivityRequest, EntityRequest, OrchestratorRequest, RemoteError, RemoteWorkers,
};
pub(crate) use registry::Kind;
use registry::{Pending, Pick, Registry, Waiter};

mod registry;
mod stream;
#[cfg(test)]
mod tests;

/// How often an idle work-item stream gets a health ping (the SDKs drop a stream that has
/// been silent for two minutes).
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);

/// The workers connected to this host, and the work items they have not answered. Hand it to
/// the runtime as its [`durable_runtime::remote::Workers`] and to [`crate::serve`].
pub struct WorkerHub {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub registry: Mutex<Registry>,
    /// Wakes work waiting for a worker: a slot freed, a worker connected or left.
    pub changed: Notify,
    /// Turns true when the hub closes.
    pub closing: watch::Sender<bool>,
    pub ping_interval: Duration,
}

impl Shared {
    /// Removes a worker and fails the work items it had not answered.
    pub(crate) fn remove_worker(&self, id: u64) {
        let orphans = self.registry.lock().remove_worker(id);
        if !orphans.is_empty() {
            tracing::info!(
                worker = id,
                work_items = orphans.len(),
                "a worker disconnected with work items unanswered; they go back to the task hub"
            );
        }
        orphans
            .into_iter()
            .for_each(|w| w.fail(RemoteError::Disconnected));
        self.changed.notify_waiters();
    }
}

impl Default for WorkerHub {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WorkerHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHub")
            .field("workers", &self.worker_count())
            .finish()
    }
}

impl WorkerHub {
    /// A hub with no workers, pinging idle streams every [`DEFAULT_PING_INTERVAL`].
    pub fn new() -> Self {
        Self::with_ping_interval(DEFAULT_PING_INTERVAL)
    }

    /// A hub that pings idle streams every `interval`.
    pub fn with_ping_interval(interval: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry::default()),
                changed: Notify::new(),
                closing: watch::channel(false).0,
                ping_interval: interval,
            }),
        }
    }

    /// How many workers are connected.
    pub fn worker_count(&self) -> usize {
        self.shared.registry.lock().workers.len()
    }

    /// How many work items were sent and not answered yet.
    pub fn pending_count(&self) -> usize {
        self.shared.registry.lock().pending.len()
    }

    /// Closes the hub: every work-item stream ends, work waiting for an answer fails with
    /// [`RemoteError::Disconnected`] (the runtime gives it back to the task hub), and no
    /// worker connects any more.
    pub fn close(&self) {
        let waiters = self.shared.registry.lock().close();
        waiters
            .into_iter()
            .for_each(|w| w.fail(RemoteError::Disconnected));
        self.shared.closing.send_replace(true);
        self.shared.changed.notify_waiters();
    }

    /// Whether the hub was closed.
    pub fn is_closed(&self) -> bool {
        *self.shared.closing.borrow()
    }

    /// Resolves once the hub is closed.
    pub(crate) fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.shared.closing.subscribe();
        async move {
            let _ = closing.wait_for(|c| *c).await;
        }
    }

    /// A worker's answer to an orchestration work item.
    pub(crate) fn complete_orchestration(
        &self,
        response: proto::OrchestratorResponse,
    ) -> Result<(), tonic::Status> {
        let token = response.completion_token.clone();
        let Some(pending) = self.take(&token, Kind::Orchestration)? else {
            return Ok(());
        };
        // `take` checked the kind.
        let Waiter::Orchestration { episode, reply } = pending.waiter else {
            return Ok(());
        };
        match convert::decision(&episode, response) {
            Ok(decision) => {
                let _ = reply.send(Ok(decision));
                Ok(())
            }
            Err(invalid) => {
                // Handing the episode out again would get the same answer: the instance fails.
                tracing::error!(
                    instance_id = %episode.instance_id,
                    error = %invalid,
                    "a worker's answer to an orchestration cannot be used; the orchestration fails"
                );
                let _ = reply.send(Ok(convert::failed_decision(&invalid)));
                Err(invalid.into())
            }
        }
    }

    /// A worker's answer to an activity work item (found by its instance and task id when
    /// it carries no token).
    pub(crate) fn complete_activity(
        &self,
        response: proto::ActivityResponse,
    ) -> Result<(), tonic::Status> {
        let token = if response.completion_token.is_empty() {
            let found = self
                .shared
                .registry
                .lock()
                .activity_token(&response.instance_id, response.task_id);
            match found {
                Some(t) => t,
                None => {
                    tracing::debug!(
                        instance_id = %response.instance_id,
                        task_id = response.task_id,
                        "an activity answer without a token matches no pending run; ignored"
                    );
                    return Ok(());
                }
            }
        } else {
            response.completion_token.clone()
        };
        let Some(pending) = self.take(&token, Kind::Activity)? else {
            return Ok(());
        };
        // `take` checked the kind.
        let Waiter::Activity { reply, .. } = pending.waiter else {
            return Ok(());
        };
        let _ = reply.send(Ok(convert::activity_answer(response)));
        Ok(())
    }

    /// A worker's answer to an entity batch.
    pub(crate) fn complete_entity(
        &self,
        result: proto::EntityBatchResult,
    ) -> Result<(), tonic::Status> {
        let token = result.completion_token.clone();
        let Some(pending) = self.take(&token, Kind::Entity)? else {
            return Ok(());
        };
        // `take` checked the kind.
        let Waiter::Entity {
            instance_id,
            operations,
            reply,
        } = pending.waiter
        else {
            return Ok(());
        };
        match convert::entity_answer(result, operations) {
            Ok(batch) => {
                let _ = reply.send(Ok(batch));
                Ok(())
            }
            Err(invalid) => {
                // As for an orchestration: every operation of the batch fails, its state stays.
                tracing::error!(
                    instance_id,
                    error = %invalid,
                    "a worker's answer to an entity batch cannot be used; its operations fail"
                );
                let _ = reply.send(Ok(convert::failed_batch(
                    invalid.answer_failure(),
                    operations,
                )));
                Err(invalid.into())
            }
        }
    }

    /// A worker gave a work item up: it goes back to the task hub.
    pub(crate) fn abandon(&self, token: &str, kind: Kind) -> Result<(), tonic::Status> {
        if let Some(pending) = self.take(token, kind)? {
            pending
                .waiter
                .fail(RemoteError::Abandoned("the worker abandoned it".into()));
        }
        Ok(())
    }

    /// Takes the pending work item of `token` if it is of `kind`; `None` (logged) for a token
    /// nothing waits for: a late answer after a disconnect, or a repeated one.
    fn take(&self, token: &str, kind: Kind) -> Result<Option<Pending>, tonic::Status> {
        let taken = {
            let mut registry = self.shared.registry.lock();
            match registry.pending.get(token).map(|p| p.waiter.kind()) {
                None => None,
                Some(k) if k != kind => {
                    return Err(tonic::Status::invalid_argument(format!(
                        "completion token {token:?} belongs to {} work item",
                        match k {
                            Kind::Orchestration => "an orchestration",
                            Kind::Activity => "an activity",
                            Kind::Entity => "an entity",
                        }
                    )))
                }
                Some(_) => registry.take(token),
            }
        };
        if taken.is_none() {
            tracing::debug!(
                token,
                "an answer for a work item nothing waits for (late or repeated); ignored"
            );
        } else {
            self.shared.changed.notify_waiters();
        }
        Ok(taken)
    }
}

/// Frees the work item's slot and forgets it when the requester stops waiting (its future is
/// dropped: the runtime shut down or lost the lock).
struct Registration {
    shared: Arc<Shared>,
    token: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let taken = self.shared.registry.lock().take(&self.token);
        if taken.is_some() {
            self.shared.changed.notify_waiters();
        }
    }
}

/// Sends a work item to a worker that runs `name` and waits for its answer.
async fn dispatch<T>(
    shared: Arc<Shared>,
    kind: Kind,
    name: String,
    version: Option<String>,
    request: Request,
    waiter: impl FnOnce(oneshot::Sender<Result<T, RemoteError>>) -> Waiter,
) -> Result<T, RemoteError> {
    let token = uuid::Uuid::new_v4().to_string();
    let (reply, answer) = oneshot::channel();
    let mut waiter = Some(waiter(reply));
    let (worker, items) = loop {
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        {
            let mut registry = shared.registry.lock();
            if registry.closed {
                return Err(RemoteError::Disconnected);
            }
            match registry.pick(kind, &name, version.as_deref()) {
                Pick::None => return Err(RemoteError::NoWorker),
                Pick::Busy => {}
                Pick::Worker(at) => {
                    let (id, items) = (registry.workers[at].id, registry.workers[at].items.clone());
                    if let Some(waiter) = waiter.take() {
                        registry
                            .pending
                            .insert(token.clone(), Pending { worker: id, waiter });
                    }
                    break (id, items);
                }
            }
        }
        changed.await;
    };
    let _registration = Registration {
        shared: Arc::clone(&shared),
        token: token.clone(),
    };
    let item = proto::WorkItem {
        request: Some(request),
        completion_token: token,
    };
    if items.send(Ok(item)).await.is_err() {
        // The stream ended: the worker is gone, and so is this work item.
        shared.remove_worker(worker);
    }
    drop(items);
    answer.await.unwrap_or(Err(RemoteError::Disconnected))
}

impl RemoteWorkers for WorkerHub {
    fn serves_orchestrator(&self, name: &str, version: Option<&str>) -> bool {
        self.shared
            .registry
            .lock()
            .serves(Kind::Orchestration, name, version)
    }

    fn serves_activity(&self, name: &str) -> bool {
        self.shared
            .registry
            .lock()
            .serves(Kind::Activity, name, None)
    }

    fn run_orchestrator(
        &self,
        request: OrchestratorRequest,
    ) -> BoxFuture<'static, Result<Decision, RemoteError>> {
        let episode = Episode {
            instance_id: request.instance_id.clone(),
            version: request.version.clone(),
        };
        let item = Request::OrchestratorRequest(convert::orchestrator_request(&request));
        dispatch(
            Arc::clone(&self.shared),
            Kind::Orchestration,
            request.name,
            request.version,
            item,
            move |reply| Waiter::Orchestration { episode, reply },
        )
        .boxed()
    }

    fn serves_entity(&self, name: &str) -> bool {
        self.shared.registry.lock().serves(Kind::Entity, name, None)
    }

    fn run_entity(
        &self,
        request: EntityRequest,
    ) -> BoxFuture<'static, Result<RemoteBatch, RemoteError>> {
        let item = Request::EntityRequest(convert::entity_request(&request));
        let operations = request.operations.len();
        let instance_id = request.instance_id.clone();
        let name = EntityId::from_scheduler_id(&request.instance_id)
            .map(|id| id.name)
            .unwrap_or_default();
        dispatch(
            Arc::clone(&self.shared),
            Kind::Entity,
            name,
            None,
            item,
            move |reply| Waiter::Entity {
                instance_id,
                operations,
                reply,
            },
        )
        .boxed()
    }

    fn run_activity(
        &self,
        request: ActivityRequest,
    ) -> BoxFuture<'static, Result<ActivityAnswer, RemoteError>> {
        let item = Request::ActivityRequest(convert::activity_request(&request));
        let (instance_id, task_id) = (request.instance.instance_id.clone(), request.task_id);
        dispatch(
            Arc::clone(&self.shared),
            Kind::Activity,
            request.name,
            None,
            item,
            move |reply| Waiter::Activity {
                instance_id,
                task_id,
                reply,
            },
        )
        .boxed()
    }
}
