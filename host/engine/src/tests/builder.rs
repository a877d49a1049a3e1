//! A history builder and a tiny harness, so that a test reads like the history it checks.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::function::OrchestratorFn;
use crate::history::{
    EventKind, ExecutionStarted, FailureDetails, HistoryEvent, OrchestrationInstance,
};
use crate::message::TaskMessage;
use crate::replay::{EpisodeOutput, Execution, Outbound, Resolver};
use crate::time;

pub const INSTANCE: &str = "inst-1";
pub const EXECUTION: &str = "0123456789abcdef0123456789abcdef";

/// The clock of canned histories: episode `n` starts at T0 + n seconds.
pub fn t(n: i64) -> DateTime<Utc> {
    time::parse("2024-01-01T00:00:00Z").unwrap() + Duration::seconds(n)
}

pub fn me() -> OrchestrationInstance {
    OrchestrationInstance {
        instance_id: INSTANCE.to_string(),
        execution_id: Some(EXECUTION.to_string()),
    }
}

/// Builds a history event by event.
pub struct History {
    events: Vec<HistoryEvent>,
    episode: i64,
}

impl History {
    /// `OrchestratorStarted` + `ExecutionStarted(name, input)`.
    pub fn started(name: &str, input: &str) -> Self {
        let mut h = History {
            events: vec![],
            episode: 0,
        };
        h.push(-1, EventKind::OrchestratorStarted);
        h.push(-1, start_event(name, input).event.kind);
        h
    }

    fn push(&mut self, id: i32, kind: EventKind) -> &mut Self {
        self.events.push(HistoryEvent {
            event_id: id,
            is_played: false,
            timestamp: t(self.episode),
            kind,
        });
        self
    }

    /// Ends the episode and starts the next one, one second later.
    pub fn next_episode(&mut self) -> &mut Self {
        self.push(-1, EventKind::OrchestratorCompleted);
        self.episode += 1;
        self.push(-1, EventKind::OrchestratorStarted)
    }

    pub fn task_scheduled(&mut self, id: i32, name: &str) -> &mut Self {
        self.push(
            id,
            EventKind::TaskScheduled {
                name: name.into(),
                version: None,
                input: None,
                tags: None,
                parent_trace_context: None,
            },
        )
    }

    pub fn task_completed(&mut self, id: i32, result: &str) -> &mut Self {
        self.push(-1, task_completed(id, result))
    }

    pub fn task_failed(&mut self, id: i32, message: &str) -> &mut Self {
        self.push(-1, task_failed(id, message))
    }

    pub fn timer_created(&mut self, id: i32, fire_at: DateTime<Utc>) -> &mut Self {
        self.push(id, EventKind::TimerCreated { fire_at })
    }

    pub fn timer_fired(&mut self, id: i32, fire_at: DateTime<Utc>) -> &mut Self {
        self.push(
            -1,
            EventKind::TimerFired {
                timer_id: id,
                fire_at,
            },
        )
    }

    pub fn sub_created(&mut self, id: i32, name: &str, instance_id: &str) -> &mut Self {
        self.push(
            id,
            EventKind::SubOrchestrationInstanceCreated {
                name: name.into(),
                version: None,
                instance_id: instance_id.into(),
                input: None,
                client_span_id: None,
                tags: None,
            },
        )
    }

    pub fn sub_completed(&mut self, id: i32, result: &str) -> &mut Self {
        self.push(
            -1,
            EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id: id,
                result: Some(result.into()),
            },
        )
    }

    pub fn event_sent(&mut self, id: i32, target: &str, name: &str, input: &str) -> &mut Self {
        self.push(
            id,
            EventKind::EventSent {
                instance_id: target.into(),
                name: name.into(),
                input: Some(input.into()),
            },
        )
    }

    pub fn event_raised(&mut self, name: &str, input: &str) -> &mut Self {
        self.push(-1, event_raised(name, input))
    }

    pub fn build(&self) -> Vec<HistoryEvent> {
        self.events.clone()
    }
}

pub fn start_event(name: &str, input: &str) -> TaskMessage {
    TaskMessage::new(
        me(),
        HistoryEvent::new(
            chrono::Utc::now(),
            EventKind::ExecutionStarted(Box::new(ExecutionStarted {
                orchestration_instance: me(),
                name: name.into(),
                input: Some(input.into()),
                ..ExecutionStarted::default()
            })),
        ),
    )
}

