//! The timer trigger: runs each timer function on its NCRONTAB schedule.
//!
//! [`start`] spawns one task per timer function. Each task behaves like an Azure Functions
//! timer listener:
//!
//! 1. It loads the timer's [`ScheduleStatus`] from the task hub (retrying while the store
//!    fails). A timer seen for the first time gets `last =` [`never_ran`] and `next =` the first
//!    occurrence after now, saved at once, so that even the very first occurrence is known to
//!    be missed if the host is down when it comes.
//! 2. If the persisted `next` is in the past, the host was down (or the run of that occurrence
//!    never finished): the function runs **once** at start-up with `is_past_due = true`, however
//!    many occurrences were missed. Otherwise, with `run_on_startup`, it runs once at start-up
//!    with `is_past_due = false`; that run is not an occurrence and changes no status. (When
//!    both apply, the one past-due run is the start-up run, as in Azure Functions.)
//! 3. Then it sleeps until `next` (by the wall clock), runs the function, and persists
//!    `last = that occurrence, next = the following occurrence`.
//!
//! # When the status is persisted: after the run
//!
//! The status is saved **after** the function returns (or fails, or panics), never before:
//!
//! - Saving first ("this occurrence is taken") would make a crash during the run *skip* the
//!   occurrence: after the restart the status says it ran, though it never completed.
//! - Saving after means the persisted `next` still names the running occurrence until the run
//!   is over. A crash during the run leaves it in the past, so the restarted host runs it (as
//!   past due): no due run is lost. A run that completed has its status saved before the task
//!   looks at the clock again, so a restart sees a `next` after it and never runs it again.
//!
//! The price is the usual at-least-once window: a crash after the function returned but
//! before the status reached the disk (one SQLite commit) runs that occurrence again, as past
//! due. Azure Functions makes the same choice. A failing or panicking function counts as run:
//! the failure is logged, the status advances and the schedule goes on (retrying is the
//! function's business, e.g. by starting an orchestration with a retry policy).
//!
//! The status a function sees in its [`TimerInfo`] is the one this run will save: `last` is
//! the occurrence being run, `next` the one after it. Occurrences that pass while a run is
//! still going are skipped (with a warning), not queued: a timer never overlaps itself and never
//! fires back to back to catch up.
//!
//! A schedule edited between runs is noticed when the persisted `next` is not an occurrence of
//! the new schedule: a `next` still in the future is replaced by the new schedule's next
//! occurrence; one in the past still gives the one past-due run.
//!
//! # Several hosts on one task hub
//!
//! Not handled yet: every host started on a hub runs every timer. The status is kept per
//! function in the hub, so a later lease (one host runs a timer, others stand by) can wrap
//! [`start`]'s per-timer loop without changing what is stored.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::schedule::{Schedule, ScheduleError};
use crate::app::{FunctionContext, ScheduleStatus, TimerFunction, TimerInfo};
use durable_client::DurableClient;
use durable_engine::time;
use durable_store::clock;
use durable_store::TaskHub;
pub use singleton::SingletonSettings;

/// Longest single sleep: the wall clock is checked again at least this often, so a clock
/// adjustment delays an occurrence by at most this much.
const MAX_NAP: Duration = Duration::from_secs(60);

/// First and longest pause between attempts to load a timer's status from a failing store.
const LOAD_RETRY: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(30));

/// A timer function whose schedule does not parse.
#[derive(Debug, thiserror::Error)]
#[error("timer function {function:?} has an invalid schedule: {source}")]
pub struct TimerStartError {
    /// The function's name.
    pub function: String,
    /// What is wrong with the schedule.
    #[source]
    pub source: ScheduleError,
}

/// The `last` of a status whose timer has never run an occurrence: `0001-01-01T00:00:00Z`
/// (.NET's `DateTime.MinValue`, what Azure Functions records).
pub fn never_ran() -> DateTime<Utc> {
    DateTime::from_timestamp(-62_135_596_800, 0).expect("0001-01-01 is representable")
}

