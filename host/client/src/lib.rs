//! `DurableClient`: start, inspect and manage orchestration instances.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use durable_engine::entity::EntityOptions;
use durable_engine::function::Orchestration;
use durable_engine::history::{
    EventKind, HistoryEvent, OrchestrationInstance, OrchestrationStatus,
};
use durable_engine::message::TaskMessage;
use durable_engine::trace::{SpanContext, Tracer};
use durable_store::clock;
use durable_store::{InstanceState, OrchestratorMessage, StoreError, TaskHub};

mod app_status;
mod completions;
mod entities;
mod instance_id;
mod lifecycle;
pub mod management;
mod spans;
mod start_options;
pub mod status;
mod tree;

pub use app_status::{InstanceAccepted, InstanceSummary};
pub use completions::{Completions, Watch};
pub use entities::{CleanEntityStorageResult, EntityMetadata, EntityPage, EntityQuery};
pub use instance_id::validate_instance_id;
pub use management::{HttpManagementPayload, WebhookBase};
pub use start_options::{IfExists, StartOptions, REPLACED_REASON, REPLACE_WAIT};
pub use status::{DurableOrchestrationStatus, PurgeHistoryResult, StatusOptions, StatusPage};

/// What a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The instance id breaks the rules (length, characters, `@` prefix).
    #[error("invalid instance id {id:?}: {reason}")]
    InvalidInstanceId {
        /// The id given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No such instance.
    #[error("instance {0:?} not found")]
    NotFound(String),
    /// An instance with this id is still running.
    #[error("instance {instance_id:?} already exists with status {}", status.name())]
    AlreadyExists {
        /// The instance id.
        instance_id: String,
        /// Its status.
        status: OrchestrationStatus,
    },
    /// The operation needs a different status.
    #[error("instance {instance_id:?} is {}; {operation} needs it to be {expected}", status.name())]
    WrongStatus {
        /// The instance id.
        instance_id: String,
        /// Its status.
        status: OrchestrationStatus,
        /// The operation.
        operation: &'static str,
        /// The statuses it accepts.
        expected: &'static str,
    },
    /// An argument is out of range (e.g. a retry interval longer than the timeout).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `wait_for_completion` ran out of time.
    #[error("instance {0:?} did not complete in time")]
    Timeout(String),
    /// The payload could not be serialized.
    #[error("payload does not serialize: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ClientError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InstanceExists {
                instance_id,
                status,
            } => ClientError::AlreadyExists {
                instance_id,
                status,
            },
            other => ClientError::Store(other),
        }
    }
}

/// What a client needs to build management URLs (check-status responses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementConfig {
    /// The task hub name (`taskHub` query parameter).
    pub hub_name: String,
    /// The connection setting name (`connection` query parameter).
    pub connection: String,
    /// The system key appended as `code=`; `None` in local development mode.
    pub system_key: Option<String>,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        Self {
            hub_name: "TestHubName".to_string(),
            connection: "Storage".to_string(),
            system_key: None,
        }
    }
}

/// Client of a task hub. Cheap to clone.
#[derive(Clone)]
pub struct DurableClient {
    store: Arc<dyn TaskHub>,
    completions: Arc<Completions>,
    management: Arc<ManagementConfig>,
    entity_options: EntityOptions,
    tracer: Tracer,
    /// The caller's span: what this client starts is traced under it.
    trace_parent: Option<SpanContext>,
    /// The version of instances started without one (host.json `defaultVersion`).
    default_version: Option<Arc<str>>,
    /// What a start does to an existing instance of its id unless told (host.json
    /// `overridableExistingInstanceStates`).
    if_exists: IfExists,
}

impl std::fmt::Debug for DurableClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableClient")
            .field("management", &self.management)
            .finish()
    }
}

impl DurableClient {
    /// A client of `store` that learns about completions by polling.
    pub fn new(store: Arc<dyn TaskHub>) -> Self {
        Self::with_completions(store, Arc::new(Completions::default()))
    }

    /// A client woken by a runtime's completion notifications.
    pub fn with_completions(store: Arc<dyn TaskHub>, completions: Arc<Completions>) -> Self {
        Self {
            store,
            completions,
            management: Arc::new(ManagementConfig::default()),
            entity_options: EntityOptions::default(),
            tracer: Tracer::default(),
            trace_parent: None,
            default_version: None,
            if_exists: IfExists::default(),
        }
    }

