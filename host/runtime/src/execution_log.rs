//! Execution logs, in the spirit of `func start`: every function execution runs in a span
//! that names it (`trigger`, `function`, `instance_id`), so the user's own `tracing` lines
//! inside are attributable, and says when it starts and how it ended.
//!
//! Levels keep the default (`info`) useful without a line per step: an orchestration's start
//! and end are `info`, its failure `error`, a failed activity or entity operation `warn`;
//! each episode, activity and entity batch starting and ending is `debug`
//! (`RUST_LOG=info,durable=debug` shows them all).

use std::time::Duration;

use chrono::{DateTime, Utc};
use durable_engine::history::{FailureDetails, OrchestrationStatus};
use durable_engine::replay::EpisodeOutput;
use durable_engine::trace::TraceId;
use durable_store::QueuedMessage;

use super::metrics::RuntimeMetrics;
use tracing::Span;

/// The span of one execution, a root span (an episode an activity worker runs directly is
/// not part of the activity). `instance_id` is empty for functions outside an orchestration.
/// Its `trace_id` is set with [`trace`] when the execution is traced.
pub fn span(trigger: &'static str, function: &str, instance_id: &str) -> Span {
    tracing::info_span!(
        parent: None,
        "execution",
        trigger,
        function,
        instance_id,
        trace_id = tracing::field::Empty
    )
}

/// Names the distributed trace of `span`'s execution (the `trace_id` field), so its log lines
/// and its spans in a tracing backend can be found from each other.
pub fn trace(span: &Span, trace_id: Option<TraceId>) {
    if let Some(id) = trace_id {
        span.record("trace_id", tracing::field::display(id));
    }
}

/// What a work item delivers, for the `reason` of its episode: the event types in order, a
/// repeated one once with its count (`TaskCompleted x3, TimerFired`).
pub(crate) fn reason(messages: &[QueuedMessage]) -> String {
    let mut kinds: Vec<(&'static str, usize)> = Vec::new();
    for m in messages {
        let name = m.message.event.kind.event_type().name();
        match kinds.iter_mut().find(|(k, _)| *k == name) {
            Some((_, n)) => *n += 1,
            None => kinds.push((name, 1)),
        }
    }
    kinds
        .into_iter()
        .map(|(k, n)| {
            if n == 1 {
                k.to_owned()
            } else {
                format!("{k} x{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How an episode left its orchestration, kept until its commit holds and then logged.
pub(crate) struct Ended {
    name: String,
    status: OrchestrationStatus,
    output: Option<String>,
    failure: Option<FailureDetails>,
    /// Since the execution started (its `ExecutionStarted` event), if known.
    age: Option<Duration>,
}

impl Ended {
    /// The end of `out`, an episode run at `now` of an execution started at `started_at`.
    pub fn of(
        name: &str,
        out: &EpisodeOutput,
        started_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        Ended {
            name: name.to_owned(),
            status: out.status,
            output: out.output.clone(),
            failure: out.failure_details.clone(),
            age: started_at.map(|t| (now - t).to_std().unwrap_or_default()),
        }
    }

    /// Counts the episode (and the end of the orchestration) in `metrics`, and logs how the
    /// orchestration ended (`info`, a failure `error`, a termination `warn`), or that it goes
    /// on (`debug`, with the episode's duration).
    pub fn record(&self, metrics: &RuntimeMetrics, starting: bool, episode: Duration) {
        if starting {
            metrics.orchestration_started(&self.name);
        }
        metrics.episode(&self.name, self.status.name(), episode);
        if self.status.is_terminal() || self.status == OrchestrationStatus::ContinuedAsNew {
            metrics.orchestration_finished(&self.name, self.status.name());
        }
        self.log(episode);
    }

    fn log(&self, episode: Duration) {
        let duration_ms = millis(self.age.unwrap_or(episode));
        let output = self.output.as_deref().unwrap_or_default();
        match self.status {
            OrchestrationStatus::Completed => {
                tracing::info!(
                    outcome = "Completed",
                    duration_ms,
                    "orchestration completed"
                )
            }
            OrchestrationStatus::Failed => {
                let (error_type, error) = self.failure.as_ref().map_or(("", output), |f| {
                    (f.error_type.as_str(), f.error_message.as_str())
                });
                tracing::error!(
                    outcome = "Failed",
                    duration_ms,
                    error_type,
                    error,
                    "orchestration failed"
                )
            }
            OrchestrationStatus::Terminated => tracing::warn!(
                outcome = "Terminated",
                duration_ms,
                reason = output,
                "orchestration terminated"
            ),
            OrchestrationStatus::ContinuedAsNew => tracing::info!(
                outcome = "ContinuedAsNew",
                duration_ms,
                "orchestration continued as new"
            ),
            status => tracing::debug!(
                outcome = status.name(),
                duration_ms = millis(episode),
                "executed"
            ),
        }
    }
}

/// Milliseconds, for the `duration_ms` field.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use durable_engine::history::{EventKind, HistoryEvent, OrchestrationInstance};
    use durable_engine::message::TaskMessage;
    use durable_store::WorkItemId;

    use super::*;

    #[test]
    fn reasons_name_the_delivered_events_in_order() {
        let message = |kind: EventKind| QueuedMessage {
            id: WorkItemId::new(1),
            message: TaskMessage::new(
                OrchestrationInstance {
                    instance_id: "i".into(),
                    execution_id: None,
                },
                HistoryEvent::new(durable_store::clock::now(), kind),
            ),
        };
        let done = |id| EventKind::TaskCompleted {
            task_scheduled_id: id,
            result: None,
        };
        let fired = EventKind::TimerFired {
            timer_id: 3,
            fire_at: durable_store::clock::now(),
        };
        let messages = [message(done(1)), message(fired), message(done(2))];
        assert_eq!(reason(&messages), "TaskCompleted x2, TimerFired");
        assert_eq!(reason(&[]), "");
    }
}