/// Starts every timer function; returns one task per function.
///
/// Every schedule is parsed first: if one is invalid, nothing is started and the error names
/// the function. Each task loads its status from `client.store()` (whose schema must exist:
/// call after `Runtime::start` or `OrchestrationService::create_if_not_exists`), then runs the function as
/// described in the [module documentation](self), passing a [`FunctionContext`] with `client`.
///
/// The tasks stop when `shutdown` turns true (or its sender is dropped): a task that is
/// sleeping returns at once; one that is running its function lets the run finish, saves the
/// status, then returns. Await the handles to wait for that; aborting a handle instead cancels
/// the run, and its occurrence runs again, past due, at the next start.
///
/// Must be called inside a Tokio runtime.
pub fn start(
    timers: Vec<(String, TimerFunction)>,
    client: DurableClient,
    singleton: SingletonSettings,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, TimerStartError> {
    let mut parsed = Vec::with_capacity(timers.len());
    for (name, function) in timers {
        match Schedule::parse(&function.schedule) {
            Ok(schedule) => parsed.push((name, function, schedule)),
            Err(source) => {
                return Err(TimerStartError {
                    function: name,
                    source,
                })
            }
        }
    }
    Ok(parsed
        .into_iter()
        .map(|(name, function, schedule)| {
            let timer = Timer {
                name: Arc::from(name),
                schedule,
                function,
                store: client.store().clone(),
                client: client.clone(),
            };
            tracing::info!(
                function = &*timer.name,
                schedule = %timer.schedule,
                run_on_startup = timer.function.run_on_startup,
                "timer trigger started"
            );
            tokio::spawn(Arc::new(timer).run_as_singleton(singleton, shutdown.clone()))
        })
        .collect())
}

/// What a timer does when it starts.
#[derive(Debug, Clone, PartialEq)]
struct StartPlan {
    /// The status to hold until the first run.
    status: ScheduleStatus,
    /// Whether `status` differs from the stored one and must be saved now.
    save: bool,
    /// The run to make at once, if any.
    run: Option<StartupRun>,
}

/// A run made as the timer starts.
#[derive(Debug, Clone, PartialEq)]
enum StartupRun {
    /// The persisted `next` has passed: run once, past due, standing for `occurrence` (the
    /// latest occurrence up to now) and every missed one before it.
    PastDue { occurrence: DateTime<Utc> },
    /// `run_on_startup`: an extra run, not an occurrence.
    OnStartup,
}

/// Decides the start from the persisted status; `None` if the schedule has no occurrence after
/// `now` (past the year 2100).
fn plan_start(
    schedule: &Schedule,
    persisted: Option<ScheduleStatus>,
    run_on_startup: bool,
    now: DateTime<Utc>,
) -> Option<StartPlan> {
    let Some(status) = persisted else {
        let status = ScheduleStatus {
            last: never_ran(),
            next: schedule.next_after(now)?,
            last_updated: now,
        };
        let run = run_on_startup.then_some(StartupRun::OnStartup);
        return Some(StartPlan {
            status,
            save: true,
            run,
        });
    };
    if status.next < now {
        let occurrence = schedule
            .latest_at_or_before(now)
            .map_or(status.next, |latest| latest.max(status.next));
        return Some(StartPlan {
            status,
            save: false,
            run: Some(StartupRun::PastDue { occurrence }),
        });
    }
    let run = run_on_startup.then_some(StartupRun::OnStartup);
    if !schedule.includes(status.next) {
        // The schedule changed since the status was written: its pending occurrence is not one
        // of the new schedule's, and has not come yet.
        let status = ScheduleStatus {
            next: schedule.next_after(now)?,
            last_updated: now,
            ..status
        };
        return Some(StartPlan {
            status,
            save: true,
            run,
        });
    }
    Some(StartPlan {
        status,
        save: false,
        run,
    })
}

/// The status a run of `occurrence` starting at `now` will save (if it does not overrun).
fn planned_status(
    schedule: &Schedule,
    occurrence: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<ScheduleStatus> {
    Some(ScheduleStatus {
        last: occurrence,
        next: schedule.next_after(occurrence.max(now))?,
        last_updated: now,
    })
}

/// The status to save after a run planned as `planned` finished at `finished`: occurrences that
/// passed during the run are skipped. Also returns how many were skipped.
fn status_after_run(
    schedule: &Schedule,
    planned: ScheduleStatus,
    finished: DateTime<Utc>,
) -> Option<(ScheduleStatus, usize)> {
    let (next, skipped) = if planned.next >= finished {
        (planned.next, 0)
    } else {
        let skipped = schedule
            .occurrences_after(planned.next)
            .take_while(|o| *o <= finished)
            .take(10_000)
            .count()
            + 1;
        (schedule.next_after(finished)?, skipped)
    };
    Some((
        ScheduleStatus {
            last: planned.last,
            next,
            last_updated: finished,
        },
        skipped,
    ))
}

/// One timer function and what it needs to run.
struct Timer {
    name: Arc<str>,
    schedule: Schedule,
    function: TimerFunction,
    client: DurableClient,
    store: Arc<dyn TaskHub>,
}

impl Timer {
    /// The timer's schedule while this host holds its lock: start-up decision, then one
    /// occurrence after the other until `shutdown` (or the lock is lost).
    async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if is_stopped(&shutdown) {
            return;
        }
        let Some(persisted) = self.load(&mut shutdown).await else {
            return;
        };
        let Some(plan) = plan_start(
            &self.schedule,
            persisted,
            self.function.run_on_startup,
            clock::now(),
        ) else {
            self.no_more_occurrences();
            return;
        };
        let mut status = plan.status;
        if plan.save {
            self.save(&status).await;
        }
        match plan.run {
            Some(StartupRun::PastDue { occurrence }) => {
                tracing::info!(
                    function = &*self.name,
                    missed = %time::format(&status.next),
                    "timer is past due; running it once"
                );
                match self.fire(occurrence, true).await {
                    Some(s) => status = s,
                    None => return,
                }
            }
            Some(StartupRun::OnStartup) => {
                let info = TimerInfo {
                    is_past_due: false,
                    schedule_status: Some(status.clone()),
                };
                self.invoke(info, None).await;
            }
            None => {}
        }
        loop {
            if !sleep_until(status.next, &mut shutdown).await {
                return;
            }
            match self.fire(status.next, false).await {
                Some(s) => status = s,
                None => return,
            }
        }
    }

    /// Runs the function for `occurrence` and saves the status afterwards; `None` when the
    /// schedule has no further occurrence.
    async fn fire(&self, occurrence: DateTime<Utc>, is_past_due: bool) -> Option<ScheduleStatus> {
        let Some(planned) = planned_status(&self.schedule, occurrence, clock::now()) else {
            self.no_more_occurrences();
            return None;
        };
        let info = TimerInfo {
            is_past_due,
            schedule_status: Some(planned.clone()),
        };
        self.invoke(info, Some(occurrence)).await;
        let Some((status, skipped)) = status_after_run(&self.schedule, planned, clock::now())
        else {
            self.no_more_occurrences();
            return None;
        };
        if skipped > 0 {
            tracing::warn!(
                function = &*self.name,
                skipped,
                next = %time::format(&status.next),
                "the timer function outlasted its next occurrence(s); they are skipped"
            );
        }
        self.save(&status).await;
        Some(status)
    }

    /// Calls the function, logging a failure or a panic.
    async fn invoke(&self, info: TimerInfo, occurrence: Option<DateTime<Utc>>) {
        let occurrence = occurrence.map_or_else(|| "startup".to_string(), |o| time::format(&o));
        let span = durable_runtime::execution_log::span("timer", &self.name, "");
        let started = std::time::Instant::now();
        span.in_scope(|| {
            tracing::info!(
                occurrence,
                is_past_due = info.is_past_due,
                reason = "the schedule",
                "executing"
            )
        });
        let ctx = FunctionContext {
            client: self.client.clone(),
            function_name: self.name.clone(),
        };
        let handler = Arc::clone(&self.function.handler);
        // The handler is called inside the future, so a panic while building it is caught too.
        let outcome = AssertUnwindSafe(async move { handler(info, ctx).await })
            .catch_unwind()
            .instrument(span.clone())
            .await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let _entered = span.enter();
        match outcome {
            Ok(Ok(())) => {
                tracing::info!(occurrence, outcome = "Succeeded", duration_ms, "executed")
            }
            Ok(Err(failure)) => tracing::error!(
                occurrence,
                outcome = "Failed",
                duration_ms,
                error = %failure,
                "timer function failed; the schedule goes on"
            ),
            Err(panic) => tracing::error!(
                occurrence,
                outcome = "Failed",
                duration_ms,
                panic = panic_message(&*panic),
                "timer function panicked; the schedule goes on"
            ),
        }
    }

    /// Loads the persisted status, retrying while the store fails; `None` on shutdown.
    async fn load(&self, shutdown: &mut watch::Receiver<bool>) -> Option<Option<ScheduleStatus>> {
        let (mut pause, longest) = LOAD_RETRY;
        loop {
            match self.store.load_timer_status(&self.name).await {
                Ok(status) => return Some(status),
                Err(e) => tracing::warn!(
                    function = &*self.name,
                    error = %e,
                    retry_in = ?pause,
                    "cannot load the timer's schedule status"
                ),
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stopped(shutdown) => return None,
            }
            pause = (pause * 2).min(longest);
        }
    }

    /// Saves the status; a failure is logged and the timer goes on with the status in memory
    /// (the next run saves again; a restart before that may repeat the last run, past due).
    async fn save(&self, status: &ScheduleStatus) {
        if let Err(e) = self.store.save_timer_status(&self.name, status).await {
            tracing::error!(
                function = &*self.name,
                error = %e,
                "cannot save the timer's schedule status"
            );
        }
    }

    fn no_more_occurrences(&self) {
        tracing::error!(
            function = &*self.name,
            schedule = %self.schedule,
            "the schedule has no further occurrence; the timer stops"
        );
    }
}

/// Whether `shutdown` says stop (true, or its sender is gone).
fn is_stopped(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Resolves once `shutdown` says stop.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Sleeps until the wall clock reaches `at`; false if told to stop first.
async fn sleep_until(at: DateTime<Utc>, shutdown: &mut watch::Receiver<bool>) -> bool {
    loop {
        if is_stopped(shutdown) {
            return false;
        }
        let left = (at - clock::now()).to_std().unwrap_or(Duration::ZERO);
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(left.min(MAX_NAP)) => {}
            _ = stopped(shutdown) => return false,
        }
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

mod singleton;
#[cfg(test)]
mod tests;