    /// The same client, doing `if_exists` to an existing instance of a started id unless a
    /// start says otherwise (host.json `overridableExistingInstanceStates`: `AnyState` is
    /// [`IfExists::ReplaceAny`]).
    pub fn with_if_exists(mut self, if_exists: IfExists) -> Self {
        self.if_exists = if_exists;
        self
    }

    /// What a start does to an existing instance of its id unless told.
    pub fn if_exists(&self) -> IfExists {
        self.if_exists
    }

    /// The same client, giving instances started without a version this one (the runtime's
    /// `defaultVersion`, when it made the client).
    pub fn with_default_version(mut self, version: Option<&str>) -> Self {
        self.default_version = version.filter(|v| !v.is_empty()).map(Arc::from);
        self
    }

    /// The version of instances started without one.
    pub fn default_version(&self) -> Option<&str> {
        self.default_version.as_deref()
    }

    /// The same client, reporting the spans of what it starts and raises to `tracer` (the
    /// runtime's, when it made it).
    pub fn with_tracer(mut self, tracer: Tracer) -> Self {
        self.tracer = tracer;
        self
    }

    /// The same client, tracing what it starts and raises under the caller's span `parent`
    /// (the host binds each HTTP function's client to the span of its request).
    pub fn with_trace_parent(mut self, parent: Option<SpanContext>) -> Self {
        self.trace_parent = parent;
        self
    }

    /// The same client under the span a W3C `traceparent` header (and its `tracestate`)
    /// names; a malformed header is ignored (a new trace starts instead).
    pub fn with_traceparent(self, traceparent: &str, tracestate: Option<&str>) -> Self {
        self.with_trace_parent(SpanContext::parse(traceparent, tracestate))
    }

    /// Where this client reports spans.
    pub fn tracer(&self) -> &Tracer {
        &self.tracer
    }

    /// The caller's span this client traces under, if any.
    pub fn trace_parent(&self) -> Option<&SpanContext> {
        self.trace_parent.as_ref()
    }

    /// The same client, judging entities by these options (the runtime's, when it made it).
    pub fn with_entity_options(mut self, options: EntityOptions) -> Self {
        self.entity_options = options;
        self
    }

    /// The same client, building management URLs with `config`.
    pub fn with_management(mut self, config: ManagementConfig) -> Self {
        self.management = Arc::new(config);
        self
    }

    /// How this client builds management URLs.
    pub fn management(&self) -> &ManagementConfig {
        &self.management
    }

    /// The task hub.
    pub fn store(&self) -> &Arc<dyn TaskHub> {
        &self.store
    }

    /// Starts an orchestration; returns its instance id (a new GUID if none is given).
    pub async fn start_new<I: Serialize + ?Sized>(
        &self,
        orchestrator: &str,
        instance_id: Option<&str>,
        input: &I,
    ) -> Result<String, ClientError> {
        let input = serde_json::to_string(input)?;
        self.start_new_raw(orchestrator, instance_id, Some(input), None)
            .await
    }

    /// Starts `orchestrator` with a typed input and a new instance id; returns the id.
    /// The input type is checked at compile time, as in `ctx.call_activity`:
    /// `client.start(hello_cities, ())`. The instance gets the version `orchestrator` is
    /// registered for, else the default version.
    pub async fn start<O: Orchestration>(
        &self,
        orchestrator: O,
        input: impl Into<O::Input>,
    ) -> Result<String, ClientError> {
        let _ = orchestrator;
        let input = serde_json::to_string(&input.into())?;
        let version = O::VERSION.map(str::to_string);
        self.start_new_raw(O::NAME, None, Some(input), version)
            .await
    }

    /// [`start`](Self::start) with a given instance id (an instance that is still running
    /// under that id is an error).
    pub async fn start_with_id<O: Orchestration>(
        &self,
        orchestrator: O,
        instance_id: &str,
        input: impl Into<O::Input>,
    ) -> Result<String, ClientError> {
        let _ = orchestrator;
        let input = serde_json::to_string(&input.into())?;
        let version = O::VERSION.map(str::to_string);
        self.start_new_raw(O::NAME, Some(instance_id), Some(input), version)
            .await
    }

