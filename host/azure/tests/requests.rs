//! What each step of an orchestration costs in storage requests on Azurite, counted by kind:
//! the requests the Durable Task protocol needs and no others. A start reads the Instances
//! row once (for a duplicate), puts the start message and inserts the Pending row; the first
//! episode of an instance created here locks without reading anything; every episode writes
//! one history transaction and the Instances row, puts what it sends and deletes what it
//! consumed; a later episode locks from what this process wrote, unread.

use std::collections::HashMap;
use std::time::Duration;

use durable_azure::{AzureTaskHub, StorageAccount};
use durable_engine::history::{
    EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance, OrchestrationStatus,
};
use durable_engine::message::TaskMessage;
use durable_store::{
    HistoryUpdate, InstanceState, InstanceStore, OrchestrationCommit, OrchestrationService,
    OrchestratorMessage,
};
use durable_testing::azurite;

/// The requests `hub` made since `before`, by kind, leaving out kinds with none.
fn since(hub: &AzureTaskHub, before: &HashMap<&'static str, u64>) -> HashMap<&'static str, u64> {
    counts(hub)
        .into_iter()
        .map(|(k, n)| (k, n - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The hub's requests so far by kind, except those on blobs: the partition leases are read,
/// renewed and balanced on their own schedule (and these payloads are too small for blobs).
fn counts(hub: &AzureTaskHub) -> HashMap<&'static str, u64> {
    hub.operation_counts()
        .into_iter()
        .map(|(o, n)| (o.name(), n))
        .filter(|(name, _)| !name.starts_with("blob_"))
        .collect()
}

fn expect(actual: HashMap<&'static str, u64>, expected: &[(&'static str, u64)], step: &str) {
    let expected: HashMap<&'static str, u64> = expected.iter().copied().collect();
    assert_eq!(actual, expected, "{step}");
}

/// Receives vary with timing (a poll may find nothing yet); everything else is exact.
fn without_receives(mut counts: HashMap<&'static str, u64>) -> HashMap<&'static str, u64> {
    let receives = counts.remove("queue_receive").unwrap_or(0);
    assert!(receives >= 1, "at least one receive: {counts:?}");
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_makes_only_the_requests_the_protocol_needs() {
    let emulator = azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let account = StorageAccount::from_connection_string(&emulator.connection_string()).unwrap();
    let name = format!(
        "Requests{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let hub = AzureTaskHub::new(account, &name).expect("hub");
    hub.create_if_not_exists().await.expect("create the hub");
    // Take the partition leases first.
    let none = hub
        .lock_orchestrations(10, Duration::from_secs(60))
        .await
        .expect("lock");
    assert!(none.items.is_empty());

    let id = "order-1";
    let target = OrchestrationInstance {
        instance_id: id.into(),
        execution_id: Some(uuid::Uuid::new_v4().simple().to_string()),
    };
    let start = TaskMessage::new(
        target.clone(),
        HistoryEvent::new(
            durable_store::clock::now(),
            EventKind::ExecutionStarted(Box::new(ExecutionStarted {
                orchestration_instance: target.clone(),
                name: "Order".into(),
                input: Some("1".into()),
                ..ExecutionStarted::default()
            })),
        ),
    );

    let before = counts(&hub);
    hub.create_instance(start.clone()).await.expect("create");
    expect(
        since(&hub, &before),
        &[("table_read", 1), ("queue_put", 1), ("table_write", 1)],
        "a start: the duplicate check, the start message, the Pending row",
    );

    let before = counts(&hub);
    let batch = hub
        .lock_orchestrations(10, Duration::from_secs(60))
        .await
        .expect("lock");
    assert_eq!(batch.items.len(), 1);
    let item = &batch.items[0];
    let row = item.instance.clone().expect("the Pending row");
    assert_eq!(row.status, OrchestrationStatus::Pending);
    expect(
        without_receives(since(&hub, &before)),
        &[],
        "the first episode of an instance created here reads nothing",
    );

    // The first episode waits for an event it sends itself.
    let before = counts(&hub);
    let event = TaskMessage::new(
        target.clone(),
        HistoryEvent::new(
            durable_store::clock::now(),
            EventKind::EventRaised {
                name: "go".into(),
                input: Some("true".into()),
                parent_trace_context: None,
            },
        ),
    );
    let running = InstanceState {
        status: OrchestrationStatus::Running,
        ..row
    };
    let commit = OrchestrationCommit {
        history: HistoryUpdate::Append(vec![
            HistoryEvent::new(durable_store::clock::now(), EventKind::OrchestratorStarted),
            start.event.clone(),
        ]),
        instance: Some(running.clone()),
        orchestrator_messages: vec![OrchestratorMessage {
            message: event,
            visible_at: None,
        }],
        activity_messages: Vec::new(),
    };
    hub.complete_orchestration(item, commit)
        .await
        .expect("commit");
    expect(
        since(&hub, &before),
        &[
            ("queue_put", 1),
            ("table_batch", 1),
            ("table_write", 1),
            ("queue_delete", 1),
        ],
        "an episode: its message, the history, the Instances row, the consumed message",
    );

    // The second episode locks from what the first wrote.
    let before = counts(&hub);
    let batch = hub
        .lock_orchestrations(10, Duration::from_secs(60))
        .await
        .expect("lock");
    assert_eq!(batch.items.len(), 1, "the event arrived");
    let item = &batch.items[0];
    assert_eq!(item.instance.as_ref().map(|r| r.history_len), Some(2));
    expect(
        without_receives(since(&hub, &before)),
        &[],
        "a later episode reads nothing either",
    );
    let before = counts(&hub);
    let commit = OrchestrationCommit {
        history: HistoryUpdate::Append(vec![HistoryEvent::with_id(
            0,
            durable_store::clock::now(),
            EventKind::ExecutionCompleted {
                status: OrchestrationStatus::Completed,
                result: Some("\"done\"".into()),
                failure_details: None,
            },
        )]),
        instance: Some(InstanceState {
            status: OrchestrationStatus::Completed,
            output: Some("\"done\"".into()),
            completed_at: Some(durable_store::clock::now()),
            ..running
        }),
        orchestrator_messages: Vec::new(),
        activity_messages: Vec::new(),
    };
    hub.complete_orchestration(item, commit)
        .await
        .expect("commit");
    expect(
        since(&hub, &before),
        &[("table_batch", 1), ("table_write", 1), ("queue_delete", 1)],
        "the last episode",
    );
    let row = hub.get_instance(id).await.expect("get").expect("row");
    assert_eq!(row.status, OrchestrationStatus::Completed);
    assert_eq!(row.history_len, 3);
}
