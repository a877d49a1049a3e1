//! Messages, rows and small steps shared by the conformance checks.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock;
use crate::{
    HistoryUpdate, InstanceState, OrchestrationCommit, OrchestrationWorkItem, OrchestratorMessage,
    TaskHub,
};
use durable_engine::history::{
    EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance, OrchestrationStatus,
    ParentInstance,
};
use durable_engine::message::TaskMessage;
use durable_engine::time;

/// A lock long enough never to expire during a check.
pub(super) const LOCK: Duration = Duration::from_secs(60);

/// A lock that checks wait out.
pub(super) const SHORT_LOCK: Duration = Duration::from_millis(300);

/// Slack added when sleeping past a deadline.
pub(super) const SLACK: Duration = Duration::from_millis(150);

/// A fresh instance id: `tag` and a random suffix.
pub(super) fn new_id(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh execution id (32 lowercase hex digits).
pub(super) fn new_execution_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `now + d`, 100 ns precise.
pub(super) fn after(d: Duration) -> DateTime<Utc> {
    time::truncate(clock::now() + chrono::Duration::from_std(d).expect("duration in range"))
}

/// Sleeps until `t` has passed, plus [`SLACK`].
pub(super) async fn sleep_past(t: DateTime<Utc>) {
    let left = (t - clock::now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::sleep(left + SLACK).await;
}

/// The `ExecutionStarted` message that creates `instance_id`.
pub(super) fn start_message(instance_id: &str, execution_id: &str) -> TaskMessage {
    start_message_with(instance_id, execution_id, |_| {})
}

/// An `ExecutionStarted` message, adjusted by `edit`.
pub(super) fn start_message_with(
    instance_id: &str,
    execution_id: &str,
    edit: impl FnOnce(&mut ExecutionStarted),
) -> TaskMessage {
    let target = OrchestrationInstance {
        instance_id: instance_id.to_owned(),
        execution_id: Some(execution_id.to_owned()),
    };
    let mut started = ExecutionStarted {
        orchestration_instance: target.clone(),
        name: "Conformance".into(),
        version: Some("1.0".into()),
        input: Some(format!("{{\"instance\":\"{instance_id}\"}}")),
        ..ExecutionStarted::default()
    };
    edit(&mut started);
    TaskMessage::new(
        target,
        HistoryEvent::new(clock::now(), EventKind::ExecutionStarted(Box::new(started))),
    )
}

/// A sub-orchestration start whose parent is `parent_id`.
pub(super) fn child_start_message(
    instance_id: &str,
    execution_id: &str,
    parent_id: &str,
) -> TaskMessage {
    start_message_with(instance_id, execution_id, |s| {
        s.parent_instance = Some(ParentInstance {
            name: Some("Parent".into()),
            orchestration_instance: OrchestrationInstance {
                instance_id: parent_id.to_owned(),
                execution_id: Some(new_execution_id()),
            },
            task_schedule_id: 3,
            version: None,
        });
    })
}

/// An external event for whatever execution of `instance_id` is current.
pub(super) fn event_raised(instance_id: &str, name: &str) -> TaskMessage {
    TaskMessage::new(
        OrchestrationInstance {
            instance_id: instance_id.to_owned(),
            execution_id: None,
        },
        HistoryEvent::new(
            clock::now(),
            EventKind::EventRaised {
                name: name.to_owned(),
                input: Some(format!("\"{name}\"")),
                parent_trace_context: None,
            },
        ),
    )
}

/// A message visible now.
pub(super) fn now_message(message: TaskMessage) -> OrchestratorMessage {
    OrchestratorMessage {
        message,
        visible_at: None,
    }
}

/// A durable timer of `row`'s execution firing at `fire_at`.
pub(super) fn timer(
    row: &InstanceState,
    timer_id: i32,
    fire_at: DateTime<Utc>,
) -> OrchestratorMessage {
    OrchestratorMessage {
        message: TaskMessage::new(
            current_execution(row),
            HistoryEvent::new(clock::now(), EventKind::TimerFired { timer_id, fire_at }),
        ),
        visible_at: Some(fire_at),
    }
}

/// An activity request from `row`'s execution.
pub(super) fn activity_request(row: &InstanceState, event_id: i32) -> TaskMessage {
    TaskMessage::new(
        current_execution(row),
        HistoryEvent::with_id(
            event_id,
            clock::now(),
            EventKind::TaskScheduled {
                name: "Conformance.Activity".into(),
                version: None,
                input: Some(event_id.to_string()),
                tags: None,
                parent_trace_context: None,
            },
        ),
    )
}

/// The `TaskCompleted` answer to an activity request.
pub(super) fn activity_response(request: &TaskMessage) -> TaskMessage {
    TaskMessage::new(
        request.orchestration_instance.clone(),
        HistoryEvent::new(
            clock::now(),
            EventKind::TaskCompleted {
                task_scheduled_id: request.event.event_id,
                result: Some("\"ok\"".into()),
            },
        ),
    )
}

/// The instance and execution of a row.
pub(super) fn current_execution(row: &InstanceState) -> OrchestrationInstance {
    OrchestrationInstance {
        instance_id: row.instance_id.clone(),
        execution_id: Some(row.execution_id.clone()),
    }
}

/// `row` after an episode that left it in `status`.
pub(super) fn next_row(row: &InstanceState, status: OrchestrationStatus) -> InstanceState {
    let now = clock::now();
    InstanceState {
        status,
        output: status.is_terminal().then(|| "\"done\"".to_owned()),
        custom_status: Some(format!("\"{}\"", status.name())),
        last_updated_at: now,
        completed_at: status.is_terminal().then_some(now),
        // Deliberately wrong: the store computes it.
        history_len: 12_345,
        ..row.clone()
    }
}

/// An episode consuming the item's messages and leaving the instance in `status`.
pub(super) fn episode(
    item: &OrchestrationWorkItem,
    status: OrchestrationStatus,
) -> OrchestrationCommit {
    let mut events = vec![HistoryEvent::new(
        clock::now(),
        EventKind::OrchestratorStarted,
    )];
    events.extend(item.messages.iter().map(|m| m.message.event.clone()));
    events.push(HistoryEvent::new(
        clock::now(),
        EventKind::OrchestratorCompleted,
    ));
    OrchestrationCommit {
        history: HistoryUpdate::Append(events),
        instance: item.instance.as_ref().map(|row| next_row(row, status)),
        orchestrator_messages: Vec::new(),
        activity_messages: Vec::new(),
    }
}

/// The events an episode appends.
pub(super) fn appended(commit: &OrchestrationCommit) -> Vec<HistoryEvent> {
    match &commit.history {
        HistoryUpdate::Append(events) | HistoryUpdate::NewExecution(events) => events.clone(),
    }
}

/// The row a commit should leave, given the stored history length.
pub(super) fn expected_row(commit: &OrchestrationCommit, history_len: usize) -> InstanceState {
    InstanceState {
        history_len: history_len as u64,
        ..commit.instance.clone().expect("the commit has a row")
    }
}

/// Locks exactly one work item, which must be for `instance_id`.
pub(super) async fn lock_one(
    hub: &dyn TaskHub,
    instance_id: &str,
    lock_for: Duration,
) -> OrchestrationWorkItem {
    let batch = hub
        .lock_orchestrations(10, lock_for)
        .await
        .expect("lock_orchestrations failed");
    let ids: Vec<&str> = batch.items.iter().map(|i| i.instance_id.as_str()).collect();
    assert_eq!(
        ids,
        [instance_id],
        "expected one work item for {instance_id}"
    );
    batch.items.into_iter().next().expect("one item")
}

/// Locks the work item of `instance_id`, releasing any other instance locked with it.
pub(super) async fn lock_instance(hub: &dyn TaskHub, instance_id: &str) -> OrchestrationWorkItem {
    let batch = hub
        .lock_orchestrations(1000, LOCK)
        .await
        .expect("lock_orchestrations failed");
    let mut found = None;
    for item in batch.items {
        if item.instance_id == instance_id {
            found = Some(item);
        } else {
            hub.abandon_orchestration(&item, Duration::ZERO)
                .await
                .expect("abandon_orchestration failed");
        }
    }
    found.unwrap_or_else(|| panic!("no work item for {instance_id}"))
}

/// Asserts that no orchestration work item is available now.
pub(super) async fn assert_no_orchestration_work(hub: &dyn TaskHub, context: &str) {
    let batch = hub
        .lock_orchestrations(10, LOCK)
        .await
        .expect("lock_orchestrations failed");
    let ids: Vec<&str> = batch.items.iter().map(|i| i.instance_id.as_str()).collect();
    assert!(
        ids.is_empty(),
        "{context}: unexpected work items for {ids:?}"
    );
}

/// Asserts that no activity request is available now.
pub(super) async fn assert_no_activity_work(hub: &dyn TaskHub, context: &str) {
    let batch = hub
        .lock_activities(10, LOCK)
        .await
        .expect("lock_activities failed");
    let ids: Vec<crate::WorkItemId> = batch.items.iter().map(|i| i.id).collect();
    assert!(
        ids.is_empty(),
        "{context}: unexpected activity requests {ids:?}"
    );
}

/// Creates `instance_id`, runs its first episode to `status` and returns the stored row.
pub(super) async fn started_instance(
    hub: &dyn TaskHub,
    instance_id: &str,
    status: OrchestrationStatus,
) -> InstanceState {
    hub.create_instance(start_message(instance_id, &new_execution_id()))
        .await
        .expect("create_instance failed");
    let item = lock_instance(hub, instance_id).await;
    hub.complete_orchestration(&item, episode(&item, status))
        .await
        .expect("the first episode's commit failed");
    hub.get_instance(instance_id)
        .await
        .expect("get_instance failed")
        .expect("the instance row exists")
}

/// Moves an existing instance to `status` through a message and an episode.
pub(super) async fn set_status(hub: &dyn TaskHub, instance_id: &str, status: OrchestrationStatus) {
    hub.send_message(now_message(event_raised(instance_id, "poke")))
        .await
        .expect("send_message failed");
    let item = lock_instance(hub, instance_id).await;
    hub.complete_orchestration(&item, episode(&item, status))
        .await
        .expect("commit failed");
}

/// Creates `instance_id` and schedules one activity from its first episode.
pub(super) async fn instance_with_activity(
    hub: &dyn TaskHub,
    instance_id: &str,
) -> (InstanceState, TaskMessage) {
    hub.create_instance(start_message(instance_id, &new_execution_id()))
        .await
        .expect("create_instance failed");
    let item = lock_instance(hub, instance_id).await;
    let mut commit = episode(&item, OrchestrationStatus::Running);
    let row = commit.instance.clone().expect("row");
    let request = activity_request(&row, 0);
    commit.activity_messages.push(request.clone());
    hub.complete_orchestration(&item, commit)
        .await
        .expect("commit failed");
    (row, request)
}

/// Waits briefly for a stored wake-up; true if one came.
pub(super) async fn notified(notify: &tokio::sync::Notify) -> bool {
    tokio::time::timeout(Duration::from_secs(1), notify.notified())
        .await
        .is_ok()
}

/// Consumes any stored wake-up.
pub(super) async fn drain(notify: &tokio::sync::Notify) {
    while tokio::time::timeout(Duration::from_millis(20), notify.notified())
        .await
        .is_ok()
    {}
}
