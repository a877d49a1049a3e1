//! Timer triggers on a task hub that several hosts share: one host at a time runs a timer
//! function (it holds the function's singleton lock); when that host is killed with SIGKILL
//! another takes the lock and carries the schedule on from the status the first one saved.
//! Real host processes: three on Azurite (the lock is a blob lease, taken over once it runs
//! out), two on one embedded SQLite file (the lock is a row, taken over at once since the
//! store sees its owner's process is gone). The timer function, every two seconds, appends
//! each run to a file: no occurrence may appear twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use serde_json::json;
use tests::app_host::AppDir;

/// The lock's lifetime without renewal (the shortest blob lease).
const LOCK_PERIOD: Duration = Duration::from_secs(15);

/// One line of the runs file: the occurrence, the process that ran it, past due or not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    occurrence: String,
    pid: u32,
    past_due: bool,
}

fn runs(file: &Path) -> Vec<Run> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            Run {
                occurrence: f.next().unwrap().to_owned(),
                pid: f.next().unwrap().parse().unwrap(),
                past_due: f.next() == Some("true"),
            }
        })
        .collect()
}

/// Waits until `done` holds for the runs so far; panics with them after `limit`.
fn wait_for_runs(file: &Path, limit: Duration, done: impl Fn(&[Run]) -> bool) -> Vec<Run> {
    let started = Instant::now();
    loop {
        let runs = runs(file);
        if done(&runs) {
            return runs;
        }
        assert!(
            started.elapsed() < limit,
            "waited {limit:?}; runs: {runs:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn on_azure_storage_one_of_three_hosts_runs_a_timer_and_another_takes_over_after_a_sigkill() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    // The lease runs out at most LOCK_PERIOD after the kill; then a host takes it within
    // the recovery interval and runs the missed occurrence.
    one_host_at_a_time(
        3,
        json!({"AzureWebJobsStorage": azurite.connection_string()}),
        LOCK_PERIOD + Duration::from_secs(10),
    );
}

#[test]
fn on_the_embedded_store_one_of_two_hosts_runs_a_timer_and_the_other_takes_over_at_once() {
    let data = tempfile::tempdir().unwrap();
    // No lease to wait out: the next occurrence (two seconds apart) or the one after it.
    one_host_at_a_time(
        2,
        json!({"DurableDataDir": data.path().to_string_lossy()}),
        Duration::from_secs(6),
    );
}

/// Starts `count` hosts of the timer app on one task hub (`store`: the settings that choose
/// it), kills the one running the timer, and checks the runs: the next host runs it within
/// `takeover` of the kill.
fn one_host_at_a_time(count: usize, store: serde_json::Value, takeover: Duration) {
    let hub_name = format!("Timers{}", rand::random::<u32>());
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("runs.tsv");
    let dirs: Vec<AppDir> = (0..count)
        .map(|i| {
            let mut values = json!({
                "TaskHubName": hub_name,
                "DurableWorkerId": format!("timer-host-{i}"),
                "TimerRunsFile": file.to_string_lossy(),
            });
            for (k, v) in store.as_object().unwrap() {
                values[k] = v.clone();
            }
            AppDir::new(
                env!("CARGO_BIN_EXE_timer-app"),
                values,
                Some(json!({
                    "version": "2.0",
                    "singleton": {
                        "listenerLockPeriod": "00:00:15",
                        "listenerLockRecoveryPollingInterval": "00:00:01",
                    },
                })),
            )
        })
        .collect();
    let mut hosts = tests::app_host::start_hosts(&dirs);
    let logs = tests::app_host::logs_of;

    // Five runs, all by one host.
    let before = wait_for_runs(&file, Duration::from_secs(60), |r| r.len() >= 5);
    let holder = before[0].pid;
    assert!(
        before.iter().all(|r| r.pid == holder),
        "one host runs the timer: {before:#?}\n{}",
        logs(&hosts)
    );

    // Kill the holder between two occurrences (they fall on even seconds and take
    // milliseconds), so that no run is cut short and run again.
    loop {
        let now = Utc::now();
        if !now.second().is_multiple_of(2) && now.nanosecond() < 500_000_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim = hosts
        .iter()
        .position(|h| h.as_ref().is_some_and(|h| h.pid() == holder))
        .expect("the holder is one of ours");
    let mut killed = hosts[victim].take().unwrap();
    killed.signal(libc::SIGKILL);
    let _ = killed.wait_exit(Duration::from_secs(10));
    let killed_at = Instant::now();
    let runs_at_kill = runs(&file).len();

    // Another host takes over, and carries on.
    wait_for_runs(&file, takeover, |r| r.len() > runs_at_kill);
    let took_over_in = killed_at.elapsed();
    let after = wait_for_runs(&file, Duration::from_secs(20), |r| {
        r.len() >= runs_at_kill + 4
    });
    let successor = after[runs_at_kill].pid;
    assert_ne!(successor, holder);
    // The successor's log shows each run, in the execution's span, from start to outcome.
    let successor_log = hosts
        .iter()
        .flatten()
        .find(|h| h.pid() == successor)
        .expect("the successor is one of ours")
        .log();
    for step in ["executing", "executed"] {
        assert!(
            successor_log
                .lines()
                .any(|l| l.contains(step) && l.contains("trigger=\"timer\"")),
            "no {step} line of the timer function:\n{successor_log}"
        );
    }
    assert!(
        after[runs_at_kill..].iter().all(|r| r.pid == successor),
        "one host runs the timer after the takeover: {after:#?}\n{}",
        logs(&hosts)
    );

    // No occurrence ran twice, and occurrences only move forward.
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for r in &after {
        if let Some(pid) = seen.insert(&r.occurrence, r.pid) {
            panic!(
                "occurrence {} ran twice (pids {pid} and {}): {after:#?}",
                r.occurrence, r.pid
            );
        }
    }
    let order: Vec<&str> = after.iter().map(|r| r.occurrence.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "occurrences in order");
    let pids: BTreeSet<u32> = after.iter().map(|r| r.pid).collect();
    assert_eq!(
        pids.len(),
        2,
        "two hosts ran it in all, one after the other"
    );
    eprintln!(
        "{} runs; took over {took_over_in:?} after the kill; first run after it past due: {}",
        after.len(),
        after[runs_at_kill].past_due
    );

    for host in hosts.into_iter().flatten() {
        host.stop();
    }
}
