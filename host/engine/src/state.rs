//! The mutable state an orchestration context shares with its durable futures.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::task::Waker;

use chrono::{DateTime, Utc};

use super::history::{FailureDetails, ParentInstance, Tags};

/// Something the orchestrator asked for, keyed by its action id.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Run an activity.
    ScheduleTask {
        /// Activity name.
        name: String,
        /// Serialized input.
        input: Option<String>,
        /// How long one run may take on its host before it is cancelled.
        timeout: Option<std::time::Duration>,
        /// Keep the input in the `TaskScheduled` history event too. By default it travels only
        /// in the message to the activity, as DTFx writes history; a durable HTTP request is
        /// part of what its history records.
        input_in_history: bool,
    },
    /// Start a durable timer.
    CreateTimer {
        /// When it fires.
        fire_at: DateTime<Utc>,
    },
    /// Start a sub-orchestration.
    CreateSubOrchestration {
        /// Orchestrator name.
        name: String,
        /// The child's instance id.
        instance_id: String,
        /// The child's version: the one asked for, else the parent's.
        version: Option<String>,
        /// Serialized input.
        input: Option<String>,
    },
    /// Send an event to another instance.
    SendEvent {
        /// Target instance id.
        instance_id: String,
        /// Event name.
        name: String,
        /// Serialized payload.
        input: Option<String>,
    },
}

impl Action {
    /// How the call looks in the orchestrator's code (for nondeterminism messages).
    pub fn describe(&self) -> String {
        match self {
            Action::ScheduleTask { name, .. } => format!("call_activity({name:?})"),
            Action::CreateTimer { .. } => "create_timer(..)".to_string(),
            Action::CreateSubOrchestration { name, .. } => {
                format!("call_sub_orchestrator({name:?})")
            }
            Action::SendEvent {
                instance_id, name, ..
            } => {
                format!("send_event({instance_id:?}, {name:?})")
            }
        }
    }
}

/// How a scheduled task ended.
#[derive(Debug, Clone)]
pub enum TaskOutcome {
    /// Serialized result.
    Completed(Option<String>),
    /// Why it failed.
    Failed(FailureDetails),
}

/// The completion slot of one scheduled action.
#[derive(Debug, Default)]
pub struct TaskSlot {
    /// Filled when the completion event is applied.
    pub outcome: Option<TaskOutcome>,
    /// Set once a completion event has been applied (duplicates are ignored).
    pub resolved: bool,
    /// The waker of the future that awaits it.
    pub waker: Option<Waker>,
    /// The future was dropped (a cancelled timer, a lost `select`).
    pub dropped: bool,
}

/// One `wait_for_external_event` call.
#[derive(Debug, Default)]
pub struct EventWaiter {
    /// The event's payload once delivered.
    pub payload: Option<Option<String>>,
    /// The waker of the future that awaits it.
    pub waker: Option<Waker>,
}

/// An external event that arrived with nobody waiting for it.
#[derive(Debug, Clone)]
pub struct BufferedEvent {
    /// Arrival order across names.
    pub seq: u64,
    /// The name as sent.
    pub name: String,
    /// Serialized payload.
    pub input: Option<String>,
}

/// A continue-as-new the orchestrator asked for.
#[derive(Debug, Clone)]
pub struct ContinueAsNewRequest {
    /// Serialized input of the next generation.
    pub input: Option<String>,
}

/// State of one execution, shared by the context and its futures.
#[derive(Debug, Default)]
#[allow(missing_docs)]
pub struct State {
    pub instance_id: String,
    pub execution_id: String,
    pub name: String,
    pub version: Option<String>,
    pub input: Option<String>,
    pub parent: Option<ParentInstance>,
    pub tags: Option<Tags>,
    pub current_time: DateTime<Utc>,
    pub is_replaying: bool,
    pub next_action_id: i32,
    pub guid_counter: u64,
    /// Actions the code produced that history has not confirmed yet (new decisions).
    pub pending_actions: BTreeMap<i32, Action>,
    /// Kind of every action ever produced in this execution (for completion matching).
    pub scheduled: HashMap<i32, ActionKind>,
    pub tasks: HashMap<i32, TaskSlot>,
    /// Lower-cased event name -> stack of waiter ids (the newest wait is served first).
    pub event_waiters: HashMap<String, Vec<u64>>,
    pub waiters: HashMap<u64, EventWaiter>,
    pub next_waiter_id: u64,
    /// Lower-cased event name -> events in arrival order.
    pub buffered: HashMap<String, VecDeque<BufferedEvent>>,
    pub next_buffer_seq: u64,
    pub custom_status: Option<String>,
    pub continue_as_new: Option<ContinueAsNewRequest>,
    /// A failure found outside a future's poll (e.g. an unserializable payload); fails the
    /// orchestration at the next poll.
    pub fatal: Option<super::history::FailureDetails>,
    /// Entity state: the critical section held, the labels of requests sent.
    pub entities: super::entity::OrchestrationEntities,
    /// The entity reorder window the requests this orchestration sends are labelled with.
    pub entity_reorder_window: std::time::Duration,
    /// How durable HTTP requests poll (the host's default wait between polls).
    pub http: super::durable_http::HttpOptions,
    /// Ids of the activities, timers and sub-orchestrations scheduled and not yet completed
    /// (so that looking for a live wait does not scan every task the execution ever had).
    pub unresolved: std::collections::BTreeSet<i32>,
}

