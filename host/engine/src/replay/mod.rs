//! The replay engine: a pure function of (past history, new messages) -> (history delta,
//! outbound messages, instance status).
//!
//! An [`Execution`] holds a running orchestrator. Built by [`Execution::from_history`] it
//! replays past events (matching each recorded scheduling event against the call the code
//! makes now); afterwards [`Execution::run_episode`] feeds it new events without
//! replay, which is what the live cache relies on.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::context::OrchestrationContext;
use super::environment::Environment;
use super::failure::Failure;
use super::function::OrchestratorFn;
use super::history::{
    EventKind, ExecutionStarted, FailureDetails, HistoryEvent, OrchestrationStatus,
};
use super::message::TaskMessage;
use super::state::{ActionKind, State, TaskOutcome};
use super::trace::orchestration::OrchestrationTrace;
use super::trace::{SpanContext, SpanRecord, TraceId};

pub mod check;
mod determinism;
mod events;
mod finish;
mod generations;
mod outbound;
pub mod remote;

use events::{completion_of, holds_while_suspended};

/// Finds the orchestrator for a name and an instance version.
pub type Resolver = Arc<dyn Fn(&str, Option<&str>) -> Option<OrchestratorFn> + Send + Sync>;

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Returned normally with this output.
    Completed(Option<String>),
    /// Failed.
    Failed(FailureDetails),
    /// Terminated with this reason.
    Terminated(Option<String>),
    /// Continued as new with this input.
    ContinuedAsNew(Option<String>),
}

/// A message produced by an episode.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// To an orchestration's queue, possibly delayed.
    Orchestration {
        /// The message.
        message: TaskMessage,
        /// Invisible until then (durable timers).
        visible_at: Option<DateTime<Utc>>,
    },
    /// To the activity queue.
    Activity(TaskMessage),
}

/// What one episode produced.
#[derive(Debug, Clone)]
pub struct EpisodeOutput {
    /// Events to append (or, with `new_execution`, the whole new history).
    pub new_events: Vec<HistoryEvent>,
    /// The history is replaced by a new generation (continue-as-new).
    pub new_execution: bool,
    /// Outbound messages.
    pub messages: Vec<Outbound>,
    /// Status after the episode.
    pub status: OrchestrationStatus,
    /// Output, termination reason or failure text.
    pub output: Option<String>,
    /// Failure details for Failed instances.
    pub failure_details: Option<FailureDetails>,
    /// Custom status set by the orchestrator.
    pub custom_status: Option<String>,
    /// Spans this episode finished (with tracing on), to report once it is committed.
    pub spans: Vec<SpanRecord>,
}

/// Error type name used for nondeterminism failures.
pub const NONDETERMINISM_ERROR: &str = "NonDeterministicOrchestrationError";

/// How many generations one work item may run through continue-as-new.
const MAX_GENERATIONS_PER_EPISODE: usize = 1000;

/// A live orchestration execution.
pub struct Execution {
    ctx: OrchestrationContext,
    future: Option<BoxFuture<'static, Result<Option<String>, Failure>>>,
    started: Option<ExecutionStarted>,
    /// When the `ExecutionStarted` event was recorded.
    started_at: Option<DateTime<Utc>>,
    outcome: Option<Outcome>,
    suspended: bool,
    held: VecDeque<HistoryEvent>,
    history_len: u64,
    /// About how many bytes the history's payloads take ([`HistoryEvent::payload_bytes`]).
    history_bytes: usize,
    env: Environment,
    /// The completion event of `outcome` is in history (replayed or already emitted).
    completion_recorded: bool,
    /// Fail instead of continuing as new (guards against a generation loop in one episode).
    refuse_continue_as_new: bool,
    /// Span ids in history and the spans episodes finish.
    trace: OrchestrationTrace,
    /// How the orchestrator's code itself ended, whatever history says after that.
    code_outcome: Option<Outcome>,
    /// The first scheduling event in history the code's calls did not match.
    nondeterminism: Option<FailureDetails>,
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("ctx", &self.ctx)
            .field("outcome", &self.outcome)
            .field("history_len", &self.history_len)
            .finish()
    }
}

impl Execution {
    /// An execution with no history yet (its first message must be `ExecutionStarted`).
    pub fn new(env: impl Into<Environment>) -> Self {
        let env: Environment = env.into();
        let trace = OrchestrationTrace::new(env.traces);
        let state = State {
            entity_reorder_window: env.entities.reorder_window,
            http: env.http,
            ..State::default()
        };
        Self {
            ctx: OrchestrationContext::new(state),
            future: None,
            started: None,
            started_at: None,
            outcome: None,
            suspended: false,
            held: VecDeque::new(),
            history_len: 0,
            history_bytes: 0,
            env,
            completion_recorded: false,
            refuse_continue_as_new: false,
            trace,
            code_outcome: None,
            nondeterminism: None,
        }
    }

