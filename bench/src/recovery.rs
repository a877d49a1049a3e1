//! W7: W1 in a host process killed with SIGKILL half way, restarted, and checked.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use bench::host::{w7_id, W7_PREFIX};
use bench::{
    durability_label, hello5_output, list_instances, peak_rss_mb, secs_between, temp_dir, Line,
};
use durable::engine::history::{EventKind, HistoryEvent};
use durable::store::TaskHub;
use durable::OrchestrationStatus;

use crate::http_sync::HostChild;
use crate::*;

/// W7 recovery: W1 in a host process, SIGKILLed at about half way, restarted; time from the
/// restart to the last completion, and lost / duplicated completions from the histories.
pub(crate) async fn w7(o: &Opts) -> anyhow::Result<()> {
    anyhow::ensure!(
        o.full,
        "W7 runs the host with its default (durable) store settings"
    );
    let n = o.n.unwrap_or(10_000);
    let dir = temp_dir()?;
    let log = dir.path().join("host.log");
    let dir_arg = dir.path().to_string_lossy().to_string();
    let n_arg = n.to_string();
    let mut args = vec!["w7", dir_arg.as_str(), n_arg.as_str()];
    if o.short_locks {
        args.push("short-locks");
    }
    let mut first = HostChild::spawn(&args, &log)?;
    let db = first.expect("DB ", Duration::from_secs(30))?;
    eprintln!("W7: first host {} on {db}", first.child.id());
    let t_first = Instant::now();
    // Progress: completed instances, counted by a read-only connection (WAL readers do not
    // block the host's writer).
    let counter =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let completed = || -> u64 {
        counter
            .query_row(
                "SELECT COUNT(*) FROM instances WHERE status = 'Completed'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|c| c as u64)
            .unwrap_or(0)
    };
    first.expect("PROGRESS ", Duration::from_secs(60))?;
    let mut at_kill;
    loop {
        at_kill = completed();
        if at_kill >= n / 2 || t_first.elapsed() > Duration::from_secs(600) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(counter);
    let rss_first = peak_rss_mb(Some(first.child.id()));
    first.child.kill()?; // SIGKILL
    first.child.wait()?;
    let first_secs = t_first.elapsed().as_secs_f64();
    let store = open_file(&db)?;
    let before = list_instances(&store, W7_PREFIX).await?;
    let done_before = before.iter().filter(|s| s.status.is_terminal()).count();
    eprintln!(
        "W7: killed after {first_secs:.2} s at {at_kill} counted; {done_before} of {n} completed, {} created",
        before.len()
    );
    drop(store);

    let restart = SystemTime::now();
    let t_restart = Instant::now();
    let second = HostChild::spawn(&args, &log)?;
    let rss_second: f64 = second
        .expect("ALL DONE ", Duration::from_secs(900))?
        .parse()
        .unwrap_or(f64::NAN);
    let done_secs = t_restart.elapsed().as_secs_f64();
    let mut second = second;
    let _ = second.child.kill();
    let _ = second.child.wait();

    // Verify from the histories, as tests/tests/crash.rs does.
    let store = open_file(&db)?;
    let all = list_instances(&store, W7_PREFIX).await?;
    let expected = hello5_output();
    let present: HashSet<&str> = all.iter().map(|s| s.instance_id.as_str()).collect();
    let mut lost = (0..n)
        .filter(|&i| !present.contains(w7_id(i).as_str()))
        .count();
    let mut duplicated = 0usize;
    let mut bad_histories = 0usize;
    for s in &all {
        if s.status != OrchestrationStatus::Completed || s.output.as_deref() != Some(&expected) {
            lost += 1;
            continue;
        }
        let h = store.get_history(&s.instance_id).await?;
        match check_history(&h) {
            HistoryCheck::Ok => {}
            HistoryCheck::Duplicated => duplicated += 1,
            HistoryCheck::Bad => bad_histories += 1,
        }
    }
    let last = all
        .iter()
        .filter_map(|s| s.completed_at)
        .max()
        .context("no completions")?;
    let secs = secs_between(restart, last);
    Line::new(
        "W7",
        "sqlite",
        durability_label(o.full),
        n,
        secs,
        secs,
        "s from restart to last completion",
    )
    .with("lost", lost as u64)
    .with("duplicated", duplicated as u64)
    .with("bad_histories", bad_histories as u64)
    .with("completed_before_kill", done_before as u64)
    .with("seconds_before_kill", first_secs)
    .with("seconds_restart_to_all_done_seen", done_secs)
    .with(
        "locks",
        if o.short_locks {
            "2 s (short-locks)"
        } else {
            "host defaults (60 s orchestration, 300 s activity)"
        },
    )
    .with("rss_of", "host processes (max of both runs)")
    .print(match (rss_first, rss_second) {
        (Some(a), b) if !b.is_nan() => Some(a.max(b)),
        (a, b) => a.or((!b.is_nan()).then_some(b)),
    });
    Ok(())
}

/// Opens an existing task hub file (as a second process would).
pub(crate) fn open_file(db: &str) -> anyhow::Result<Arc<dyn TaskHub>> {
    let hub = durable::store::sqlite::SqliteTaskHub::open(db)
        .with_context(|| format!("cannot open {db}"))?;
    Ok(Arc::new(hub))
}

pub(crate) enum HistoryCheck {
    Ok,
    Duplicated,
    Bad,
}

/// One start, one completion, five activities each answered exactly once.
pub(crate) fn check_history(h: &[HistoryEvent]) -> HistoryCheck {
    let count = |f: &dyn Fn(&EventKind) -> bool| h.iter().filter(|e| f(&e.kind)).count();
    let starts = count(&|k| matches!(k, EventKind::ExecutionStarted(_)));
    let completions = count(&|k| matches!(k, EventKind::ExecutionCompleted { .. }));
    let mut scheduled = HashSet::new();
    let mut answered: HashMap<i32, usize> = HashMap::new();
    for e in h {
        match &e.kind {
            EventKind::TaskScheduled { .. } if !scheduled.insert(e.event_id) => {
                return HistoryCheck::Duplicated;
            }
            EventKind::TaskCompleted {
                task_scheduled_id, ..
            } => {
                *answered.entry(*task_scheduled_id).or_default() += 1;
            }
            EventKind::TaskFailed { .. } => return HistoryCheck::Bad,
            _ => {}
        }
    }
    if starts > 1 || completions > 1 || answered.values().any(|&c| c > 1) {
        return HistoryCheck::Duplicated;
    }
    if starts != 1 || completions != 1 || scheduled.len() != 5 || answered.len() != 5 {
        return HistoryCheck::Bad;
    }
    HistoryCheck::Ok
}