/// The kind of an action, for matching completions and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// `ScheduleTask`.
    Task,
    /// `CreateTimer`.
    Timer,
    /// `CreateSubOrchestration`.
    SubOrchestration,
    /// `SendEvent`.
    SendEvent,
}

impl Action {
    /// The kind of this action.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::ScheduleTask { .. } => ActionKind::Task,
            Action::CreateTimer { .. } => ActionKind::Timer,
            Action::CreateSubOrchestration { .. } => ActionKind::SubOrchestration,
            Action::SendEvent { .. } => ActionKind::SendEvent,
        }
    }
}

impl State {
    /// Records a new action and, if it completes later, its slot.
    pub fn push_action(&mut self, action: Action) -> i32 {
        let id = self.next_action_id;
        self.next_action_id += 1;
        let kind = action.kind();
        self.scheduled.insert(id, kind);
        if kind != ActionKind::SendEvent {
            self.tasks.insert(id, TaskSlot::default());
            self.unresolved.insert(id);
        }
        self.pending_actions.insert(id, action);
        id
    }

    /// Records an action whose id was chosen elsewhere (by a worker outside the process), as
    /// [`push_action`](Self::push_action) does; later ids continue after it.
    pub fn push_action_at(&mut self, id: i32, action: Action) {
        self.open_slot(id, action.kind());
        self.pending_actions.insert(id, action);
    }

    /// Opens the slot of a scheduling event recorded in history without code that made it
    /// (a worker outside the process did), so that its completion is matched. A worker may
    /// schedule an id again (the SDKs retry an activity under its first id): the slot opens
    /// anew.
    pub fn open_slot(&mut self, id: i32, kind: ActionKind) {
        self.next_action_id = self.next_action_id.max(id.saturating_add(1));
        self.scheduled.insert(id, kind);
        if kind != ActionKind::SendEvent {
            self.tasks.insert(id, TaskSlot::default());
            self.unresolved.insert(id);
        }
    }

    /// Applies a completion to its slot; false if it is unknown or a duplicate.
    pub fn resolve(&mut self, id: i32, kind: ActionKind, outcome: TaskOutcome) -> bool {
        if self.scheduled.get(&id) != Some(&kind) {
            return false;
        }
        let Some(slot) = self.tasks.get_mut(&id) else {
            return false;
        };
        if slot.resolved {
            return false;
        }
        slot.resolved = true;
        self.unresolved.remove(&id);
        if !slot.dropped {
            slot.outcome = Some(outcome);
            if let Some(w) = slot.waker.take() {
                w.wake();
            }
        }
        true
    }

    /// Delivers an external event to the newest waiter of its name, or buffers it.
    pub fn deliver_event(&mut self, name: &str, input: Option<String>) {
        let key = name.to_lowercase();
        if let Some(id) = self
            .event_waiters
            .get_mut(&key)
            .and_then(|stack| stack.pop())
        {
            if let Some(w) = self.waiters.get_mut(&id) {
                w.payload = Some(input);
                if let Some(waker) = w.waker.take() {
                    waker.wake();
                }
            }
            return;
        }
        self.buffer_event(name, input);
    }

    /// Keeps an event for a later wait (or for the next generation).
    pub fn buffer_event(&mut self, name: &str, input: Option<String>) {
        let seq = self.next_buffer_seq;
        self.next_buffer_seq += 1;
        self.buffered
            .entry(name.to_lowercase())
            .or_default()
            .push_back(BufferedEvent {
                seq,
                name: name.to_string(),
                input,
            });
    }

    /// Registers a waiter for an event, taking a buffered one if there is one.
    pub fn add_waiter(&mut self, name: &str) -> u64 {
        let key = name.to_lowercase();
        let id = self.next_waiter_id;
        self.next_waiter_id += 1;
        let mut waiter = EventWaiter::default();
        if let Some(ev) = self.buffered.get_mut(&key).and_then(|q| q.pop_front()) {
            waiter.payload = Some(ev.input);
        } else {
            self.event_waiters.entry(key).or_default().push(id);
        }
        self.waiters.insert(id, waiter);
        id
    }

    /// Forgets a waiter whose future was dropped.
    pub fn remove_waiter(&mut self, id: u64) {
        self.waiters.remove(&id);
        for stack in self.event_waiters.values_mut() {
            stack.retain(|w| *w != id);
        }
    }

    /// True if some durable future is registered and still waiting for its completion.
    pub fn has_live_wait(&self) -> bool {
        self.unresolved
            .iter()
            .filter_map(|id| self.tasks.get(id))
            .any(|s| !s.dropped && !s.resolved && s.waker.is_some())
            || self
                .waiters
                .values()
                .any(|w| w.payload.is_none() && w.waker.is_some())
    }

    /// Buffered events nobody consumed, in arrival order (carried over by continue-as-new).
    pub fn take_unconsumed_events(&mut self) -> Vec<BufferedEvent> {
        let mut all: Vec<BufferedEvent> = self.buffered.drain().flat_map(|(_, q)| q).collect();
        all.sort_by_key(|e| e.seq);
        all
    }
}
