//! The task hub conformance suite against the SQLite backend: one test per check, each on a
//! new database file in its own temporary directory.

use durable_store::InstanceStore;
use durable_store::OrchestrationService;
use std::sync::Arc;

use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

/// A hub in a fresh temporary directory; the directory lives as long as the test.
fn new_hub() -> (tempfile::TempDir, Arc<dyn TaskHub>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let hub = SqliteTaskHub::open(dir.path().join("taskhub.db")).expect("open the task hub");
    (dir, Arc::new(hub))
}

durable_store::task_hub_conformance_tests!(
    #[tokio::test]
    async {
        new_hub()
    }
);

/// A start message for `instance_id`.
fn start(instance_id: &str) -> durable_engine::message::TaskMessage {
    use durable_engine::history::OrchestrationInstance;
    use durable_engine::history::{EventKind, ExecutionStarted, HistoryEvent};
    let target = OrchestrationInstance {
        instance_id: instance_id.to_owned(),
        execution_id: Some(uuid::Uuid::new_v4().simple().to_string()),
    };
    let started = ExecutionStarted {
        orchestration_instance: target.clone(),
        name: "Persisted".into(),
        ..ExecutionStarted::default()
    };
    durable_engine::message::TaskMessage::new(
        target,
        HistoryEvent::new(
            durable_store::clock::now(),
            EventKind::ExecutionStarted(Box::new(started)),
        ),
    )
}

/// Instances and queued messages survive closing and reopening the file.
#[tokio::test]
async fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("taskhub.db");
    let message = start("persisted");
    {
        let hub = SqliteTaskHub::open(&path).expect("open");
        hub.create_instance(message.clone()).await.expect("create");
    }
    let hub = SqliteTaskHub::open(&path).expect("reopen");
    let row = hub.get_instance("persisted").await.expect("get");
    assert_eq!(row.expect("row").name, "Persisted");
    let batch = hub
        .lock_orchestrations(10, std::time::Duration::from_secs(30))
        .await
        .expect("lock");
    assert_eq!(batch.items.len(), 1);
    assert_eq!(batch.items[0].messages[0].message, message);
}

/// Unreadable queue rows are set aside instead of stalling the queues.
#[tokio::test]
async fn sqlite_unreadable_messages_are_set_aside() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("taskhub.db");
    let hub = SqliteTaskHub::open(&path).expect("open");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw connection");
        conn.execute_batch(
            "INSERT INTO orchestration_messages (instance_id, visible_at, message) \
                 VALUES ('broken', 0, '{not json'); \
             INSERT INTO activity_messages (instance_id, message, visible_at) \
                 VALUES ('broken', '{\"EventType\": 99}', 0);",
        )
        .expect("insert unreadable rows");
    }
    hub.create_instance(start("fine")).await.expect("create");
    let lock_for = std::time::Duration::from_secs(30);
    let batch = hub.lock_orchestrations(10, lock_for).await.expect("lock");
    let ids: Vec<_> = batch.items.iter().map(|i| i.instance_id.as_str()).collect();
    assert_eq!(
        ids,
        ["fine"],
        "the readable instance is handed out, the broken one is not"
    );
    let activities = hub
        .lock_activities(10, lock_for)
        .await
        .expect("lock activities");
    assert!(activities.items.is_empty());
    let conn = rusqlite::Connection::open(&path).expect("raw connection");
    let poisoned: i64 = conn
        .query_row("SELECT COUNT(*) FROM poison_messages", [], |r| r.get(0))
        .expect("count");
    assert_eq!(poisoned, 2);
    let left: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM orchestration_messages WHERE instance_id = 'broken') \
                  + (SELECT COUNT(*) FROM activity_messages)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
}