    /// Rebuilds an execution by replaying its stored history.
    pub fn from_history(env: impl Into<Environment>, history: &[HistoryEvent]) -> Self {
        let mut ex = Self::new(env);
        ex.ctx.state.lock().is_replaying = true;
        for event in history {
            ex.apply(event);
        }
        ex.history_len = history.len() as u64;
        ex.history_bytes = history.iter().map(HistoryEvent::payload_bytes).sum();
        ex.ctx.state.lock().is_replaying = false;
        ex
    }

    /// Number of history events this execution has consumed (stored history length).
    pub fn history_len(&self) -> u64 {
        self.history_len
    }

    /// About how much memory the execution holds for its history's payloads: what a cache
    /// bounded by size counts it as.
    pub fn approximate_bytes(&self) -> usize {
        self.history_bytes
    }

    /// How many activities, timers and sub-orchestrations it awaits (scheduled, not completed).
    pub fn unresolved_tasks(&self) -> usize {
        self.ctx.state.lock().unresolved.len()
    }

    /// The execution id, once started.
    pub fn execution_id(&self) -> Option<String> {
        self.started
            .as_ref()
            .and_then(|s| s.orchestration_instance.execution_id.clone())
    }

    /// The `ExecutionStarted` event of this execution, once started.
    pub fn started(&self) -> Option<&ExecutionStarted> {
        self.started.as_ref()
    }

    /// The trace this execution's span belongs to, if its `ExecutionStarted` names one.
    pub fn trace_id(&self) -> Option<TraceId> {
        match self.trace.context() {
            Some(c) => Some(c.trace_id),
            None => self
                .started()
                .and_then(SpanContext::of_execution)
                .map(|c| c.trace_id),
        }
    }

