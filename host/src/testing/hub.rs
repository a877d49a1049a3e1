//! [`TestHub`]: an in-memory task hub with a virtual clock, for unit tests of orchestrations.
//!
//! It runs the same engine as the host, episode by episode, but keeps everything in memory and
//! reads no clock: time stands still until the test moves it ([`TestHub::advance`]) or asks
//! for an instance to run to its end ([`TestHub::run_to_completion`]), which jumps from one
//! durable timer to the next. A 72-hour approval timeout or a 30-day monitor runs in
//! milliseconds. Activities run as registered, or as stubs the test gives
//! ([`TestHub::with_activity`]); entities run as registered. Every episode is also replayed
//! from history and compared, as the host's development replay check does, so a test fails on
//! orchestrator code that is not deterministic.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use durable_engine::entity::executor::run_batch;
use durable_engine::entity::messages::{RequestMessage, OP};
use durable_engine::entity::{is_entity_instance, EntityId, SchedulerState};
use durable_engine::environment::{Environment, SequentialIds};
use durable_engine::failure::Failure;
use durable_engine::function::{
    activity_answer, activity_fn, ActivityContext, ActivityFn, Orchestration,
};
use durable_engine::history::{
    EventKind, ExecutionStarted, FailureDetails, HistoryEvent, OrchestrationInstance,
    OrchestrationStatus,
};
use durable_engine::message::TaskMessage;
use durable_engine::replay::check::compare_episodes;
use durable_engine::replay::{Execution, Outbound, NONDETERMINISM_ERROR};
use durable_engine::version::Versioning;
use durable_runtime::Registry;

/// One orchestration instance of a [`TestHub`].
#[derive(Debug)]
pub struct TestInstance {
    /// The orchestrator's name.
    pub name: String,
    /// The instance's version.
    pub version: Option<String>,
    /// Its status.
    pub status: OrchestrationStatus,
    /// The output (JSON text) of a completed instance, the reason of a terminated one, the
    /// failure text of a failed one.
    pub output: Option<String>,
    /// The custom status (JSON text).
    pub custom_status: Option<String>,
    /// Why it failed.
    pub failure: Option<FailureDetails>,
    /// The history of its current execution.
    pub history: Vec<HistoryEvent>,
    live: Option<Execution>,
}

impl TestInstance {
    /// The output as a `T`.
    pub fn output_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.output.as_deref().unwrap_or("null"))
    }

    /// The custom status as a `T`.
    pub fn custom_status_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.custom_status.as_deref().unwrap_or("null"))
    }
}

/// An in-memory task hub with a virtual clock (see the module doc).
pub struct TestHub {
    registry: Arc<Registry>,
    stubs: HashMap<String, ActivityFn>,
    env: Environment,
    versioning: Versioning,
    replay_check: bool,
    now: DateTime<Utc>,
    instances: BTreeMap<String, TestInstance>,
    entities: BTreeMap<String, SchedulerState>,
    ready: VecDeque<TaskMessage>,
    /// Delayed messages by due time, then by arrival.
    timers: BTreeMap<(DateTime<Utc>, u64), TaskMessage>,
    activities: VecDeque<TaskMessage>,
    calls: Vec<(String, Option<String>)>,
    sequence: u64,
    /// Instances started under a made-up id.
    started: u64,
}

/// The time a [`TestHub`] starts at unless told otherwise: 2025-01-01T00:00:00Z.
pub fn default_start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_689_600, 0).expect("a valid time")
}

impl TestHub {
    /// A hub running the functions of `registry`.
    pub fn new(registry: Registry) -> Self {
        let registry = Arc::new(registry);
        let env = Environment::new(registry.resolver(), Arc::new(SequentialIds::default()));
        Self {
            registry,
            stubs: HashMap::new(),
            env,
            versioning: Versioning::default(),
            replay_check: true,
            now: default_start(),
            instances: BTreeMap::new(),
            entities: BTreeMap::new(),
            ready: VecDeque::new(),
            timers: BTreeMap::new(),
            activities: VecDeque::new(),
            calls: Vec::new(),
            sequence: 0,
            started: 0,
        }
    }

    /// A hub running the functions this binary's trigger attributes registered.
    pub fn from_app() -> Self {
        let app = durable_host::app::FunctionApp::collect()
            .unwrap_or_else(|e| panic!("the app's functions: {e}"));
        Self::new(app.registry)
    }

    /// The same hub with its clock at `start`.
    pub fn starting_at(mut self, start: DateTime<Utc>) -> Self {
        self.now = start;
        self
    }

