//! The client calls on one instance: start, read, wait, raise an event, terminate, suspend,
//! resume, rewind and restart.

use std::time::Duration;

use durable_client::{IfExists, StartOptions};
use durable_engine::history::OrchestrationStatus;
use durable_store::InstanceState;
use tonic::Status;

use super::Sidecar;
use crate::convert::{
    from_optional_timestamp, non_empty, orchestration_state, statuses_from_proto,
};
use crate::errors::{status_of, store_status};
use crate::proto;

/// How often a wait for an instance to start reads its status.
const START_POLL: Duration = Duration::from_millis(100);

/// The instance id of a request, which must be given.
pub(super) fn required_id(id: &str) -> Result<&str, Status> {
    if id.is_empty() {
        return Err(Status::invalid_argument("instanceId is required"));
    }
    Ok(id)
}

impl Sidecar {
    pub(super) async fn start(
        &self,
        r: proto::CreateInstanceRequest,
    ) -> Result<proto::CreateInstanceResponse, Status> {
        if r.name.is_empty() {
            return Err(Status::invalid_argument(
                "name (the orchestrator to start) is required",
            ));
        }
        let instance_id = non_empty(&r.instance_id);
        let if_exists = match r.orchestration_id_reuse_policy {
            None => None,
            Some(policy) => Some(self.reuse(instance_id.as_deref(), &policy).await?),
        };
        let options = StartOptions {
            instance_id,
            version: r.version.filter(|v| !v.is_empty()),
            start_at: from_optional_timestamp(
                r.scheduled_start_timestamp.as_ref(),
                "scheduledStartTimestamp",
            )?,
            if_exists,
            tags: r.tags.into_iter().collect(),
        };
        // An empty input is no input (the JavaScript SDK's client sends one).
        let input = r.input.filter(|i| !i.is_empty());
        let instance_id = self
            .client
            .start_with_options(&r.name, input, options)
            .await
            .map_err(status_of)?;
        Ok(proto::CreateInstanceResponse { instance_id })
    }

    /// What a start with an id reuse policy does to an existing instance of its id: one whose
    /// status the policy does not list is refused; a listed running status replaces it
    /// whatever its status, otherwise only an ended instance is replaced.
    async fn reuse(
        &self,
        instance_id: Option<&str>,
        policy: &proto::OrchestrationIdReusePolicy,
    ) -> Result<IfExists, Status> {
        let replaceable = statuses_from_proto(&policy.replaceable_status)?;
        if let Some(id) = instance_id {
            let existing = self.client.store().get_instance(id).await;
            if let Some(existing) = existing.map_err(store_status)? {
                if !replaceable.contains(&existing.status) {
                    return Err(Status::already_exists(format!(
                        "instance {id:?} already exists with status {}, which the id reuse \
                         policy does not replace",
                        existing.status.name()
                    )));
                }
            }
        }
        Ok(if replaceable.iter().any(|s| !s.is_terminal()) {
            IfExists::ReplaceAny
        } else {
            IfExists::ReplaceEnded
        })
    }

    /// The instance's row; `None` if it does not exist.
    async fn read(&self, instance_id: &str) -> Result<Option<InstanceState>, Status> {
        self.client
            .store()
            .get_instance(required_id(instance_id)?)
            .await
            .map_err(store_status)
    }

    pub(super) async fn get(
        &self,
        r: proto::GetInstanceRequest,
    ) -> Result<proto::GetInstanceResponse, Status> {
        let state = self.read(&r.instance_id).await?;
        Ok(answer(state.as_ref(), r.get_inputs_and_outputs))
    }

    /// Waits until the instance has started (is no longer Pending).
    pub(super) async fn wait_for_start(
        &self,
        r: proto::GetInstanceRequest,
    ) -> Result<proto::GetInstanceResponse, Status> {
        let wait = async {
            loop {
                let state = self.read(&r.instance_id).await?;
                match state {
                    Some(s) if s.status == OrchestrationStatus::Pending => {}
                    other => return Ok(answer(other.as_ref(), r.get_inputs_and_outputs)),
                }
                tokio::time::sleep(START_POLL).await;
            }
        };
        self.until_closed(wait).await
    }

