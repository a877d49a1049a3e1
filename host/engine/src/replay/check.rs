//! The replay check: does the orchestrator code of this build still replay a stored history?
//!
//! A deploy that changes an orchestrator breaks the instances in flight if the new code makes
//! different calls than the old code recorded. Replaying the histories of real instances
//! against the new code before deploying finds that: [`replay`] rebuilds the execution from
//! the history, as a host does after a restart, and says which recorded event the code no
//! longer matches and which call it makes instead. It also reports code that fails on replay
//! where the instance did not (an input type that no longer reads, a panic), and code that
//! returns another result than the one recorded (a clock or random number read outside the
//! context).

use serde::{Deserialize, Serialize};

use super::{EpisodeOutput, Execution, Outbound, Outcome, Resolver};
use crate::environment::Environment;
use crate::history::{EventKind, FailureDetails, HistoryEvent, OrchestrationStatus};

/// The history of one orchestration instance, as the host's `export-history` command writes
/// it (one JSON file per instance; the events in the Durable Task Framework's JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredHistory {
    /// The instance id.
    pub instance_id: String,
    /// The orchestrator's name.
    pub name: String,
    /// The instance's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The events of its current execution, oldest first.
    pub history: Vec<HistoryEvent>,
}

impl StoredHistory {
    /// A stored history from its events: the instance, name and version are read from its
    /// `ExecutionStarted` event.
    pub fn from_events(history: Vec<HistoryEvent>) -> Result<Self, ReplayError> {
        let started = history.iter().find_map(|e| match &e.kind {
            EventKind::ExecutionStarted(s) => Some(s),
            _ => None,
        });
        let Some(started) = started else {
            return Err(ReplayError::NotAnOrchestration {
                reason: "the history has no ExecutionStarted event".into(),
            });
        };
        Ok(Self {
            instance_id: started.orchestration_instance.instance_id.clone(),
            name: started.name.clone(),
            version: started.version.clone(),
            history,
        })
    }

    /// Reads the JSON the `export-history` command writes.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The JSON the `export-history` command writes (pretty-printed, so that a checked-in
    /// history reads well in a review).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a history serializes")
    }
}

/// Why a history does not replay.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// The code's calls do not match the recorded events; the message names the event (its
    /// type, name and id) and the call the code makes instead.
    #[error("instance {instance_id}: {message}")]
    Nondeterministic {
        /// The instance.
        instance_id: String,
        /// What differs.
        message: String,
    },
    /// The code fails on replay where the instance did not.
    #[error("instance {instance_id}: on replay the orchestrator fails where the recorded instance did not: {}: {}", failure.error_type, failure.error_message)]
    Failed {
        /// The instance.
        instance_id: String,
        /// The failure.
        failure: Box<FailureDetails>,
    },
    /// The code ends differently from the recorded instance.
    #[error("instance {instance_id}: the recorded instance {recorded}, but on replay the orchestrator {replayed}")]
    DifferentResult {
        /// The instance.
        instance_id: String,
        /// How the recorded instance ended (or that it is still running).
        recorded: String,
        /// How the code ends on replay.
        replayed: String,
    },
    /// No orchestrator of this build runs the instance's name and version.
    #[error("instance {instance_id}: no orchestrator named {name:?}{} is registered", crate::version::describe(version.as_deref()))]
    NoOrchestrator {
        /// The instance.
        instance_id: String,
        /// The orchestrator's name.
        name: String,
        /// The instance's version.
        version: Option<String>,
    },
    /// The history is not one of an orchestration.
    #[error("not an orchestration history: {reason}")]
    NotAnOrchestration {
        /// Why.
        reason: String,
    },
}

/// What a successful replay found.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// The instance.
    pub instance_id: String,
    /// The orchestrator's name.
    pub name: String,
    /// How many events were replayed.
    pub events: usize,
    /// The recorded instance's status at the end of its history.
    pub status: OrchestrationStatus,
    /// The calls the code makes after the history's last event (what it would schedule
    /// next), as they look in code, e.g. `call_activity("ship")`.
    pub next_calls: Vec<String>,
}