    /// The same hub answering calls to the activity `name` with `stub` instead of the
    /// registered function (or where none is registered).
    pub fn with_activity<I, O, F>(mut self, name: &str, stub: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(I) -> Result<O, Failure> + Send + Sync + 'static,
    {
        let stub = Arc::new(stub);
        let f = activity_fn(name, move |_ctx: ActivityContext, input: I| {
            let result = stub(input);
            async move { result }
        });
        self.stubs.insert(name.to_lowercase(), f);
        self
    }

    /// The same hub with these durable HTTP options (the host's default wait between polls of
    /// a `202` answer). Durable HTTP requests are answered by a stub of
    /// [`HTTP_ACTIVITY`](durable_engine::durable_http::HTTP_ACTIVITY) given with
    /// [`with_activity`](Self::with_activity), taking a `DurableHttpRequest` and returning a
    /// `DurableHttpResponse`.
    pub fn with_http_options(mut self, http: durable_engine::durable_http::HttpOptions) -> Self {
        self.env = self.env.with_http(http);
        self
    }

    /// The same hub with these versioning settings (new instances get the default version).
    pub fn with_versioning(mut self, versioning: Versioning) -> Self {
        self.versioning = versioning;
        self
    }

    /// The same hub without the replay of every episode (for orchestrations too large to
    /// replay at each step).
    pub fn without_replay_check(mut self) -> Self {
        self.replay_check = false;
        self
    }

    /// The virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Starts `orchestration` under a new instance id (`instance-1`, `instance-2`, ...) and
    /// runs until nothing more can happen without time passing; returns the id.
    pub async fn start<O: Orchestration>(&mut self, _o: O, input: impl Into<O::Input>) -> String {
        self.started += 1;
        let id = format!("instance-{}", self.started);
        self.start_raw(O::NAME, &id, &input.into(), O::VERSION.map(str::to_string))
            .await;
        id
    }

    /// [`start`](Self::start) under `instance_id`.
    pub async fn start_with_id<O: Orchestration>(
        &mut self,
        _o: O,
        instance_id: &str,
        input: impl Into<O::Input>,
    ) {
        self.start_raw(
            O::NAME,
            instance_id,
            &input.into(),
            O::VERSION.map(str::to_string),
        )
        .await;
    }

    /// Starts the orchestrator `name` under `instance_id` with `input` and an optional version
    /// (else the default version). Panics if an instance with that id is running.
    pub async fn start_raw<I: Serialize + ?Sized>(
        &mut self,
        name: &str,
        instance_id: &str,
        input: &I,
        version: Option<String>,
    ) {
        if let Some(i) = self.instances.get(instance_id) {
            assert!(
                i.status.is_terminal(),
                "instance {instance_id:?} is already {}",
                i.status.name()
            );
        }
        let input = serde_json::to_string(input).expect("the input serializes");
        let instance = OrchestrationInstance {
            instance_id: instance_id.to_string(),
            execution_id: Some(self.env.new_execution_id()),
        };
        let start = ExecutionStarted {
            orchestration_instance: instance.clone(),
            name: name.to_string(),
            input: Some(input),
            version: version.or_else(|| self.versioning.default_version.clone()),
            ..ExecutionStarted::default()
        };
        self.send(instance, EventKind::ExecutionStarted(Box::new(start)));
        self.run_until_idle().await;
    }

    /// Raises event `name` with `payload` on the instance and runs until idle.
    pub async fn raise_event<T: Serialize + ?Sized>(
        &mut self,
        instance_id: &str,
        name: &str,
        payload: &T,
    ) {
        let input = Some(serde_json::to_string(payload).expect("the payload serializes"));
        let kind = EventKind::EventRaised {
            name: name.to_string(),
            input,
            parent_trace_context: None,
        };
        self.send(Self::target(instance_id), kind);
        self.run_until_idle().await;
    }

    /// Terminates the instance and runs until idle.
    pub async fn terminate(&mut self, instance_id: &str, reason: &str) {
        let kind = EventKind::ExecutionTerminated {
            input: Some(serde_json::to_string(reason).expect("a string serializes")),
        };
        self.send(Self::target(instance_id), kind);
        self.run_until_idle().await;
    }

    /// Signals `operation` with `input` on the entity and runs until idle.
    pub async fn signal_entity<T: Serialize + ?Sized>(
        &mut self,
        entity: &EntityId,
        operation: &str,
        input: &T,
    ) {
        let input = serde_json::to_string(input).expect("the input serializes");
        let id = self.env.ids.new_id().to_string();
        let request = RequestMessage::operation(id, operation, Some(input), true, self.now);
        let kind = EventKind::EventRaised {
            name: OP.to_string(),
            input: Some(serde_json::to_string(&request).expect("a request serializes")),
            parent_trace_context: None,
        };
        self.send(Self::target(&entity.scheduler_id()), kind);
        self.run_until_idle().await;
    }

    /// Moves the clock forward by `duration`, firing every durable timer due on the way at
    /// its time, and runs until idle.
    pub async fn advance(&mut self, duration: Duration) {
        let until = self.now + chrono::Duration::from_std(duration).expect("a duration in range");
        self.run_until_idle().await;
        while self.fire_next_timer(until) {
            self.run_until_idle().await;
        }
        self.now = until;
    }

    /// Runs the instance to its end, moving the clock from one timer to the next, but not
    /// more than `limit` past now; the instance, or the time at which it still runs.
    pub async fn run_to_completion(
        &mut self,
        instance_id: &str,
        limit: Duration,
    ) -> Result<&TestInstance, StillRunning> {
        let until = self.now + chrono::Duration::from_std(limit).expect("a duration in range");
        loop {
            self.run_until_idle().await;
            let done = self
                .instances
                .get(instance_id)
                .is_some_and(|i| i.status.is_terminal());
            if done {
                return Ok(&self.instances[instance_id]);
            }
            if !self.fire_next_timer(until) {
                return Err(StillRunning {
                    instance_id: instance_id.to_string(),
                    at: self.now,
                    status: self.instances.get(instance_id).map(|i| i.status),
                });
            }
        }
    }

    /// The instance, if it exists.
    pub fn instance(&self, instance_id: &str) -> Option<&TestInstance> {
        self.instances.get(instance_id)
    }

    /// The inputs (JSON) of every call of the activity `name` so far, in order.
    pub fn activity_calls(&self, name: &str) -> Vec<serde_json::Value> {
        self.calls
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, input)| {
                serde_json::from_str(input.as_deref().unwrap_or("null")).unwrap_or_default()
            })
            .collect()
    }

    /// The entity's state as a `T`, if it has one.
    pub fn entity_state<T: DeserializeOwned>(&self, entity: &EntityId) -> Option<T> {
        let state = self.entities.get(&entity.scheduler_id())?;
        let text = state.state.as_deref().filter(|_| state.exists)?;
        Some(serde_json::from_str(text).expect("the entity state reads as the type asked for"))
    }

    /// Runs everything that can run at the current time: ready messages (batched per
    /// instance, as the host does), then the activities they asked for, until nothing is left.
    pub async fn run_until_idle(&mut self) {
        loop {
            if !self.ready.is_empty() {
                self.run_ready();
            } else if !self.activities.is_empty() {
                let requests: Vec<_> = self.activities.drain(..).collect();
                for request in requests {
                    self.run_activity(request).await;
                }
            } else {
                return;
            }
        }
    }
}

