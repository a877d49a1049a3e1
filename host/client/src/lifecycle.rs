//! Starting with a raw input, restarting and rewinding instances.

use super::{validate_instance_id, wrong, ClientError, DurableClient, StartOptions};
use durable_engine::history::{
    EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance, OrchestrationStatus,
};
use durable_engine::message::TaskMessage;
use durable_store::clock;

impl DurableClient {
    /// Starts an orchestration with an already serialized JSON input (`None` = no input) and an
    /// optional version (else the client's default version); returns the instance id (a new
    /// GUID if none is given). [`start_with_options`](Self::start_with_options) takes more.
    pub async fn start_new_raw(
        &self,
        orchestrator: &str,
        instance_id: Option<&str>,
        input: Option<String>,
        version: Option<String>,
    ) -> Result<String, ClientError> {
        let options = StartOptions {
            instance_id: instance_id.map(str::to_string),
            version,
            ..StartOptions::default()
        };
        self.start_with_options(orchestrator, input, options).await
    }

    /// Creates the instance `options` describe (its `if_exists` is the caller's business).
    pub(crate) async fn create(
        &self,
        orchestrator: &str,
        input: Option<String>,
        options: StartOptions,
    ) -> Result<String, ClientError> {
        let id = match options.instance_id {
            Some(id) => {
                validate_instance_id(&id)?;
                id
            }
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        let instance = OrchestrationInstance {
            instance_id: id.clone(),
            execution_id: Some(uuid::Uuid::new_v4().simple().to_string()),
        };
        let version = options
            .version
            .filter(|v| !v.is_empty())
            .or_else(|| self.default_version.as_deref().map(str::to_string));
        let span = self.begin_span();
        let execution_id = instance.execution_id.clone().unwrap_or_default();
        let start = ExecutionStarted {
            orchestration_instance: instance.clone(),
            name: orchestrator.to_string(),
            input,
            version: version.clone(),
            parent_trace_context: span.as_ref().map(|s| s.context.to_history()),
            scheduled_start_time: options.start_at,
            tags: (!options.tags.is_empty()).then_some(options.tags),
            ..ExecutionStarted::default()
        };
        let message = TaskMessage::new(
            instance,
            HistoryEvent::new(clock::now(), EventKind::ExecutionStarted(Box::new(start))),
        );
        let created = self.store.create_instance(message).await;
        if let Some(span) = span {
            let error = created.as_ref().err().map(ToString::to_string);
            let version = version.as_deref();
            self.end_start_span(span, orchestrator, version, &id, &execution_id, error);
        }
        created?;
        tracing::debug!(instance_id = %id, orchestrator, "started");
        Ok(id)
    }

    /// Starts the instance's orchestrator again with its original input and version: under a
    /// new GUID when `restart_with_new_instance_id`, else under the same id (which must not be
    /// running). Returns the id of the restarted instance.
    pub async fn restart(
        &self,
        instance_id: &str,
        restart_with_new_instance_id: bool,
    ) -> Result<String, ClientError> {
        let inst = self.require(instance_id).await?;
        let id = (!restart_with_new_instance_id).then_some(instance_id);
        self.start_new_raw(&inst.name, id, inst.input.clone(), inst.version.clone())
            .await
    }

    /// Rewinds a Failed instance: the runtime drops the failure from its history, schedules the
    /// failed activities and sub-orchestrations again, and the instance runs on under the same
    /// execution id. The status stays Failed until the runtime has taken the rewind message.
    pub async fn rewind(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let inst = self.require(instance_id).await?;
        if inst.status != OrchestrationStatus::Failed {
            return Err(wrong(&inst, "rewind", "failed"));
        }
        self.send(
            instance_id,
            EventKind::ExecutionRewound {
                reason: Some(reason.to_string()),
                parent_execution_id: None,
                instance_id: None,
                parent_trace_context: None,
            },
        )
        .await
    }
}