    /// When this execution's `ExecutionStarted` was recorded, once started.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.started_at
    }

    /// How the execution ended, if it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The nondeterminism failure found while replaying history, if any: the first recorded
    /// scheduling event the code's calls did not match.
    pub fn nondeterminism(&self) -> Option<&FailureDetails> {
        self.nondeterminism.as_ref()
    }

    /// Runs one episode: stamps the clock with `now`, applies the new messages, and returns
    /// what must be committed. Continue-as-new is followed within the same episode.
    pub fn run_episode(&mut self, now: DateTime<Utc>, messages: Vec<TaskMessage>) -> EpisodeOutput {
        let mut out = self.episode(now, messages);
        let mut generations = 0;
        while let Some(Outcome::ContinuedAsNew(_)) = &self.outcome {
            generations += 1;
            let carried = self.ctx.state.lock().take_unconsumed_events();
            let carried = carried.into_iter().map(|e| (e.name, e.input)).collect();
            let (mut next, msgs) = self.next_generation(now, carried, None);
            next.refuse_continue_as_new = generations >= MAX_GENERATIONS_PER_EPISODE;
            let next_out = next.episode(now, msgs);
            out = out.then(next_out);
            *self = next;
        }
        out
    }

    fn episode(&mut self, now: DateTime<Utc>, messages: Vec<TaskMessage>) -> EpisodeOutput {
        let recorded = self.begin_episode(now, messages);
        self.finish_episode(now, recorded)
    }

    /// Stamps the clock and applies the new messages; returns the events they add to history,
    /// `OrchestratorStarted` first.
    fn begin_episode(
        &mut self,
        now: DateTime<Utc>,
        mut messages: Vec<TaskMessage>,
    ) -> Vec<HistoryEvent> {
        let mut recorded = Vec::with_capacity(messages.len() + 4);
        let os = HistoryEvent {
            event_id: -1,
            is_played: false,
            timestamp: now,
            kind: EventKind::OrchestratorStarted,
        };
        self.apply(&os);
        recorded.push(os);
        // ExecutionStarted must come first in a batch that contains it.
        messages.sort_by_key(|m| !matches!(m.event.kind, EventKind::ExecutionStarted(_)));
        for mut m in messages {
            if let (EventKind::ExecutionStarted(start), None) = (&mut m.event.kind, &self.started) {
                self.trace.stamp_start(start, now, &self.env);
            }
            match (&self.outcome, &m.event.kind) {
                (None, _) => {}
                (Some(Outcome::ContinuedAsNew(_)), EventKind::EventRaised { name, input, .. }) => {
                    let mut st = self.ctx.state.lock();
                    st.buffer_event(name, input.clone()); // carried over to the next generation
                    continue;
                }
                // a terminate overrides a continue-as-new (spec §1.6)
                (Some(Outcome::ContinuedAsNew(_)), EventKind::ExecutionTerminated { input }) => {
                    self.outcome = Some(Outcome::Terminated(input.clone()));
                    recorded.push(m.event);
                    continue;
                }
                (Some(_), _) => continue, // anything else after the end is dropped
            }
            let current = self.execution_id();
            if let (Some(target), Some(current)) =
                (&m.orchestration_instance.execution_id, &current)
            {
                let is_start = matches!(m.event.kind, EventKind::ExecutionStarted(_));
                if target != current && !is_start {
                    tracing::debug!(instance_id = %m.orchestration_instance.instance_id, target, current, "dropping message for another execution");
                    continue;
                }
            }
            if self.apply(&m.event) {
                recorded.push(m.event);
            }
        }
        recorded
    }

    /// Applies one event; returns false if it is a duplicate that must not be recorded.
    fn apply(&mut self, event: &HistoryEvent) -> bool {
        if self.suspended && holds_while_suspended(&event.kind) {
            self.held.push_back(event.clone());
            return true;
        }
        if let Some((id, kind, outcome)) = completion_of(&event.kind) {
            let error = match &outcome {
                TaskOutcome::Failed(f) if self.trace.active() => Some(f.error_message.clone()),
                _ => None,
            };
            let applied = self.complete(id, kind, outcome);
            if applied && self.trace.active() {
                let (now, replaying) = {
                    let st = self.ctx.state.lock();
                    (st.current_time, st.is_replaying)
                };
                self.trace.completed(event, id, error, now, replaying);
            }
            return applied;
        }
        match &event.kind {
            EventKind::OrchestratorStarted => {
                self.ctx.state.lock().current_time = event.timestamp;
            }
            EventKind::ExecutionStarted(started) => {
                if self.started.is_some() {
                    return false;
                }
                self.started_at = Some(event.timestamp);
                self.trace.started(started, event.timestamp);
                self.start(started);
            }
            EventKind::ExecutionCompleted {
                status,
                result,
                failure_details,
            } => {
                let overrides = matches!(self.outcome, Some(Outcome::ContinuedAsNew(_)))
                    && *status == OrchestrationStatus::Terminated;
                if self.completion_recorded && !overrides {
                    return true; // the first completion wins
                }
                self.future = None;
                self.completion_recorded = true;
                self.outcome = Some(match status {
                    OrchestrationStatus::Completed => Outcome::Completed(result.clone()),
                    OrchestrationStatus::Terminated => Outcome::Terminated(result.clone()),
                    _ => Outcome::Failed(failure_details.clone().unwrap_or_else(|| {
                        FailureDetails::new("Error", result.clone().unwrap_or_default())
                    })),
                });
            }
            EventKind::ContinueAsNew { result, .. } => {
                if !self.completion_recorded {
                    self.future = None;
                    self.completion_recorded = true;
                    self.outcome = Some(Outcome::ContinuedAsNew(result.clone()));
                }
            }
            EventKind::ExecutionTerminated { input } => {
                if self.outcome.is_none()
                    || matches!(self.outcome, Some(Outcome::ContinuedAsNew(_)))
                        && !self.completion_recorded
                {
                    self.future = None;
                    self.outcome = Some(Outcome::Terminated(input.clone()));
                }
            }
            EventKind::TaskScheduled { name, .. } => {
                self.match_action(event, ActionKind::Task, Some(name));
                self.trace.scheduled(event);
            }
            EventKind::TimerCreated { .. } => {
                if event.event_id != -100 {
                    self.match_action(event, ActionKind::Timer, None);
                    self.trace.scheduled(event);
                }
            }
            EventKind::SubOrchestrationInstanceCreated { name, .. } => {
                self.match_action(event, ActionKind::SubOrchestration, Some(name));
                self.trace.scheduled(event);
            }
            EventKind::EventSent { name, .. } => {
                self.match_action(event, ActionKind::SendEvent, Some(name))
            }
            EventKind::EventRaised {
                name,
                input,
                parent_trace_context,
            } => {
                self.trace.event_raised(parent_trace_context.as_ref());
                let mut st = self.ctx.state.lock();
                if st.continue_as_new.is_some() {
                    st.buffer_event(name, input.clone()); // carried over to the next generation
                } else {
                    st.deliver_event(name, input.clone());
                    drop(st);
                    self.poll();
                }
            }
            EventKind::ExecutionSuspended { .. } => {
                if self.outcome.is_none() {
                    self.suspended = true;
                }
            }
            EventKind::ExecutionResumed { .. } => {
                self.suspended = false;
                while let Some(held) = self.held.pop_front() {
                    self.apply(&held);
                    if self.suspended {
                        break;
                    }
                }
            }
            EventKind::OrchestratorCompleted
            | EventKind::ExecutionFailed
            | EventKind::GenericEvent { .. }
            | EventKind::HistoryState { .. }
            | EventKind::ExecutionRewound { .. } => {}
            // completions are handled before the match
            EventKind::TaskCompleted { .. }
            | EventKind::TaskFailed { .. }
            | EventKind::SubOrchestrationInstanceCompleted { .. }
            | EventKind::SubOrchestrationInstanceFailed { .. }
            | EventKind::TimerFired { .. } => {}
        }
        true
    }

    fn start(&mut self, started: &ExecutionStarted) {
        {
            let mut st = self.ctx.state.lock();
            st.instance_id = started.orchestration_instance.instance_id.clone();
            st.execution_id = started
                .orchestration_instance
                .execution_id
                .clone()
                .unwrap_or_default();
            st.name = started.name.clone();
            st.version = started.version.clone();
            st.input = started.input.clone();
            st.parent = started.parent_instance.clone();
            st.tags = started.tags.clone();
        }
        self.started = Some(started.clone());
        if !self.env.run_code {
            return;
        }
        match (self.env.resolver)(&started.name, started.version.as_deref()) {
            Some(f) => {
                let ctx = self.ctx.clone();
                match std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx))) {
                    Ok(fut) => {
                        self.future = Some(fut);
                        self.poll();
                    }
                    Err(panic) => self.code_ended(Outcome::Failed(
                        Failure::new("Panic", panic_message(&panic)).0,
                    )),
                }
            }
            None => self.code_ended(Outcome::Failed(FailureDetails::new(
                "OrchestratorNotFound",
                format!(
                    "no orchestrator named {:?}{} is registered on this host",
                    started.name,
                    crate::version::describe(started.version.as_deref())
                ),
            ))),
        }
    }

    fn complete(&mut self, id: i32, kind: ActionKind, outcome: TaskOutcome) -> bool {
        let applied = self.ctx.state.lock().resolve(id, kind, outcome);
        if applied {
            self.poll();
        } else {
            tracing::debug!(
                task_scheduled_id = id,
                "ignoring a duplicate or unknown completion"
            );
        }
        applied
    }

    /// Polls the orchestrator once; records its outcome if it finished.
    fn poll(&mut self) {
        let Some(fut) = self.future.as_mut() else {
            return;
        };
        if self.outcome.is_some() {
            return;
        }
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        let result = match polled {
            Err(panic) => Err(Failure::new("Panic", panic_message(&panic))),
            Ok(Poll::Ready(r)) => r,
            Ok(Poll::Pending) => {
                let st = self.ctx.state.lock();
                if st.fatal.is_none() && st.has_live_wait() {
                    return;
                }
                drop(st);
                Err(Failure::new(
                    "NonDurableAwaitError",
                    "the orchestrator is waiting on a future that is not durable (e.g. \
                     tokio::time::sleep, a channel or I/O); orchestrators may only await \
                     OrchestrationContext operations such as call_activity, create_timer or \
                     wait_for_external_event",
                )
                .non_retriable())
            }
        };
        self.future = None;
        let (can, fatal) = {
            let mut st = self.ctx.state.lock();
            (st.continue_as_new.clone(), st.fatal.take())
        };
        self.code_ended(match (result, fatal) {
            (_, Some(f)) => Outcome::Failed(f),
            (Ok(_), None) if can.is_some() && self.refuse_continue_as_new => {
                Outcome::Failed(FailureDetails::new(
                    "ContinueAsNewLoopError",
                    "the orchestrator continued as new 1000 times in one episode without awaiting anything",
                ))
            }
            (Ok(out), None) => match can {
                Some(req) => Outcome::ContinuedAsNew(req.input),
                None => Outcome::Completed(out),
            },
            (Err(f), None) => Outcome::Failed(f.0),
        });
    }

    /// Records how the code ended (the first time) as the outcome.
    fn code_ended(&mut self, outcome: Outcome) {
        self.code_outcome.get_or_insert_with(|| outcome.clone());
        self.outcome = Some(outcome);
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let msg = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("the orchestrator panicked: {msg}")
}