/// Replays `stored` against the orchestrators `resolver` finds (for the instance's name and
/// version); see the module doc for what is checked.
pub fn replay(stored: &StoredHistory, resolver: Resolver) -> Result<Replayed, ReplayError> {
    let instance_id = stored.instance_id.clone();
    if !stored
        .history
        .iter()
        .any(|e| matches!(e.kind, EventKind::ExecutionStarted(_)))
    {
        return Err(ReplayError::NotAnOrchestration {
            reason: format!("the history of {instance_id:?} has no ExecutionStarted event"),
        });
    }
    if resolver(&stored.name, stored.version.as_deref()).is_none() {
        return Err(ReplayError::NoOrchestrator {
            instance_id,
            name: stored.name.clone(),
            version: stored.version.clone(),
        });
    }
    let ex = Execution::from_history(Environment::deterministic(resolver), &stored.history);
    if let Some(f) = &ex.nondeterminism {
        return Err(ReplayError::Nondeterministic {
            instance_id,
            message: f.error_message.clone(),
        });
    }
    let recorded = recorded_end(&stored.history);
    let differs = |recorded: String, replayed: String| ReplayError::DifferentResult {
        instance_id: instance_id.clone(),
        recorded,
        replayed,
    };
    match (&recorded, &ex.code_outcome) {
        (Recorded::Terminated, _) => {}
        (Recorded::Completed(a), Some(Outcome::Completed(b))) if same_json(a, b) => {}
        (Recorded::ContinuedAsNew(a), Some(Outcome::ContinuedAsNew(b))) if same_json(a, b) => {}
        (Recorded::Failed(a), Some(Outcome::Failed(b))) if a.error_type == b.error_type => {}
        // failed by the host (not found, version refused, terminated child) while the code waits
        (Recorded::Failed(_), None) => {}
        (Recorded::Running, None) => {}
        (Recorded::Running, Some(Outcome::Failed(f))) => {
            return Err(ReplayError::Failed {
                instance_id,
                failure: Box::new(f.clone()),
            })
        }
        (recorded, replayed) => return Err(differs(recorded.describe(), describe(replayed))),
    }
    let next_calls = ex
        .ctx
        .state
        .lock()
        .pending_actions
        .values()
        .map(|a| a.describe())
        .collect();
    Ok(Replayed {
        instance_id,
        name: stored.name.clone(),
        events: stored.history.len(),
        status: recorded.status(),
        next_calls,
    })
}

/// How a history ends.
enum Recorded {
    Running,
    Completed(Option<String>),
    Failed(FailureDetails),
    Terminated,
    ContinuedAsNew(Option<String>),
}

impl Recorded {
    fn status(&self) -> OrchestrationStatus {
        match self {
            Recorded::Running => OrchestrationStatus::Running,
            Recorded::Completed(_) => OrchestrationStatus::Completed,
            Recorded::Failed(_) => OrchestrationStatus::Failed,
            Recorded::Terminated => OrchestrationStatus::Terminated,
            Recorded::ContinuedAsNew(_) => OrchestrationStatus::ContinuedAsNew,
        }
    }

    fn describe(&self) -> String {
        match self {
            Recorded::Running => "is still running".into(),
            Recorded::Completed(r) => format!("completed with {}", r.as_deref().unwrap_or("null")),
            Recorded::Failed(f) => format!("failed with {}: {}", f.error_type, f.error_message),
            Recorded::Terminated => "was terminated".into(),
            Recorded::ContinuedAsNew(i) => {
                format!("continued as new with {}", i.as_deref().unwrap_or("null"))
            }
        }
    }
}

fn describe(outcome: &Option<Outcome>) -> String {
    match outcome {
        None => "is still waiting".into(),
        Some(Outcome::Completed(r)) => format!("returns {}", r.as_deref().unwrap_or("null")),
        Some(Outcome::Failed(f)) => format!("fails with {}: {}", f.error_type, f.error_message),
        Some(Outcome::Terminated(_)) => "is terminated".into(),
        Some(Outcome::ContinuedAsNew(i)) => {
            format!("continues as new with {}", i.as_deref().unwrap_or("null"))
        }
    }
}

