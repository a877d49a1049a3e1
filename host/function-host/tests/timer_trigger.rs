//! The timer trigger in process over a temporary SQLite task hub: occurrences on time and
//! never twice, `run_on_startup`, past-due runs after downtime, restarts and interrupted runs,
//! failing and panicking functions.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use futures::FutureExt;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use durable_client::DurableClient;
use durable_engine::failure::Failure;
use durable_host::app::{ScheduleStatus, TimerFunction, TimerInfo};
use durable_host::triggers::timer::{self, never_ran};
use durable_host::triggers::Schedule;
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

/// One invocation as the function saw it.
#[derive(Debug, Clone)]
struct Run {
    at: DateTime<Utc>,
    info: TimerInfo,
    function_name: Arc<str>,
}

impl Run {
    /// The occurrence the run stands for (`None` for a `run_on_startup` run of a new timer).
    fn occurrence(&self) -> DateTime<Utc> {
        self.info.schedule_status.as_ref().expect("status").last
    }
}

/// A task hub file in a temporary directory, reopened on each start (as a restart would).
struct Hub {
    dir: tempfile::TempDir,
}

impl Hub {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn open(&self) -> Arc<dyn TaskHub> {
        Arc::new(SqliteTaskHub::open(self.dir.path().join("taskhub.db")).expect("open"))
    }
}

/// A started timer host: its tasks, its stop switch and what its function saw.
struct Started {
    store: Arc<dyn TaskHub>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    runs: mpsc::UnboundedReceiver<Run>,
}

impl Started {
    /// Signals shutdown, waits for the tasks, and returns every run.
    async fn stop(mut self) -> (Vec<Run>, Arc<dyn TaskHub>) {
        self.stop.send(true).expect("timer tasks listen");
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("timer task stops promptly")
                .expect("timer task does not panic");
        }
        let mut runs = Vec::new();
        while let Ok(run) = self.runs.try_recv() {
            runs.push(run);
        }
        (runs, self.store)
    }

    /// Waits for the next run.
    async fn next_run(&mut self, within: Duration) -> Run {
        tokio::time::timeout(within, self.runs.recv())
            .await
            .expect("a run in time")
            .expect("runs channel open")
    }
}

/// A timer function that reports its runs and then behaves as `outcome` says for the n-th run.
fn recording<F>(
    schedule: &str,
    run_on_startup: bool,
    runs: mpsc::UnboundedSender<Run>,
    outcome: F,
) -> TimerFunction
where
    F: Fn(usize) -> Option<Result<(), Failure>> + Send + Sync + 'static,
{
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let outcome = Arc::new(outcome);
    TimerFunction {
        schedule: schedule.to_string(),
        run_on_startup,
        handler: Arc::new(move |info, ctx| {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = runs.send(Run {
                at: Utc::now(),
                info,
                function_name: ctx.function_name,
            });
            let outcome = Arc::clone(&outcome);
            async move {
                match outcome(n) {
                    Some(result) => result,
                    None => panic!("run {n} panics on purpose"),
                }
            }
            .boxed()
        }),
    }
}

/// Starts `function` as the timer `name` on a freshly opened hub.
fn start_timer(
    hub: &Hub,
    name: &str,
    make: impl FnOnce(mpsc::UnboundedSender<Run>) -> TimerFunction,
) -> Started {
    let store = hub.open();
    let (tx, runs) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let tasks = timer::start(
        vec![(name.to_string(), make(tx))],
        DurableClient::new(Arc::clone(&store)),
        timer::SingletonSettings::default(),
        shutdown,
    )
    .expect("valid schedule");
    Started {
        store,
        stop,
        tasks,
        runs,
    }
}

/// A daily schedule whose occurrence is about twelve hours away, so it never fires in a test.
fn far_daily() -> String {
    let hour = (Utc::now().hour() + 12) % 24;
    format!("0 0 {hour} * * *")
}

/// Asserts occurrences are strictly increasing, one second apart.
fn assert_consecutive_seconds(runs: &[Run]) {
    for pair in runs.windows(2) {
        let (a, b) = (pair[0].occurrence(), pair[1].occurrence());
        assert!(b > a, "occurrences strictly increase: {a} then {b}");
        assert_eq!(
            b - a,
            chrono::Duration::seconds(1),
            "no occurrence skipped between {a} and {b}"
        );
    }
}

