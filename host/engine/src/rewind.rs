//! Rewind as a history transformation: a Failed execution's history without its failure.
//!
//! [`rewound_history`] drops from the current execution:
//! - the failing `ExecutionCompleted`;
//! - every `TaskFailed` / `SubOrchestrationInstanceFailed` recorded after the last scheduling
//!   event, with its `TaskScheduled` / `SubOrchestrationInstanceCreated` — failures the
//!   orchestrator did not react to by scheduling more work (a failure followed by, say, a retry
//!   timer was handled; dropping it would make the replay diverge);
//! - scheduling events of activities, sub-orchestrations and timers that never completed: their
//!   completions were dropped while the instance was Failed, so they must be issued again.
//!
//! Replaying what is left leaves those calls without a recorded scheduling event, so the
//! episode schedules them anew under their original action ids: failed activities run again,
//! failed sub-orchestrations start again with the same child instance id.

use std::collections::HashSet;

use crate::history::{EventKind, HistoryEvent};

/// The history a rewound execution replays (see the module docs).
pub fn rewound_history(history: &[HistoryEvent]) -> Vec<HistoryEvent> {
    let is_scheduling = |e: &HistoryEvent| {
        matches!(
            e.kind,
            EventKind::TaskScheduled { .. }
                | EventKind::TimerCreated { .. }
                | EventKind::SubOrchestrationInstanceCreated { .. }
                | EventKind::EventSent { .. }
        )
    };
    let last_scheduling = history.iter().rposition(is_scheduling);
    let mut completed: HashSet<i32> = HashSet::new();
    let mut dropped: HashSet<i32> = HashSet::new();
    for (pos, e) in history.iter().enumerate() {
        match &e.kind {
            EventKind::TaskCompleted {
                task_scheduled_id, ..
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id, ..
            } => {
                completed.insert(*task_scheduled_id);
            }
            EventKind::TimerFired { timer_id, .. } => {
                completed.insert(*timer_id);
            }
            EventKind::TaskFailed {
                task_scheduled_id, ..
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id, ..
            } => {
                if last_scheduling.is_none_or(|last| pos > last) {
                    dropped.insert(*task_scheduled_id);
                } else {
                    completed.insert(*task_scheduled_id);
                }
            }
            _ => {}
        }
    }
    history
        .iter()
        .filter(|e| match &e.kind {
            EventKind::ExecutionCompleted { .. } => false,
            EventKind::TaskFailed {
                task_scheduled_id, ..
            }
            | EventKind::SubOrchestrationInstanceFailed {
                task_scheduled_id, ..
            } => !dropped.contains(task_scheduled_id),
            EventKind::TaskScheduled { .. } | EventKind::SubOrchestrationInstanceCreated { .. } => {
                completed.contains(&e.event_id)
            }
            // Timers with the reserved id -100 are not matched on replay; keep them.
            EventKind::TimerCreated { .. } => e.event_id == -100 || completed.contains(&e.event_id),
            _ => true,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::context::OrchestrationContext;
    use crate::environment::Environment;
    use crate::failure::Failure;
    use crate::function::orchestrator_fn;
    use crate::history::{
        ExecutionStarted, FailureDetails, OrchestrationInstance, OrchestrationStatus,
    };
    use crate::message::TaskMessage;
    use crate::replay::Execution;
    use crate::replay::{EpisodeOutput, Outbound, Resolver};
    use crate::retry::RetryOptions;

    fn me() -> OrchestrationInstance {
        OrchestrationInstance {
            instance_id: "rewind-1".into(),
            execution_id: Some("0123456789abcdef0123456789abcdef".into()),
        }
    }

    fn msg(kind: EventKind) -> TaskMessage {
        TaskMessage::new(me(), HistoryEvent::new(chrono::Utc::now(), kind))
    }

    fn resolver() -> Resolver {
        let chain = orchestrator_fn("chain", |ctx: OrchestrationContext, _: ()| async move {
            let a: i64 = ctx.call_activity_by_name("one", &()).await?;
            let b: i64 = ctx.call_activity_by_name("flaky", &a).await?;
            let c: i64 = ctx.call_activity_by_name("one", &b).await?;
            Ok(a + b + c)
        });
        let retrying = orchestrator_fn("retrying", |ctx: OrchestrationContext, _: ()| async move {
            let retry = RetryOptions::new(Duration::from_secs(1), 2);
            let v: i64 = ctx
                .call_activity_by_name_with_retry("flaky", &retry, &())
                .await?;
            Ok(v)
        });
        let fanout = orchestrator_fn("fanout", |ctx: OrchestrationContext, _: ()| async move {
            // three tasks in flight, awaited in order: the first failure fails the instance
            let tasks: Vec<_> = (0..3)
                .map(|i| ctx.call_activity_by_name::<_, i64>("flaky", &i))
                .collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await?;
            }
            Ok::<i64, Failure>(sum)
        });
        Arc::new(move |name: &str, _: Option<&str>| match name {
            "chain" => Some(chain.clone()),
            "retrying" => Some(retrying.clone()),
            "fanout" => Some(fanout.clone()),
            _ => None,
        })
    }

    fn start(name: &str) -> TaskMessage {
        msg(EventKind::ExecutionStarted(Box::new(ExecutionStarted {
            orchestration_instance: me(),
            name: name.into(),
            input: Some("null".into()),
            ..ExecutionStarted::default()
        })))
    }

    fn scheduled(out: &EpisodeOutput) -> Vec<(i32, String)> {
        out.messages
            .iter()
            .filter_map(|m| match m {
                Outbound::Activity(tm) => match &tm.event.kind {
                    EventKind::TaskScheduled { name, .. } => {
                        Some((tm.event.event_id, name.clone()))
                    }
                    _ => None,
                },
                Outbound::Orchestration { .. } => None,
            })
            .collect()
    }

    fn timers(out: &EpisodeOutput) -> Vec<TaskMessage> {
        out.messages
            .iter()
            .filter_map(|m| match m {
                Outbound::Orchestration { message, .. }
                    if matches!(message.event.kind, EventKind::TimerFired { .. }) =>
                {
                    Some(message.clone())
                }
                _ => None,
            })
            .collect()
    }

    fn failed(id: i32) -> EventKind {
        EventKind::TaskFailed {
            task_scheduled_id: id,
            reason: Some("boom".into()),
            details: None,
            failure_details: Some(FailureDetails::new("Boom", "boom")),
        }
    }

    fn completed(id: i32, v: i64) -> EventKind {
        EventKind::TaskCompleted {
            task_scheduled_id: id,
            result: Some(v.to_string()),
        }
    }

    /// Runs episodes, answering activities with `answer(id)`, until the instance stops.
    fn run(name: &str, answer: impl Fn(i32) -> EventKind) -> (Vec<HistoryEvent>, EpisodeOutput) {
        let mut ex = Execution::new(Environment::deterministic(resolver()));
        let mut history = Vec::new();
        let mut out = ex.run_episode(chrono::Utc::now(), vec![start(name)]);
        loop {
            history.extend(out.new_events.clone());
            let mut replies: Vec<TaskMessage> = scheduled(&out)
                .into_iter()
                .map(|(id, _)| msg(answer(id)))
                .collect();
            replies.extend(timers(&out));
            if out.status.is_terminal() || replies.is_empty() {
                return (history, out);
            }
            out = ex.run_episode(chrono::Utc::now(), replies);
        }
    }

    fn rewind_and_replay(history: &[HistoryEvent]) -> (Vec<HistoryEvent>, EpisodeOutput) {
        let kept = rewound_history(history);
        let mut ex = Execution::from_history(Environment::deterministic(resolver()), &kept);
        let rewound = msg(EventKind::ExecutionRewound {
            reason: Some("fixed".into()),
            parent_execution_id: None,
            instance_id: None,
            parent_trace_context: None,
        });
        let out = ex.run_episode(chrono::Utc::now(), vec![rewound]);
        (kept, out)
    }

    #[test]
    fn a_failed_activity_is_scheduled_again_and_completed_ones_are_not() {
        let (history, out) = run("chain", |id| {
            if id == 1 {
                failed(id)
            } else {
                completed(id, 1)
            }
        });
        assert_eq!(out.status, OrchestrationStatus::Failed);
        let (kept, out) = rewind_and_replay(&history);
        assert!(!kept.iter().any(|e| matches!(
            e.kind,
            EventKind::ExecutionCompleted { .. } | EventKind::TaskFailed { .. }
        )));
        // activity 0 stays done; activity 1 is scheduled again under its id
        assert_eq!(
            kept.iter()
                .filter(|e| matches!(e.kind, EventKind::TaskScheduled { .. }))
                .map(|e| e.event_id)
                .collect::<Vec<_>>(),
            [0]
        );
        assert_eq!(out.status, OrchestrationStatus::Running);
        assert_eq!(scheduled(&out), [(1, "flaky".to_string())]);
        assert!(out
            .new_events
            .iter()
            .any(|e| matches!(e.kind, EventKind::ExecutionRewound { .. })));
    }

    #[test]
    fn the_rewound_instance_runs_to_completion() {
        let (history, _) = run("chain", |id| {
            if id == 1 {
                failed(id)
            } else {
                completed(id, 1)
            }
        });
        let kept = rewound_history(&history);
        let mut ex = Execution::from_history(Environment::deterministic(resolver()), &kept);
        let out = ex.run_episode(
            chrono::Utc::now(),
            vec![msg(EventKind::ExecutionRewound {
                reason: None,
                parent_execution_id: None,
                instance_id: None,
                parent_trace_context: None,
            })],
        );
        let out2 = ex.run_episode(chrono::Utc::now(), vec![msg(completed(1, 2))]);
        assert_eq!(scheduled(&out), [(1, "flaky".to_string())]);
        assert_eq!(scheduled(&out2), [(2, "one".to_string())]);
        let out3 = ex.run_episode(chrono::Utc::now(), vec![msg(completed(2, 3))]);
        assert_eq!(out3.status, OrchestrationStatus::Completed);
        assert_eq!(out3.output.as_deref(), Some("6"));
    }

    #[test]
    fn only_the_last_retry_attempt_is_dropped() {
        // attempt 0 fails, retry timer 1 fires, attempt 2 fails: the instance fails.
        let (history, out) = run("retrying", failed);
        assert_eq!(out.status, OrchestrationStatus::Failed);
        let (kept, out) = rewind_and_replay(&history);
        let failures: Vec<i32> = kept
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::TaskFailed {
                    task_scheduled_id, ..
                } => Some(task_scheduled_id),
                _ => None,
            })
            .collect();
        assert_eq!(failures, [0], "the handled first failure stays");
        assert_eq!(out.status, OrchestrationStatus::Running);
        assert_eq!(scheduled(&out), [(2, "flaky".to_string())]);
    }

    #[test]
    fn in_flight_siblings_are_scheduled_again() {
        // task 0 fails while tasks 1 and 2 are still running; their answers were dropped
        // while the instance was Failed, so all three must be issued again
        let mut ex = Execution::new(Environment::deterministic(resolver()));
        let mut history = ex
            .run_episode(chrono::Utc::now(), vec![start("fanout")])
            .new_events;
        let out = ex.run_episode(chrono::Utc::now(), vec![msg(failed(0))]);
        assert_eq!(out.status, OrchestrationStatus::Failed);
        history.extend(out.new_events);
        let (_, out) = rewind_and_replay(&history);
        assert_eq!(
            scheduled(&out),
            [
                (0, "flaky".to_string()),
                (1, "flaky".to_string()),
                (2, "flaky".to_string())
            ]
        );
    }

    #[test]
    fn a_history_without_failures_only_loses_its_completion() {
        let (history, out) = run("chain", |id| completed(id, 1));
        assert_eq!(out.status, OrchestrationStatus::Completed);
        let kept = rewound_history(&history);
        assert_eq!(kept.len(), history.len() - 1);
    }
}
