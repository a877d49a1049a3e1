//! `OrchestrationContext`: the API an orchestrator uses to schedule durable work.
//!
//! Every scheduling call takes the next action id at the moment it is made (not when its
//! future is first polled), so ids follow the order of calls in the code, as in DTFx.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::failure::{Failure, TaskError};
use super::function::{decode, Activity, Orchestration};
use super::futures::{DurableTask, ExternalEvent, Timer};
use super::guid;
use super::history::FailureDetails;
use super::state::{Action, ActionKind, ContinueAsNewRequest, State};

/// The orchestrator's handle on its durable execution. Cheap to clone.
#[derive(Clone)]
pub struct OrchestrationContext {
    pub(crate) state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for OrchestrationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.lock();
        f.debug_struct("OrchestrationContext")
            .field("instance_id", &st.instance_id)
            .field("execution_id", &st.execution_id)
            .finish()
    }
}

impl OrchestrationContext {
    pub(crate) fn new(state: State) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The instance id.
    pub fn instance_id(&self) -> String {
        self.state.lock().instance_id.clone()
    }

    /// The current execution (generation) id.
    pub fn execution_id(&self) -> String {
        self.state.lock().execution_id.clone()
    }

    /// The orchestrator's name.
    pub fn name(&self) -> String {
        self.state.lock().name.clone()
    }

    /// The version this instance was started with (none if its starter gave none and the
    /// host has no `defaultVersion`). It never changes during the instance's life, so an
    /// orchestrator may branch on it to keep old instances on the old path; compare with
    /// [`compare_versions`](crate::version::compare_versions).
    pub fn version(&self) -> Option<String> {
        self.state.lock().version.clone()
    }

    /// Deterministic "now": the start time of the current episode, identical on every replay.
    pub fn current_utc_datetime(&self) -> DateTime<Utc> {
        self.state.lock().current_time
    }

    /// True while the orchestrator is re-executing events it has already seen.
    pub fn is_replaying(&self) -> bool {
        self.state.lock().is_replaying
    }

    /// A deterministic GUID (UUIDv5), the same on every replay.
    pub fn new_guid(&self) -> Uuid {
        let mut st = self.state.lock();
        let n = st.guid_counter;
        st.guid_counter += 1;
        guid::new_guid(&st.instance_id, &st.current_time, n)
    }