pub fn task_completed(id: i32, result: &str) -> EventKind {
    EventKind::TaskCompleted {
        task_scheduled_id: id,
        result: Some(result.into()),
    }
}

pub fn task_failed(id: i32, message: &str) -> EventKind {
    EventKind::TaskFailed {
        task_scheduled_id: id,
        reason: Some(message.into()),
        details: None,
        failure_details: Some(FailureDetails::new("ActivityError", message)),
    }
}

pub fn event_raised(name: &str, input: &str) -> EventKind {
    EventKind::EventRaised {
        name: name.into(),
        input: Some(input.into()),
        parent_trace_context: None,
    }
}

/// A message to this instance.
pub fn msg(kind: EventKind) -> TaskMessage {
    TaskMessage::new(me(), HistoryEvent::new(chrono::Utc::now(), kind))
}

/// A resolver knowing the given orchestrators.
pub fn resolver(orchestrators: Vec<(&str, OrchestratorFn)>) -> Resolver {
    let map: HashMap<String, OrchestratorFn> = orchestrators
        .into_iter()
        .map(|(n, f)| (n.to_string(), f))
        .collect();
    Arc::new(move |name: &str, _version: Option<&str>| map.get(name).cloned())
}

/// Replays `history`, then runs one episode at `t(episode)` with `messages`.
pub fn replay_then(
    resolver: &Resolver,
    history: &[HistoryEvent],
    episode: i64,
    messages: Vec<EventKind>,
) -> (Execution, EpisodeOutput) {
    let mut ex = Execution::from_history(resolver.clone(), history);
    let out = ex.run_episode(t(episode), messages.into_iter().map(msg).collect());
    (ex, out)
}

/// Short names of the new events, e.g. `["OrchestratorStarted", "TaskScheduled#0:Hello", ...]`.
pub fn names(out: &EpisodeOutput) -> Vec<String> {
    out.new_events
        .iter()
        .map(|e| match &e.kind {
            EventKind::TaskScheduled { name, .. } => format!("TaskScheduled#{}:{name}", e.event_id),
            EventKind::TimerCreated { .. } => format!("TimerCreated#{}", e.event_id),
            EventKind::SubOrchestrationInstanceCreated {
                name, instance_id, ..
            } => {
                format!(
                    "SubOrchestrationInstanceCreated#{}:{name}:{instance_id}",
                    e.event_id
                )
            }
            EventKind::EventSent { name, .. } => format!("EventSent#{}:{name}", e.event_id),
            EventKind::ExecutionCompleted { status, .. } => {
                format!("ExecutionCompleted#{}:{}", e.event_id, status.name())
            }
            other => other.event_type().name().to_string(),
        })
        .collect()
}

/// Activity messages of an episode as (id, name, input).
pub fn scheduled(out: &EpisodeOutput) -> Vec<(i32, String, Option<String>)> {
    out.messages
        .iter()
        .filter_map(|m| match m {
            Outbound::Activity(tm) => match &tm.event.kind {
                EventKind::TaskScheduled { name, input, .. } => {
                    Some((tm.event.event_id, name.clone(), input.clone()))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Runs an orchestration live, answering each activity with `answer(name, input)`, until it
/// finishes; returns the whole stored history and the last episode's output.
pub fn run_live(
    resolver: &Resolver,
    name: &str,
    input: &str,
    answer: impl Fn(&str, Option<&str>) -> Result<String, String>,
) -> (Vec<HistoryEvent>, EpisodeOutput) {
    let mut ex = Execution::new(resolver.clone());
    let mut history = Vec::new();
    let mut out = ex.run_episode(t(0), vec![start_event(name, input)]);
    let mut episode = 0;
    loop {
        history.extend(out.new_events.clone());
        let requests = scheduled(&out);
        if out.status.is_terminal() || requests.is_empty() {
            return (history, out);
        }
        episode += 1;
        let replies = requests
            .iter()
            .map(|(id, n, i)| {
                msg(match answer(n, i.as_deref()) {
                    Ok(r) => task_completed(*id, &r),
                    Err(e) => task_failed(*id, &e),
                })
            })
            .collect();
        out = ex.run_episode(t(episode), replies);
    }
}