/// Two hubs on one file (as two processes would) see each other's writes and locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_is_shared_between_hubs() {
    use durable_sqlite::SqliteOptions;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("taskhub.db");
    let a = Arc::new(SqliteTaskHub::open(&path).expect("open a"));
    let b = Arc::new(
        SqliteTaskHub::open_with(
            &path,
            SqliteOptions {
                synchronous_full: false,
            },
        )
        .expect("open b"),
    );
    let mut writers = Vec::new();
    for (n, hub) in [Arc::clone(&a), Arc::clone(&b)].into_iter().enumerate() {
        writers.push(tokio::spawn(async move {
            for i in 0..50 {
                hub.create_instance(start(&format!("shared-{n}-{i:02}")))
                    .await
                    .expect("create");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let lock_for = std::time::Duration::from_secs(30);
    let from_a = a.lock_orchestrations(60, lock_for).await.expect("lock a");
    let from_b = b.lock_orchestrations(100, lock_for).await.expect("lock b");
    assert_eq!(from_a.items.len(), 60);
    assert_eq!(from_b.items.len(), 40, "b gets only what a did not lock");
    let mut ids: Vec<_> = from_a
        .items
        .iter()
        .chain(&from_b.items)
        .map(|i| i.instance_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
}

/// A quick measurement, not a check: `cargo test --release -p durable --test
/// sqlite_conformance -- --ignored --nocapture`. 64 concurrent callers create instances, then
/// lock one instance and commit one episode (3 events, the row, one activity request) at a
/// time until the queue is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
#[ignore = "quick throughput measurement; run in release mode"]
async fn quick_throughput_measurement() {
    use std::time::{Duration, Instant};

    use durable_engine::history::{EventKind, HistoryEvent, OrchestrationInstance};
    use durable_engine::history::{ExecutionStarted, OrchestrationStatus};
    use durable_engine::message::TaskMessage;
    use durable_store::{HistoryUpdate, OrchestrationCommit};

    const CALLERS: usize = 64;
    const PER_CALLER: usize = 500;
    let (_dir, hub) = new_hub();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CALLERS {
        let hub = Arc::clone(&hub);
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_CALLER {
                let target = OrchestrationInstance {
                    instance_id: format!("bench-{c:02}-{i:04}"),
                    execution_id: Some(uuid::Uuid::new_v4().simple().to_string()),
                };
                let started = ExecutionStarted {
                    orchestration_instance: target.clone(),
                    name: "Bench".into(),
                    input: Some("42".into()),
                    ..ExecutionStarted::default()
                };
                let event = HistoryEvent::new(
                    durable_store::clock::now(),
                    EventKind::ExecutionStarted(Box::new(started)),
                );
                hub.create_instance(TaskMessage::new(target, event))
                    .await
                    .expect("create");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let n = CALLERS * PER_CALLER;
    let created = started.elapsed();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CALLERS {
        let hub = Arc::clone(&hub);
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            loop {
                let batch = hub
                    .lock_orchestrations(1, Duration::from_secs(60))
                    .await
                    .expect("lock");
                let Some(item) = batch.items.into_iter().next() else {
                    return done;
                };
                let row = item.instance.clone().expect("row");
                let mut events = vec![HistoryEvent::new(
                    durable_store::clock::now(),
                    EventKind::OrchestratorStarted,
                )];
                events.extend(item.messages.iter().map(|m| m.message.event.clone()));
                events.push(HistoryEvent::new(
                    durable_store::clock::now(),
                    EventKind::OrchestratorCompleted,
                ));
                let request = TaskMessage::new(
                    OrchestrationInstance {
                        instance_id: row.instance_id.clone(),
                        execution_id: Some(row.execution_id.clone()),
                    },
                    HistoryEvent::with_id(
                        0,
                        durable_store::clock::now(),
                        EventKind::TaskScheduled {
                            name: "Work".into(),
                            version: None,
                            input: Some("1".into()),
                            tags: None,
                            parent_trace_context: None,
                        },
                    ),
                );
                let commit = OrchestrationCommit {
                    history: HistoryUpdate::Append(events),
                    instance: Some(durable_store::InstanceState {
                        status: OrchestrationStatus::Running,
                        ..row
                    }),
                    orchestrator_messages: Vec::new(),
                    activity_messages: vec![request],
                };
                hub.complete_orchestration(&item, commit)
                    .await
                    .expect("commit");
                done += 1;
            }
        }));
    }
    let mut episodes = 0;
    for t in tasks {
        episodes += t.await.expect("task");
    }
    let ran = started.elapsed();
    assert_eq!(episodes, n);
    println!(
        "quick measurement, {CALLERS} callers, {n} instances: create_instance {:.0}/s; \
         lock(1) + complete_orchestration {:.0} episodes/s",
        n as f64 / created.as_secs_f64(),
        n as f64 / ran.as_secs_f64()
    );
}