    /// The orchestration's input.
    pub fn get_input<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        decode("orchestration input", self.state.lock().input.as_deref())
    }

    pub(crate) fn raw_input(&self) -> Option<String> {
        self.state.lock().input.clone()
    }

    /// Sets the custom status shown in status queries (any JSON-serializable value).
    pub fn set_custom_status<T: Serialize>(&self, status: &T) {
        let json = self.encode("custom status", status);
        self.state.lock().custom_status = json;
    }

    /// Serializes a payload; a failure fails the orchestration (recorded, reported at the next
    /// poll) rather than silently sending nothing.
    fn encode<T: Serialize + ?Sized>(&self, what: &str, value: &T) -> Option<String> {
        match serde_json::to_string(value) {
            Ok(json) => Some(json),
            Err(e) => {
                let mut st = self.state.lock();
                st.fatal.get_or_insert_with(|| {
                    FailureDetails::new(
                        "SerializationError",
                        format!("{what} does not serialize: {e}"),
                    )
                });
                None
            }
        }
    }

    /// Calls an activity; input and output types are checked against its signature.
    pub fn call_activity<A: Activity>(
        &self,
        _activity: A,
        input: impl Into<A::Input>,
    ) -> DurableTask<A::Output> {
        self.call_activity_by_name(A::NAME, &input.into())
    }

    /// Calls an activity by name.
    pub fn call_activity_by_name<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        name: &str,
        input: &I,
    ) -> DurableTask<O> {
        self.schedule_activity(name, input, None)
    }

    /// Schedules an activity whose run its host cancels after `timeout`.
    pub(crate) fn schedule_activity<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        name: &str,
        input: &I,
        timeout: Option<std::time::Duration>,
    ) -> DurableTask<O> {
        self.schedule_task(name, input, timeout, false)
    }

    /// Schedules an activity, with its input kept in history too if `input_in_history`.
    pub(crate) fn schedule_task<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        name: &str,
        input: &I,
        timeout: Option<std::time::Duration>,
        input_in_history: bool,
    ) -> DurableTask<O> {
        match serde_json::to_string(input) {
            Ok(json) => self.schedule(
                name,
                ActionKind::Task,
                Action::ScheduleTask {
                    name: name.to_string(),
                    input: Some(json),
                    timeout,
                    input_in_history,
                },
            ),
            Err(e) => DurableTask::failed(self.clone(), name, e),
        }
    }

    /// Calls a sub-orchestration with the default instance id `{executionId}:{actionId}`.
    /// The child runs under the version `O` was registered for, or this instance's version
    /// if `O` names none.
    pub fn call_sub_orchestrator<O: Orchestration>(
        &self,
        _orchestration: O,
        input: impl Into<O::Input>,
    ) -> DurableTask<O::Output> {
        let options = SubOrchestrationOptions {
            instance_id: None,
            version: O::VERSION.map(str::to_string),
        };
        self.call_sub_orchestrator_with(O::NAME, options, &input.into())
    }

    /// Calls a sub-orchestration by name, optionally with a chosen instance id; the child
    /// runs under this instance's version.
    pub fn call_sub_orchestrator_by_name<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        name: &str,
        instance_id: Option<&str>,
        input: &I,
    ) -> DurableTask<O> {
        let options = SubOrchestrationOptions {
            instance_id: instance_id.map(str::to_string),
            version: None,
        };
        self.call_sub_orchestrator_with(name, options, input)
    }

    /// Calls a sub-orchestration by name with the given options.
    pub fn call_sub_orchestrator_with<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        name: &str,
        options: SubOrchestrationOptions,
        input: &I,
    ) -> DurableTask<O> {
        let SubOrchestrationOptions {
            instance_id,
            version,
        } = options;
        let json = match serde_json::to_string(input) {
            Ok(json) => json,
            Err(e) => return DurableTask::failed(self.clone(), name, e),
        };
        let (child_id, version) = {
            let st = self.state.lock();
            let id = match instance_id {
                Some(id) => id,
                None => format!("{}:{}", st.execution_id, st.next_action_id),
            };
            (id, version.or_else(|| st.version.clone()))
        };
        self.schedule(
            name,
            ActionKind::SubOrchestration,
            Action::CreateSubOrchestration {
                name: name.to_string(),
                instance_id: child_id,
                version,
                input: Some(json),
            },
        )
    }

    fn schedule<O: DeserializeOwned>(
        &self,
        name: &str,
        kind: ActionKind,
        action: Action,
    ) -> DurableTask<O> {
        let id = self.state.lock().push_action(action);
        DurableTask::new(self.clone(), id, name, kind)
    }

    /// A durable timer that fires at `fire_at`. Dropping it (e.g. when it loses a `select`)
    /// cancels it: the orchestration no longer waits for it.
    pub fn create_timer(&self, fire_at: DateTime<Utc>) -> Timer {
        let id = self
            .state
            .lock()
            .push_action(Action::CreateTimer { fire_at });
        Timer::new(self.clone(), id)
    }

    /// A durable timer that fires `delay` after the current orchestrator time.
    pub fn sleep(&self, delay: std::time::Duration) -> Timer {
        let at = add_saturating(self.current_utc_datetime(), delay);
        self.create_timer(at)
    }

    /// Waits for an external event; events that arrived earlier are buffered per name (FIFO).
    /// Several waits on one name are served newest first.
    pub fn wait_for_external_event<T: DeserializeOwned>(&self, name: &str) -> ExternalEvent<T> {
        let id = self.state.lock().add_waiter(name);
        ExternalEvent::new(self.clone(), id, name)
    }

    /// Waits for an external event for at most `timeout` (a durable timer); on timeout the
    /// result is [`TaskError::TimedOut`].
    pub async fn wait_for_external_event_with_timeout<T: DeserializeOwned>(
        &self,
        name: &str,
        timeout: std::time::Duration,
    ) -> Result<T, TaskError> {
        let event = self.wait_for_external_event::<T>(name);
        let timer = self.sleep(timeout);
        match futures::future::select(event, timer).await {
            futures::future::Either::Left((value, _timer)) => value,
            futures::future::Either::Right(((), _event)) => {
                Err(TaskError::TimedOut(format!("external event {name:?}")))
            }
        }
    }

    /// Sends an event to another orchestration instance (fire and forget).
    pub fn send_event<T: Serialize + ?Sized>(&self, instance_id: &str, name: &str, data: &T) {
        let input = self.encode("event payload", data);
        self.state.lock().push_action(Action::SendEvent {
            instance_id: instance_id.to_string(),
            name: name.to_string(),
            input,
        });
    }

    /// Ends this generation when the orchestrator returns, and starts a new one with `input`
    /// and the same instance id. Unconsumed external events are carried over. The
    /// orchestrator's return value is ignored.
    pub fn continue_as_new<T: Serialize + ?Sized>(&self, input: &T) {
        let input = self.encode("continue-as-new input", input);
        self.state.lock().continue_as_new = Some(ContinueAsNewRequest { input });
    }
}

/// How a sub-orchestration is started ([`OrchestrationContext::call_sub_orchestrator_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubOrchestrationOptions {
    /// The child's instance id; by default `{executionId}:{actionId}`.
    pub instance_id: Option<String>,
    /// The child's version; by default the calling instance's.
    pub version: Option<String>,
}

/// `t + d`, saturating at the largest representable time instead of overflowing.
pub(crate) fn add_saturating(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