/// [`TestHub::run_to_completion`] gave up: no timer left within the limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("instance {instance_id:?} is still {} at {at} (no timer left within the limit)", status.map_or("missing", |s| s.name()))]
pub struct StillRunning {
    /// The instance.
    pub instance_id: String,
    /// The virtual time.
    pub at: DateTime<Utc>,
    /// Its status (`None` if it does not exist).
    pub status: Option<OrchestrationStatus>,
}

impl TestHub {
    fn target(instance_id: &str) -> OrchestrationInstance {
        OrchestrationInstance {
            instance_id: instance_id.to_string(),
            execution_id: None,
        }
    }

    fn send(&mut self, target: OrchestrationInstance, kind: EventKind) {
        let message = TaskMessage::new(target, HistoryEvent::new(self.now, kind));
        self.ready.push_back(message);
    }

    /// Fires the timers due at the earliest due time not after `until`; false if none.
    fn fire_next_timer(&mut self, until: DateTime<Utc>) -> bool {
        let Some(&(due, _)) = self.timers.keys().next() else {
            return false;
        };
        if due > until {
            return false;
        }
        self.now = self.now.max(due);
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > due {
                break;
            }
            self.ready.push_back(entry.remove());
        }
        true
    }

    fn route(&mut self, messages: Vec<Outbound>) {
        for m in messages {
            match m {
                Outbound::Activity(request) => self.activities.push_back(request),
                Outbound::Orchestration {
                    message,
                    visible_at: Some(at),
                } if at > self.now => {
                    self.sequence += 1;
                    self.timers.insert((at, self.sequence), message);
                }
                Outbound::Orchestration { message, .. } => self.ready.push_back(message),
            }
        }
    }

    /// Runs every ready message, one batch per instance in order of first arrival.
    fn run_ready(&mut self) {
        let mut batches: Vec<(String, Vec<TaskMessage>)> = Vec::new();
        for m in self.ready.drain(..) {
            let id = m.instance_id().to_string();
            match batches.iter_mut().find(|(i, _)| *i == id) {
                Some((_, batch)) => batch.push(m),
                None => batches.push((id, vec![m])),
            }
        }
        for (id, batch) in batches {
            if is_entity_instance(&id) {
                self.run_entity(&id, batch);
            } else {
                self.run_episode(&id, batch);
            }
        }
    }

    fn run_entity(&mut self, id: &str, batch: Vec<TaskMessage>) {
        let Ok(entity) = EntityId::from_scheduler_id(id) else {
            return;
        };
        let state = self.entities.remove(id).unwrap_or_default();
        let function = self.registry.entity(&entity.name);
        let events = batch.into_iter().map(|m| m.event);
        let out = run_batch(
            &entity,
            state,
            events,
            function.as_ref(),
            self.now,
            &self.env.entities,
            &*self.env.ids,
        );
        self.entities.insert(id.to_string(), out.state);
        self.route(out.messages);
    }

    fn run_episode(&mut self, id: &str, batch: Vec<TaskMessage>) {
        let starts = batch.iter().find_map(|m| match &m.event.kind {
            EventKind::ExecutionStarted(s) => Some(s.as_ref().clone()),
            _ => None,
        });
        let existing = self.instances.remove(id);
        let fresh = match (&existing, &starts) {
            (None, Some(_)) => true,
            (Some(i), Some(_)) => i.status.is_terminal(),
            (None, None) => return, // messages for an instance that never started
            (Some(_), None) => false,
        };
        let mut instance = match existing {
            Some(i) if !fresh => i,
            _ => {
                let s = starts.expect("a fresh instance has a start");
                TestInstance {
                    name: s.name.clone(),
                    version: s.version.clone(),
                    status: OrchestrationStatus::Pending,
                    output: None,
                    custom_status: None,
                    failure: None,
                    history: Vec::new(),
                    live: Some(Execution::new(self.env.clone())),
                }
            }
        };
        let Some(mut live) = instance.live.take() else {
            // ended: later messages are dropped, as the host drops them
            self.instances.insert(id.to_string(), instance);
            return;
        };
        let mut out = live.run_episode(self.now, batch.clone());
        if self.replay_check {
            // Silent: what the code logs was logged by the live run already.
            let silent = tracing::subscriber::NoSubscriber::default();
            let difference = tracing::subscriber::with_default(silent, || {
                let mut replayed = Execution::from_history(self.env.clone(), &instance.history);
                match replayed.nondeterminism() {
                    Some(f) => Some(f.error_message.clone()),
                    None => compare_episodes(&out, &replayed.run_episode(self.now, batch.clone())),
                }
            });
            if let Some(difference) = difference {
                let details = FailureDetails {
                    is_non_retriable: true,
                    ..FailureDetails::new(
                        NONDETERMINISM_ERROR,
                        format!("non-deterministic orchestrator: replayed from its history, the episode differs from the live run: {difference}"),
                    )
                };
                live = failed_execution(&self.env, &instance.history, details);
                out = live.run_episode(self.now, batch);
            }
        }
        if out.new_execution {
            instance.history = std::mem::take(&mut out.new_events);
        } else {
            instance.history.append(&mut out.new_events);
        }
        instance.status = out.status;
        instance.output = out.output.clone();
        instance.custom_status = out.custom_status.clone();
        instance.failure = out.failure_details.clone();
        if !out.status.is_terminal() {
            instance.live = Some(live);
        }
        self.instances.insert(id.to_string(), instance);
        self.route(out.messages);
    }

    async fn run_activity(&mut self, request: TaskMessage) {
        let EventKind::TaskScheduled { name, input, .. } = &request.event.kind else {
            return;
        };
        self.calls.push((name.clone(), input.clone()));
        let key = name.to_lowercase();
        let function = self
            .stubs
            .get(&key)
            .cloned()
            .or_else(|| self.registry.activity_by_name(name));
        let task_scheduled_id = request.event.event_id;
        let result = match function {
            Some(f) => {
                let ctx = ActivityContext {
                    instance_id: request.orchestration_instance.instance_id.clone(),
                    name: name.clone(),
                    task_scheduled_id,
                    dequeue_count: 1,
                };
                f(ctx, input.clone()).await
            }
            None => Err(Failure::new(
                durable_runtime::ACTIVITY_NOT_FOUND,
                format!("no activity named {name:?} is registered or stubbed"),
            )),
        };
        let kind = activity_answer(task_scheduled_id, result);
        self.send(request.orchestration_instance.clone(), kind);
    }
}

/// An execution that replays `history` and ends with `details`, without running the code.
fn failed_execution(
    env: &Environment,
    history: &[HistoryEvent],
    details: FailureDetails,
) -> Execution {
    Execution::from_history(env.failing_with(details), history)
}