    /// Waits until the instance has ended (Completed, Failed, Canceled or Terminated).
    pub(super) async fn wait_for_completion(
        &self,
        r: proto::GetInstanceRequest,
    ) -> Result<proto::GetInstanceResponse, Status> {
        let Some(state) = self.read(&r.instance_id).await? else {
            return Ok(answer(None, false));
        };
        let wait = async {
            if !state.status.is_terminal() {
                // Until the call's deadline, if it has one: the transport ends the call then.
                self.client
                    .wait_for_completion(&r.instance_id, Duration::MAX)
                    .await
                    .map_err(status_of)?;
            }
            let state = self.read(&r.instance_id).await?;
            Ok(answer(state.as_ref(), r.get_inputs_and_outputs))
        };
        self.until_closed(wait).await
    }

    /// Runs `wait` unless the hub closes first (the host is shutting down).
    async fn until_closed<T>(
        &self,
        wait: impl std::future::Future<Output = Result<T, Status>>,
    ) -> Result<T, Status> {
        tokio::select! {
            done = wait => done,
            () = self.hub.closed() => Err(Status::unavailable("the host is shutting down")),
        }
    }

    pub(super) async fn raise_event(&self, r: proto::RaiseEventRequest) -> Result<(), Status> {
        let id = required_id(&r.instance_id)?;
        if r.name.is_empty() {
            return Err(Status::invalid_argument(
                "name (the event's name) is required",
            ));
        }
        let raised = match r.input {
            Some(text) => {
                let raw = serde_json::value::RawValue::from_string(text).map_err(|e| {
                    Status::invalid_argument(format!("the event's input is not JSON: {e}"))
                })?;
                self.client.raise_event(id, &r.name, &raw).await
            }
            None => self.client.raise_event(id, &r.name, &()).await,
        };
        raised.map_err(status_of)
    }

    pub(super) async fn terminate(&self, r: proto::TerminateRequest) -> Result<(), Status> {
        let id = required_id(&r.instance_id)?;
        let reason = reason_text(r.output);
        let terminated = if r.recursive {
            self.client.terminate_recursive(id, &reason).await.map(drop)
        } else {
            self.client.terminate(id, &reason).await
        };
        terminated.map_err(status_of)
    }

    pub(super) async fn suspend(&self, r: proto::SuspendRequest) -> Result<(), Status> {
        let id = required_id(&r.instance_id)?;
        let reason = r.reason.unwrap_or_default();
        self.client.suspend(id, &reason).await.map_err(status_of)
    }

    pub(super) async fn resume(&self, r: proto::ResumeRequest) -> Result<(), Status> {
        let id = required_id(&r.instance_id)?;
        let reason = r.reason.unwrap_or_default();
        self.client.resume(id, &reason).await.map_err(status_of)
    }

    pub(super) async fn rewind(&self, r: proto::RewindInstanceRequest) -> Result<(), Status> {
        let id = required_id(&r.instance_id)?;
        let reason = r.reason.unwrap_or_default();
        self.client.rewind(id, &reason).await.map_err(status_of)
    }

    pub(super) async fn restart(
        &self,
        r: proto::RestartInstanceRequest,
    ) -> Result<proto::RestartInstanceResponse, Status> {
        let id = required_id(&r.instance_id)?;
        let instance_id = self
            .client
            .restart(id, r.restart_with_new_instance_id)
            .await
            .map_err(status_of)?;
        Ok(proto::RestartInstanceResponse { instance_id })
    }
}

/// The answer to `GetInstance` and the waits.
fn answer(state: Option<&InstanceState>, payloads: bool) -> proto::GetInstanceResponse {
    proto::GetInstanceResponse {
        exists: state.is_some(),
        orchestration_state: state.map(|s| orchestration_state(s, payloads)),
    }
}

/// A termination's reason as text: the SDKs send it serialized, and a JSON string is taken
/// as its content (the instance's output is then that string again); other JSON is kept as
/// its text.
fn reason_text(output: Option<String>) -> String {
    match output {
        None => String::new(),
        Some(text) => match serde_json::from_str::<String>(&text) {
            Ok(inner) => inner,
            Err(_) => text,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::reason_text;

    #[test]
    fn a_serialized_string_reason_is_unwrapped_and_other_json_kept() {
        assert_eq!(reason_text(Some("\"enough\"".into())), "enough");
        assert_eq!(reason_text(Some("{\"a\":1}".into())), "{\"a\":1}");
        assert_eq!(reason_text(Some("plain".into())), "plain");
        assert_eq!(reason_text(None), "");
    }
}
