//! Crash safety: a worker process running 200 orchestrations is killed with SIGKILL at random
//! moments five times and restarted; in the end every orchestration has completed exactly
//! once, with the right output and a consistent history.

use durable::store::InstanceStore;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use durable::engine::history::{EventKind, HistoryEvent};
use durable::store::sqlite::SqliteTaskHub;
use durable::OrchestrationStatus;
use tests::crash::{expected_output, instance_id, Kind, INSTANCES};

const WORKER: &str = env!("CARGO_BIN_EXE_crash-worker");

fn spawn_worker(db: &std::path::Path, log: &std::path::Path) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(WORKER)
        .arg(db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("the crash worker starts")
}

#[test]
fn every_orchestration_completes_exactly_once_across_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let log = dir.path().join("worker.log");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut progress_at_kills = Vec::new();
    for round in 0..5u64 {
        let mut child = spawn_worker(&db, &log);
        // Kill at a random moment after a random amount of progress, so kills land mid-run:
        // while activities, timers and commits are in flight.
        let target = rt.block_on(completed(&db)) + 5 + rand::random::<u64>() % 30;
        let started = Instant::now();
        while rt.block_on(completed(&db)) < target
            && child.try_wait().unwrap().is_none()
            && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(rand::random::<u64>() % 100));
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();
        let done = rt.block_on(completed(&db));
        eprintln!(
            "round {round}: killed after {:?} with {done} of {INSTANCES} completed",
            started.elapsed()
        );
        progress_at_kills.push(done);
    }
    assert!(
        progress_at_kills
            .iter()
            .any(|&d| d > 0 && d < INSTANCES as u64),
        "no kill landed mid-run: {progress_at_kills:?}"
    );
    let started = Instant::now();
    let child = spawn_worker(&db, &log);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ALL DONE"),
        "the final run failed ({:?}): {stdout}\n{}",
        out.status,
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    eprintln!("final run finished in {:?}", started.elapsed());

    rt.block_on(async {
        let store = SqliteTaskHub::open(&db).unwrap();
        for i in 0..INSTANCES {
            let id = instance_id(i);
            let inst = store.get_instance(&id).await.unwrap().unwrap();
            assert_eq!(inst.status, OrchestrationStatus::Completed, "{id}");
            assert_eq!(inst.output, Some(expected_output(i).to_string()), "{id}");
            let history = store.get_history(&id).await.unwrap();
            check_history(&id, Kind::of(i), &history);
            assert_eq!(inst.history_len, history.len() as u64, "{id}");
        }
    });
}

/// One start, one completion, and every scheduled action answered exactly once.
fn check_history(id: &str, kind: Kind, history: &[HistoryEvent]) {
    let count = |f: &dyn Fn(&EventKind) -> bool| history.iter().filter(|e| f(&e.kind)).count();
    assert_eq!(
        count(&|k| matches!(k, EventKind::ExecutionStarted(_))),
        1,
        "{id}: one start"
    );
    assert!(
        matches!(history[1].kind, EventKind::ExecutionStarted(_)),
        "{id}: start is 2nd"
    );
    assert_eq!(
        count(&|k| matches!(k, EventKind::ExecutionCompleted { .. })),
        1,
        "{id}: completed exactly once"
    );
    assert_eq!(
        count(&|k| matches!(k, EventKind::OrchestratorStarted)),
        count(&|k| matches!(k, EventKind::OrchestratorCompleted)),
        "{id}: episodes are closed"
    );
    let mut scheduled: HashMap<i32, &'static str> = HashMap::new();
    let mut answered: HashMap<i32, usize> = HashMap::new();
    for e in history {
        match &e.kind {
            EventKind::TaskScheduled { .. } => {
                assert!(
                    scheduled.insert(e.event_id, "task").is_none(),
                    "{id}: id {} reused",
                    e.event_id
                )
            }
            EventKind::TimerCreated { .. } => {
                assert!(
                    scheduled.insert(e.event_id, "timer").is_none(),
                    "{id}: id {} reused",
                    e.event_id
                )
            }
            EventKind::SubOrchestrationInstanceCreated { .. } => {
                assert!(
                    scheduled.insert(e.event_id, "sub").is_none(),
                    "{id}: id {} reused",
                    e.event_id
                )
            }
            EventKind::TaskCompleted {
                task_scheduled_id, ..
            }
            | EventKind::TimerFired {
                timer_id: task_scheduled_id,
                ..
            }
            | EventKind::SubOrchestrationInstanceCompleted {
                task_scheduled_id, ..
            } => {
                assert!(
                    scheduled.contains_key(task_scheduled_id),
                    "{id}: answer before request"
                );
                *answered.entry(*task_scheduled_id).or_default() += 1;
            }
            EventKind::TaskFailed { .. } | EventKind::SubOrchestrationInstanceFailed { .. } => {
                panic!("{id}: unexpected failure {e:?}")
            }
            _ => {}
        }
    }
    for (action, what) in &scheduled {
        assert_eq!(
            answered.get(action),
            Some(&1),
            "{id}: {what} {action} answered exactly once"
        );
    }
    let expected_actions = match kind {
        Kind::Chain => 5,
        Kind::FanOut => 10,
        Kind::Timer => 2,  // the timer, then one activity
        Kind::Event => 1,  // one activity after the event
        Kind::Parent => 2, // the child, then one activity
    };
    assert_eq!(scheduled.len(), expected_actions, "{id}: actions");
}

/// How many of the workload's instances have completed so far (0 before the hub exists).
async fn completed(db: &std::path::Path) -> u64 {
    if !db.exists() {
        return 0;
    }
    let Ok(store) = SqliteTaskHub::open(db) else {
        return 0;
    };
    let query = durable::store::InstanceQuery {
        statuses: vec![OrchestrationStatus::Completed],
        instance_id_prefix: Some("crash-".into()),
        page_size: 1000,
        ..Default::default()
    };
    store
        .query_instances(&query)
        .await
        .map(|p| p.instances.len() as u64)
        .unwrap_or(0)
}
