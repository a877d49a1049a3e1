//! Orchestrators and activities whose code runs in workers outside this process, connected
//! over the Durable Task protocol (the `durable-grpc` crate serves it).
//!
//! A name that has a Rust function runs here; the runtime asks the [`RemoteWorkers`] for the
//! others. The work item stays locked by this runtime while a worker runs it, and its answer is
//! committed exactly as a Rust function's: the same history, the same messages, the same
//! exactly-once commit. A worker that disconnects or gives a work item up sends it back to
//! the task hub; a name no worker serves waits like a function no host has
//! (`missingFunctionTimeout`).

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use durable_engine::entity::remote::{PlannedOperation, RemoteBatch};
use durable_engine::history::{FailureDetails, HistoryEvent, OrchestrationInstance, TraceContext};
use durable_engine::replay::remote::Decision;

/// One orchestration episode for a worker: the stored history and what this episode adds.
#[derive(Debug, Clone)]
pub struct OrchestratorRequest {
    /// The instance.
    pub instance_id: String,
    /// Its current execution.
    pub execution_id: String,
    /// The orchestrator's name.
    pub name: String,
    /// The instance's version.
    pub version: Option<String>,
    /// The history of the execution so far.
    pub past: Vec<HistoryEvent>,
    /// The events this episode adds (`OrchestratorStarted` first).
    pub new: Vec<HistoryEvent>,
}

/// One run of an activity for a worker.
#[derive(Debug, Clone)]
pub struct ActivityRequest {
    /// The orchestration that called it.
    pub instance: OrchestrationInstance,
    /// The activity's name.
    pub name: String,
    /// The version the call named.
    pub version: Option<String>,
    /// Its serialized input.
    pub input: Option<String>,
    /// The id of the call (the `TaskScheduled` event's id).
    pub task_id: i32,
    /// The trace context of the orchestration's call.
    pub trace_context: Option<TraceContext>,
}

/// One batch of operations of an entity for a worker.
#[derive(Debug, Clone)]
pub struct EntityRequest {
    /// The entity's instance id (`@name@key`).
    pub instance_id: String,
    /// Its state before the batch.
    pub state: Option<String>,
    /// The operations to run, in order.
    pub operations: Vec<PlannedOperation>,
}

/// What an activity run answered: its serialized result, or how it failed.
pub type ActivityAnswer = Result<Option<String>, FailureDetails>;

/// Why a worker did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// No connected worker serves the name.
    NoWorker,
    /// The worker's connection ended before it answered.
    Disconnected,
    /// The worker gave the work item up (or did not answer within the lock).
    Abandoned(String),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteError::NoWorker => f.write_str("no connected worker serves it"),
            RemoteError::Disconnected => f.write_str("the worker disconnected before answering"),
            RemoteError::Abandoned(why) => write!(f, "the worker gave it up: {why}"),
        }
    }
}

impl std::error::Error for RemoteError {}

/// The workers connected to this host.
pub trait RemoteWorkers: Send + Sync + 'static {
    /// Whether a connected worker runs the orchestrator `name` at `version`.
    fn serves_orchestrator(&self, name: &str, version: Option<&str>) -> bool;

    /// Whether a connected worker runs the activity `name`.
    fn serves_activity(&self, name: &str) -> bool;

    /// Runs one episode on a worker; resolves with its decision.
    fn run_orchestrator(
        &self,
        request: OrchestratorRequest,
    ) -> BoxFuture<'static, Result<Decision, RemoteError>>;

    /// Runs one activity on a worker; resolves with its answer.
    fn run_activity(
        &self,
        request: ActivityRequest,
    ) -> BoxFuture<'static, Result<ActivityAnswer, RemoteError>>;

    /// Whether a connected worker runs the entity `name`.
    fn serves_entity(&self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// Runs one batch of an entity's operations on a worker; resolves with its answer.
    fn run_entity(
        &self,
        request: EntityRequest,
    ) -> BoxFuture<'static, Result<RemoteBatch, RemoteError>> {
        let _ = request;
        Box::pin(std::future::ready(Err(RemoteError::NoWorker)))
    }
}

/// The workers a runtime routes to ([`crate::RuntimeOptions::workers`]).
#[derive(Clone)]
pub struct Workers(pub Arc<dyn RemoteWorkers>);

impl fmt::Debug for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Workers(..)")
    }
}