fn recorded_end(history: &[HistoryEvent]) -> Recorded {
    let mut end = Recorded::Running;
    for e in history {
        match &e.kind {
            EventKind::ExecutionCompleted {
                status,
                result,
                failure_details,
            } => {
                end = match status {
                    OrchestrationStatus::Completed => Recorded::Completed(result.clone()),
                    OrchestrationStatus::Terminated => Recorded::Terminated,
                    _ => Recorded::Failed(failure_details.clone().unwrap_or_else(|| {
                        FailureDetails::new("Error", result.clone().unwrap_or_default())
                    })),
                }
            }
            EventKind::ContinueAsNew { result, .. } => {
                end = Recorded::ContinuedAsNew(result.clone())
            }
            EventKind::ExecutionTerminated { .. } => end = Recorded::Terminated,
            _ => {}
        }
    }
    end
}

/// Equal as JSON values (so that formatting does not count), else as text.
fn same_json(a: &Option<String>, b: &Option<String>) -> bool {
    let parse = |t: &Option<String>| {
        t.as_deref()
            .map(|t| serde_json::from_str::<serde_json::Value>(t).map_err(|_| t.to_string()))
    };
    parse(a) == parse(b)
}

/// The first difference between the output of an episode run live and the output of the same
/// episode run on an execution replayed from history, if any: the calls made (kind, id, name,
/// input, timer time, target), the status, the output and the custom status. Span contexts,
/// execution ids and the payloads of entity requests (which carry fresh request ids) are left
/// out, since they differ between any two runs.
pub fn compare_episodes(live: &EpisodeOutput, replayed: &EpisodeOutput) -> Option<String> {
    let (a, b) = (episode_actions(live), episode_actions(replayed));
    let first = a.iter().zip(&b).position(|(x, y)| x != y);
    match first {
        Some(i) => Some(format!("the live run {}, the replay {}", a[i], b[i])),
        None if a.len() != b.len() => {
            let (longer, which) = if a.len() > b.len() {
                (&a, "only the live run")
            } else {
                (&b, "only the replay")
            };
            Some(format!("{which} {}", longer[a.len().min(b.len())]))
        }
        None => None,
    }
}

/// What an episode did, one line per call and one for how it ended.
fn episode_actions(out: &EpisodeOutput) -> Vec<String> {
    let text = |t: &Option<String>| t.as_deref().unwrap_or("null").to_string();
    let mut lines: Vec<String> = out
        .messages
        .iter()
        .map(|m| match m {
            Outbound::Activity(m) => match &m.event.kind {
                EventKind::TaskScheduled { name, input, .. } => format!(
                    "calls activity {name:?} (id {}) with {}",
                    m.event.event_id,
                    text(input)
                ),
                other => other.event_type().name().to_string(),
            },
            Outbound::Orchestration { message, .. } => {
                let target = &*masked(&message.orchestration_instance.instance_id);
                match &message.event.kind {
                    EventKind::TimerFired { timer_id, fire_at } => {
                        format!("creates timer {timer_id} for {fire_at}")
                    }
                    EventKind::ExecutionStarted(s) => format!(
                        "starts sub-orchestration {:?} as {target:?}{} with {}",
                        s.name,
                        crate::version::describe(s.version.as_deref()),
                        text(&s.input)
                    ),
                    EventKind::EventRaised { name, .. } if target.starts_with('@') => {
                        format!("sends entity {target:?} a {name:?} request")
                    }
                    EventKind::EventRaised { name, input, .. } => {
                        format!("sends event {name:?} to {target:?} with {}", text(input))
                    }
                    other => format!("sends {} to {target:?}", other.event_type().name()),
                }
            }
        })
        .collect();
    lines.push(format!(
        "ends the episode {} with output {} and custom status {}",
        out.status.name(),
        text(&out.output),
        text(&out.custom_status)
    ));
    lines
}

/// An instance id with a leading execution id (`{executionId}:{n}`, the default id of a
/// sub-orchestration) written with the placeholder `{executionId}`: execution ids are drawn
/// afresh in every run (a continue-as-new in the episode draws one), so only the rest compares.
fn masked(instance_id: &str) -> std::borrow::Cow<'_, str> {
    match instance_id.split_once(':') {
        Some((prefix, rest))
            if prefix.len() == 32 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            format!("{{executionId}}:{rest}").into()
        }
        _ => instance_id.into(),
    }
}