    /// The status of an instance (with its input, without history); `None` if it does not
    /// exist. [`get_status_with`](Self::get_status_with) chooses what is included.
    pub async fn get_status(
        &self,
        instance_id: &str,
    ) -> Result<Option<DurableOrchestrationStatus>, ClientError> {
        self.get_status_with(instance_id, StatusOptions::default())
            .await
    }

    /// The instance's history (current execution).
    pub async fn get_history(&self, instance_id: &str) -> Result<Vec<HistoryEvent>, ClientError> {
        Ok(self.store.get_history(instance_id).await?)
    }

    pub(crate) async fn require(&self, instance_id: &str) -> Result<InstanceState, ClientError> {
        self.store
            .get_instance(instance_id)
            .await?
            .ok_or_else(|| ClientError::NotFound(instance_id.to_string()))
    }

    pub(crate) async fn send(&self, instance_id: &str, kind: EventKind) -> Result<(), ClientError> {
        let message = TaskMessage::new(
            OrchestrationInstance {
                instance_id: instance_id.to_string(),
                execution_id: None,
            },
            HistoryEvent::new(clock::now(), kind),
        );
        self.store
            .send_message(OrchestratorMessage {
                message,
                visible_at: None,
            })
            .await?;
        Ok(())
    }

    /// Raises an external event on a running (or pending, or suspended) instance.
    pub async fn raise_event<T: Serialize + ?Sized>(
        &self,
        instance_id: &str,
        event_name: &str,
        data: &T,
    ) -> Result<(), ClientError> {
        let inst = self.require(instance_id).await?;
        if inst.status.is_terminal() {
            return Err(wrong(&inst, "raise_event", "running, pending or suspended"));
        }
        let input = serde_json::to_string(data)?;
        let span = self.begin_span();
        let sent = self
            .send(
                instance_id,
                EventKind::EventRaised {
                    name: event_name.to_string(),
                    input: Some(input),
                    parent_trace_context: span.as_ref().map(|s| s.context.to_history()),
                },
            )
            .await;
        if let Some(span) = span {
            let error = sent.as_ref().err().map(ToString::to_string);
            self.end_event_span(span, event_name, instance_id, error);
        }
        sent
    }

    /// Terminates a running, pending or suspended instance.
    pub async fn terminate(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let inst = self.require(instance_id).await?;
        if inst.status.is_terminal() {
            return Err(wrong(&inst, "terminate", "running, pending or suspended"));
        }
        let reason = serde_json::to_string(reason)?;
        self.send(
            instance_id,
            EventKind::ExecutionTerminated {
                input: Some(reason),
            },
        )
        .await
    }

    /// Suspends a running or pending instance.
    pub async fn suspend(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let inst = self.require(instance_id).await?;
        if !matches!(
            inst.status,
            OrchestrationStatus::Running
                | OrchestrationStatus::Pending
                | OrchestrationStatus::ContinuedAsNew
        ) {
            return Err(wrong(&inst, "suspend", "running or pending"));
        }
        self.send(
            instance_id,
            EventKind::ExecutionSuspended {
                reason: Some(reason.to_string()),
            },
        )
        .await
    }

    /// Resumes a suspended instance.
    pub async fn resume(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let inst = self.require(instance_id).await?;
        if inst.status != OrchestrationStatus::Suspended {
            return Err(wrong(&inst, "resume", "suspended"));
        }
        self.send(
            instance_id,
            EventKind::ExecutionResumed {
                reason: Some(reason.to_string()),
            },
        )
        .await
    }

    /// Waits until the instance reaches a terminal status (or `timeout` passes). Woken by
    /// this host's completions; polls every 250 ms for completions on other hosts.
    pub async fn wait_for_completion(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<DurableOrchestrationStatus, ClientError> {
        let state = self
            .wait_terminal(instance_id, timeout, Duration::from_millis(250))
            .await?
            .ok_or_else(|| ClientError::Timeout(instance_id.to_string()))?;
        Ok(DurableOrchestrationStatus::from_state(&state, true))
    }
}

fn wrong(inst: &InstanceState, operation: &'static str, expected: &'static str) -> ClientError {
    ClientError::WrongStatus {
        instance_id: inst.instance_id.clone(),
        status: inst.status,
        operation,
        expected,
    }
}