#[tokio::test]
async fn fires_once_per_second_without_doubles() {
    let hub = Hub::new();
    let started = start_timer(&hub, "EverySecond", |tx| {
        recording("*/1 * * * * *", false, tx, |_| Some(Ok(())))
    });
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (runs, store) = started.stop().await;

    assert!(
        (3..=4).contains(&runs.len()),
        "about one run per second over 3.5 s, got {}",
        runs.len()
    );
    assert_consecutive_seconds(&runs);
    for run in &runs {
        assert_eq!(&*run.function_name, "EverySecond");
        assert!(!run.info.is_past_due);
        let status = run.info.schedule_status.as_ref().expect("status");
        assert_eq!(status.next - status.last, chrono::Duration::seconds(1));
        assert!(run.at >= run.occurrence(), "never early: {run:?}");
        assert!(
            run.at - run.occurrence() < chrono::Duration::milliseconds(900),
            "on time: {run:?}"
        );
    }
    let last = runs.last().expect("runs").occurrence();
    let saved = store
        .load_timer_status("EverySecond")
        .await
        .expect("load")
        .expect("a saved status");
    assert_eq!(saved.last, last);
    assert_eq!(saved.next, last + chrono::Duration::seconds(1));
}

#[tokio::test]
async fn run_on_startup_runs_at_once() {
    let hub = Hub::new();
    let schedule = far_daily();
    let expected_next = Schedule::parse(&schedule)
        .unwrap()
        .next_after(Utc::now())
        .unwrap();
    let mut started = start_timer(&hub, "Nightly", |tx| {
        recording(&schedule, true, tx, |_| Some(Ok(())))
    });
    let run = started.next_run(Duration::from_secs(2)).await;
    assert!(!run.info.is_past_due);
    assert_eq!(
        run.info.schedule_status,
        Some(ScheduleStatus {
            last: never_ran(),
            next: expected_next,
            last_updated: run.info.schedule_status.as_ref().unwrap().last_updated,
        })
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (more, store) = started.stop().await;
    assert!(more.is_empty(), "only the start-up run: {more:?}");
    let saved = store.load_timer_status("Nightly").await.unwrap().unwrap();
    assert_eq!(
        saved.last,
        never_ran(),
        "a start-up run is not an occurrence"
    );
    assert_eq!(saved.next, expected_next);

    // Without run_on_startup nothing runs.
    let hub = Hub::new();
    let started = start_timer(&hub, "Nightly", |tx| {
        recording(&schedule, false, tx, |_| Some(Ok(())))
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (runs, _) = started.stop().await;
    assert!(runs.is_empty(), "{runs:?}");
}

#[tokio::test]
async fn a_past_due_status_gives_one_past_due_run() {
    for run_on_startup in [false, true] {
        let hub = Hub::new();
        let schedule_text = far_daily();
        let schedule = Schedule::parse(&schedule_text).unwrap();
        let now = Utc::now();
        let latest = schedule.latest_at_or_before(now).unwrap();
        // The host was down for three days: the status still waits for an occurrence three
        // days back.
        let missed = latest - chrono::Duration::days(3);
        let stale = ScheduleStatus {
            last: missed - chrono::Duration::days(1),
            next: missed,
            last_updated: missed - chrono::Duration::days(1),
        };
        hub.open()
            .save_timer_status("Report", &stale)
            .await
            .expect("save");

        let mut started = start_timer(&hub, "Report", |tx| {
            recording(&schedule_text, run_on_startup, tx, |_| Some(Ok(())))
        });
        let run = started.next_run(Duration::from_secs(2)).await;
        assert!(run.info.is_past_due);
        let status = run.info.schedule_status.clone().expect("status");
        assert_eq!(
            status.last, latest,
            "the run stands for the latest missed one"
        );
        assert_eq!(status.next, schedule.next_after(now).unwrap());
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (more, store) = started.stop().await;
        assert!(
            more.is_empty(),
            "one run for all missed occurrences (run_on_startup = {run_on_startup}): {more:?}"
        );
        let saved = store.load_timer_status("Report").await.unwrap().unwrap();
        assert_eq!((saved.last, saved.next), (status.last, status.next));
    }
}

#[tokio::test]
async fn a_restart_neither_repeats_nor_skips_an_occurrence() {
    let hub = Hub::new();
    let every_second = |tx| recording("*/1 * * * * *", false, tx, |_| Some(Ok(())));

    let started = start_timer(&hub, "Ticker", every_second);
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let (first, store) = started.stop().await;
    drop(store);

    let started = start_timer(&hub, "Ticker", every_second);
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let (second, _) = started.stop().await;

    assert!(
        first.len() >= 2 && second.len() >= 2,
        "{first:?} {second:?}"
    );
    let all: Vec<Run> = first.iter().chain(&second).cloned().collect();
    // A quick restart (well under a second) loses nothing and repeats nothing: a run whose
    // occurrence passed during the restart is made up for as past due.
    assert_consecutive_seconds(&all);
    assert!(first.iter().all(|r| !r.info.is_past_due));
    assert!(second[1..].iter().all(|r| !r.info.is_past_due));
}

#[tokio::test]
async fn an_interrupted_run_runs_again_after_a_restart() {
    let hub = Hub::new();
    let hang = Arc::new(Notify::new());

    // The first run never finishes; the task is aborted mid-run, as a crash would end it.
    let mut started = start_timer(&hub, "Fragile", |tx| {
        let hang = Arc::clone(&hang);
        let mut f = recording("*/1 * * * * *", false, tx, |_| Some(Ok(())));
        let inner = f.handler.clone();
        f.handler = Arc::new(move |info, ctx| {
            let hang = Arc::clone(&hang);
            let inner = inner(info, ctx);
            async move {
                inner.await?;
                hang.notified().await;
                Ok(())
            }
            .boxed()
        });
        f
    });
    let interrupted = started.next_run(Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for task in &started.tasks {
        task.abort();
    }
    let saved = started
        .store
        .load_timer_status("Fragile")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        saved.next,
        interrupted.occurrence(),
        "an unfinished run leaves its occurrence pending"
    );
    drop(started);

    let mut restarted = start_timer(&hub, "Fragile", |tx| {
        recording("*/1 * * * * *", false, tx, |_| Some(Ok(())))
    });
    let again = restarted.next_run(Duration::from_secs(3)).await;
    assert!(again.info.is_past_due, "{again:?}");
    assert!(again.occurrence() >= interrupted.occurrence());
    restarted.stop().await;
}

#[tokio::test]
async fn failing_and_panicking_functions_keep_their_schedule() {
    let hub = Hub::new();
    let started = start_timer(&hub, "Flaky", |tx| {
        recording("*/1 * * * * *", false, tx, |n| match n {
            0 => Some(Err(Failure::msg("first run fails"))),
            1 => None, // panics
            _ => Some(Ok(())),
        })
    });
    // Runs after the failure and the panic prove the schedule went on. (Printing a panic's
    // backtrace can take longer than a second, so occurrences may be skipped meanwhile.)
    let mut started = started;
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(started.next_run(Duration::from_secs(15)).await);
    }
    let (rest, store) = started.stop().await;
    runs.extend(rest);
    for pair in runs.windows(2) {
        assert!(pair[1].occurrence() > pair[0].occurrence(), "{runs:?}");
    }
    let saved = store.load_timer_status("Flaky").await.unwrap().unwrap();
    assert_eq!(saved.last, runs.last().unwrap().occurrence());
}

#[tokio::test]
async fn an_invalid_schedule_starts_nothing() {
    let hub = Hub::new();
    let (tx, _runs) = mpsc::unbounded_channel();
    let (_stop, shutdown) = watch::channel(false);
    let store = hub.open();
    let good = recording("*/1 * * * * *", false, tx.clone(), |_| Some(Ok(())));
    let bad = recording("0 0 9 * * Mon-Sun-", false, tx, |_| Some(Ok(())));
    let err = timer::start(
        vec![("Good".into(), good), ("Bad".into(), bad)],
        DurableClient::new(store),
        timer::SingletonSettings::default(),
        shutdown,
    )
    .expect_err("invalid schedule");
    assert_eq!(err.function, "Bad");
    assert!(err.to_string().contains("Mon-Sun-"), "{err}");
}

#[tokio::test]
async fn a_hub_file_from_before_timers_gains_the_status_table() {
    let hub = Hub::new();
    let path = hub.dir.path().join("taskhub.db");
    drop(hub.open());
    // A file written by a build without timer triggers: same schema version, no table.
    rusqlite::Connection::open(&path)
        .expect("open the file")
        .execute_batch("DROP TABLE timer_status")
        .expect("drop the table");

    let store = hub.open();
    assert_eq!(store.load_timer_status("Old").await.expect("load"), None);
    let status = ScheduleStatus {
        last: never_ran(),
        next: durable_engine::time::truncate(Utc::now()),
        last_updated: durable_engine::time::truncate(Utc::now()),
    };
    store.save_timer_status("Old", &status).await.expect("save");
    drop(store);
    let reopened = hub.open();
    assert_eq!(
        reopened.load_timer_status("old").await.expect("load"),
        Some(status),
        "the status survives reopening"
    );
}
