//! Writer-thread behaviour the conformance suite cannot force: batches mixing failing and
//! succeeding requests.

use durable_store::InstanceStore;
use durable_store::OrchestrationService;
use std::time::Duration;

use super::writer::Durability;
use super::SqliteTaskHub;
use durable_engine::history::{EventKind, ExecutionStarted, HistoryEvent, OrchestrationInstance};
use durable_engine::message::TaskMessage;
use durable_store::clock;
use durable_store::StoreError;

fn start(instance_id: &str) -> TaskMessage {
    let target = OrchestrationInstance {
        instance_id: instance_id.to_owned(),
        execution_id: Some(uuid::Uuid::new_v4().simple().to_string()),
    };
    let started = ExecutionStarted {
        orchestration_instance: target.clone(),
        name: "Batch".into(),
        ..ExecutionStarted::default()
    };
    TaskMessage::new(
        target,
        HistoryEvent::new(clock::now(), EventKind::ExecutionStarted(Box::new(started))),
    )
}

/// Failing requests inside one batch (run first without savepoints) write nothing, and the
/// batch's other requests still commit.
#[tokio::test]
async fn failed_requests_do_not_take_their_batch_down() {
    let dir = tempfile::tempdir().unwrap();
    let hub = SqliteTaskHub::open(dir.path().join("hub.db")).unwrap();
    hub.create_if_not_exists().await.unwrap();
    hub.create_instance(start("taken")).await.unwrap();

    // The first request holds the writer while the others queue up behind it: they run as
    // one batch, in which every second request fails after the first ones wrote.
    let hold = hub.call(Durability::Relaxed, |_| {
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    });
    let mut creates = Vec::new();
    for i in 0..10 {
        creates.push(hub.create_instance(start(&format!("new-{i}"))));
        creates.push(hub.create_instance(start("taken")));
    }
    let (held, results) = futures::join!(hold, futures::future::join_all(creates));
    held.unwrap();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(()) => assert_eq!(i % 2, 0, "request {i} should have failed"),
            Err(StoreError::InstanceExists { instance_id, .. }) => {
                assert_eq!((i % 2, instance_id.as_str()), (1, "taken"));
            }
            Err(e) => panic!("request {i}: {e}"),
        }
    }
    let batch = hub
        .lock_orchestrations(100, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(batch.items.len(), 11);
    for item in &batch.items {
        assert_eq!(item.messages.len(), 1, "{}", item.instance_id);
        assert!(item.instance.is_some(), "{}", item.instance_id);
    }
}

/// A failing request alone in its batch is answered with its own error.
#[tokio::test]
async fn a_lone_failing_request_gets_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let hub = SqliteTaskHub::open(dir.path().join("hub.db")).unwrap();
    hub.create_if_not_exists().await.unwrap();
    hub.create_instance(start("taken")).await.unwrap();
    let again = hub.create_instance(start("taken")).await;
    assert!(matches!(again, Err(StoreError::InstanceExists { .. })));
    hub.create_instance(start("other")).await.unwrap();
}

/// A hub opening the file releases the locks of an owner that is gone, never a live one's.
#[tokio::test]
async fn locks_of_gone_owners_are_released_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let lock_for = Duration::from_secs(600);
    let first = SqliteTaskHub::open(&path).unwrap();
    first.create_if_not_exists().await.unwrap();
    first.create_instance(start("held")).await.unwrap();
    let held = first.lock_orchestrations(10, lock_for).await.unwrap();
    assert_eq!(held.items.len(), 1);

    // The owner is alive: a second hub must not take its lock.
    let second = SqliteTaskHub::open(&path).unwrap();
    let none = second.lock_orchestrations(10, lock_for).await.unwrap();
    assert!(none.items.is_empty());
    drop(second);

    // The owner is gone (its file is unlocked and removed, as after a crash the lock is
    // dropped by the kernel): the next hub hands the work out at once.
    drop(first);
    let third = SqliteTaskHub::open(&path).unwrap();
    let again = third.lock_orchestrations(10, lock_for).await.unwrap();
    assert_eq!(again.items.len(), 1);
    assert_eq!(again.items[0].instance_id, "held");
}

/// A commit can hand back its first activity requests locked; the rest stay in the queue.
#[tokio::test]
async fn a_commit_hands_back_locked_activity_requests() {
    use durable_store::{HistoryUpdate, OrchestrationCommit};
    let dir = tempfile::tempdir().unwrap();
    let hub = SqliteTaskHub::open(dir.path().join("hub.db")).unwrap();
    hub.create_if_not_exists().await.unwrap();
    let begin = start("chain");
    hub.create_instance(begin.clone()).await.unwrap();
    let lock_for = Duration::from_secs(60);
    let item = hub
        .lock_orchestrations(1, lock_for)
        .await
        .unwrap()
        .items
        .remove(0);
    let request = |name: &str| {
        TaskMessage::new(
            begin.orchestration_instance.clone(),
            HistoryEvent::new(
                clock::now(),
                EventKind::TaskScheduled {
                    name: name.into(),
                    version: None,
                    input: None,
                    tags: None,
                    parent_trace_context: None,
                },
            ),
        )
    };
    let commit = OrchestrationCommit {
        history: HistoryUpdate::Append(vec![begin.event.clone()]),
        instance: None,
        orchestrator_messages: Vec::new(),
        activity_messages: vec![request("first"), request("second")],
    };
    let locked = hub
        .complete_orchestration_locking(&item, commit, (1, lock_for))
        .await
        .unwrap();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].message.event.kind, request("first").event.kind);
    assert_eq!(locked[0].dequeue_count, 1);
    let queued = hub.lock_activities(10, lock_for).await.unwrap().items;
    assert_eq!(
        queued.len(),
        1,
        "the locked request is not handed out again"
    );
    assert_eq!(queued[0].message.event.kind, request("second").event.kind);
    let answer = TaskMessage::new(
        begin.orchestration_instance.clone(),
        HistoryEvent::new(
            clock::now(),
            EventKind::TaskCompleted {
                task_scheduled_id: 0,
                result: None,
            },
        ),
    );
    assert!(hub.complete_activity(&locked[0], answer).await.unwrap());
}

/// A store that goes quiet checkpoints its log and truncates it to nothing, so a small volume
/// never holds ~32 MB of log for an idle store.
#[tokio::test]
async fn an_idle_store_truncates_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let hub = SqliteTaskHub::open(&path).unwrap();
    hub.create_if_not_exists().await.unwrap();
    for i in 0..50 {
        hub.create_instance(start(&format!("quiet-{i}")))
            .await
            .unwrap();
    }
    let wal = super::wal_path(&path);
    let len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(len() > 0, "the commits are in the log");
    let deadline = std::time::Instant::now() + super::checkpoint::IDLE * 5;
    while len() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the log still holds {} bytes",
            len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Everything is still there, read back from the database file.
    let page = hub
        .query_instances(&durable_store::InstanceQuery::default())
        .await
        .unwrap();
    assert_eq!(page.instances.len(), 50);
}
