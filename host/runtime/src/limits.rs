//! Limits per activity on one host: how many runs of an activity run at once
//! (`max_concurrent`) and how many start per second (`max_per_second`), for an activity that
//! calls a service with limits of its own.
//!
//! A run that may not start yet waits on this host, keeping its lock (renewed) and its
//! activity slot, while fewer than its *backlog* wait (half of the host's activity slots, so
//! that a limited activity never holds all of them). A run that arrives when the backlog is
//! full goes back to the task hub, to come back about when its turn is near: deferred runs are
//! given return times one *interval* apart (the time the limit lets one run through:
//! `1 / max_per_second`, or the average run's duration over `max_concurrent`), starting when
//! half the backlog has passed. So a deferred run is written back about once, and the runs
//! waiting here cover the time a deferred one takes to come back.
//!
//! Starts are paced one at a time, `1 / max_per_second` apart (a bucket of one token): in any
//! second at most `max_per_second + 1` runs start, and a steady stream starts at that rate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The limits of one activity on one host; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ActivityLimits {
    /// Runs of the activity at once on this host.
    pub max_concurrent: Option<u32>,
    /// Runs of the activity started per second on this host.
    pub max_per_second: Option<f64>,
}

// A rate is a finite number (host.json and the attribute accept nothing else), so equality is
// an equivalence.
impl Eq for ActivityLimits {}

impl ActivityLimits {
    /// Whether any limit is set.
    pub fn is_limited(&self) -> bool {
        self.max_concurrent.is_some() || self.max_per_second.is_some()
    }

    /// These limits with each one that `over` sets replaced by it (host.json over the
    /// function's attribute).
    pub fn overridden_by(self, over: ActivityLimits) -> ActivityLimits {
        ActivityLimits {
            max_concurrent: over.max_concurrent.or(self.max_concurrent),
            max_per_second: over.max_per_second.or(self.max_per_second),
        }
    }

    /// The limits as the start-up banner and logs show them (`at most 5 at once, 100/s`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.max_concurrent {
            parts.push(format!("at most {n} at once"));
        }
        if let Some(r) = self.max_per_second {
            parts.push(format!("{r}/s"));
        }
        parts.join(", ")
    }
}

/// The gates of the limited activities, by lower-cased name.
#[derive(Default)]
pub(crate) struct Gates {
    by_name: HashMap<String, Arc<Gate>>,
}

impl Gates {
    /// Gates for `limits` (by lower-cased name), each with a backlog of at most half of
    /// `slots` (the host's activity slots).
    pub fn new(limits: &HashMap<String, ActivityLimits>, slots: usize) -> Self {
        let by_name = limits
            .iter()
            .filter(|(_, l)| l.is_limited())
            .map(|(name, l)| {
                tracing::info!(activity = %name, limits = %l.describe(), "activity limited on this host");
                (name.clone(), Arc::new(Gate::new(*l, slots)))
            })
            .collect();
        Self { by_name }
    }

    /// The gate of activity `name`, if it is limited.
    pub fn get(&self, name: &str) -> Option<&Arc<Gate>> {
        if self.by_name.is_empty() {
            return None;
        }
        self.by_name.get(&name.to_lowercase())
    }
}

/// The limits of one activity, as runs pass them.
pub(crate) struct Gate {
    concurrency: Option<(Arc<Semaphore>, u32)>,
    pacer: Option<Pacer>,
    /// Runs waiting to pass.
    waiting: AtomicUsize,
    backlog: usize,
    /// The average duration of a run, in microseconds (0 until one has run): with
    /// `max_concurrent`, how soon a place frees up.
    average_run_us: AtomicU64,
    /// The return time given to the last deferred run.
    last_return: Mutex<Option<Instant>>,
}

/// What a run holds while it runs: its place under `max_concurrent`.
pub(crate) struct Pass {
    permit: Option<(OwnedSemaphorePermit, Arc<Gate>, Instant)>,
}

impl Drop for Pass {
    fn drop(&mut self) {
        if let Some((_, gate, since)) = &self.permit {
            gate.ran(since.elapsed());
        }
    }
}

/// A run waiting at a gate (counted in its backlog until it passes or is dropped).
pub(crate) struct Waiter {
    gate: Arc<Gate>,
}

/// The interval assumed for a concurrency limit before any run has finished: short, so that
/// runs deferred before then come back soon (and are deferred again with a measured one)
/// rather than late.
const FIRST_INTERVAL: Duration = Duration::from_millis(1);

impl Gate {
    fn new(limits: ActivityLimits, slots: usize) -> Self {
        let concurrent = limits.max_concurrent.map(|n| n.max(1));
        let per_second = limits.max_per_second.filter(|r| *r > 0.0);
        Self {
            concurrency: concurrent.map(|n| (Arc::new(Semaphore::new(n as usize)), n)),
            pacer: per_second.map(Pacer::new),
            waiting: AtomicUsize::new(0),
            backlog: (slots / 2).max(1),
            average_run_us: AtomicU64::new(0),
            last_return: Mutex::new(None),
        }
    }

    /// Joins the runs waiting to pass, or `None` when the backlog is full and the run should
    /// go back to the task hub (for [`Gate::defer`]).
    pub fn enter(self: &Arc<Self>) -> Option<Waiter> {
        let mut now = self.waiting.load(Ordering::Relaxed);
        loop {
            if now >= self.backlog {
                return None;
            }
            match self.waiting.compare_exchange_weak(
                now,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Waiter {
                        gate: Arc::clone(self),
                    })
                }
                Err(seen) => now = seen,
            }
        }
    }

    /// How long a run going back to the task hub should stay away: until one interval after
    /// the run deferred before it, and at least until half the backlog has passed.
    pub fn defer(&self) -> Duration {
        let interval = self.interval();
        let now = Instant::now();
        let half_backlog = now + interval * (self.backlog / 2) as u32;
        let mut last = self.last_return.lock();
        let at = last.map_or(half_backlog, |l| (l + interval).max(half_backlog));
        *last = Some(at);
        at - now
    }

    /// The time the limits let one run through.
    fn interval(&self) -> Duration {
        let paced = self.pacer.as_ref().map_or(Duration::ZERO, |p| p.interval);
        let concurrent = match &self.concurrency {
            None => Duration::ZERO,
            Some((_, n)) => match self.average_run_us.load(Ordering::Relaxed) {
                0 => FIRST_INTERVAL,
                us => Duration::from_micros(us) / *n,
            },
        };
        paced.max(concurrent)
    }

    /// Counts a run that took `took` into the average (weight 1/8 for the newest).
    fn ran(&self, took: Duration) {
        let us = (took.as_micros() as u64).max(1);
        let _ = self
            .average_run_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |avg| {
                Some(if avg == 0 { us } else { avg - avg / 8 + us / 8 })
            });
    }
}

impl Waiter {
    /// Waits for a place under `max_concurrent`, then for the run's turn under
    /// `max_per_second`.
    pub async fn pass(self) -> Pass {
        let permit = match &self.gate.concurrency {
            Some((sem, _)) => Some(
                Arc::clone(sem)
                    .acquire_owned()
                    .await
                    .expect("the gate's semaphore is never closed"),
            ),
            None => None,
        };
        if let Some(pacer) = &self.gate.pacer {
            pacer.turn().await;
        }
        let gate = Arc::clone(&self.gate);
        Pass {
            permit: permit.map(|p| (p, gate, Instant::now())),
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.gate.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Hands out start times `interval` apart.
struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(per_second: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(None),
        }
    }

    /// Waits for the next free start time and takes it.
    async fn turn(&self) {
        let at = {
            let mut next = self.next.lock();
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(max_concurrent: Option<u32>, max_per_second: Option<f64>, slots: usize) -> Arc<Gate> {
        let limits = ActivityLimits {
            max_concurrent,
            max_per_second,
        };
        Arc::new(Gate::new(limits, slots))
    }

    #[test]
    fn deferred_runs_come_back_one_interval_apart_after_half_the_backlog() {
        let g = gate(None, Some(1.0), 20);
        assert_eq!(g.backlog, 10);
        let first = g.defer();
        let at_first = g.last_return.lock().unwrap();
        g.defer();
        let at_second = g.last_return.lock().unwrap();
        assert!(first <= Duration::from_secs(5) && first > Duration::from_secs(4));
        assert_eq!(at_second - at_first, Duration::from_secs(1));
        let c = gate(Some(5), None, 256);
        assert!(
            c.defer() < Duration::from_millis(200),
            "before any run: short"
        );
        c.ran(Duration::from_millis(100));
        assert_eq!(c.interval(), Duration::from_millis(20));
        c.ran(Duration::from_millis(20));
        assert_eq!(c.interval(), Duration::from_millis(18));
    }

    #[test]
    fn a_full_backlog_turns_runs_away_until_one_leaves() {
        let g = gate(Some(1), None, 4);
        let a = g.enter().unwrap();
        let _b = g.enter().unwrap();
        assert!(g.enter().is_none());
        drop(a);
        assert!(g.enter().is_some());
    }

    #[tokio::test]
    async fn concurrency_is_held_until_the_pass_drops() {
        let g = gate(Some(1), None, 256);
        let first = g.enter().unwrap().pass().await;
        let waiter = g.enter().unwrap();
        let second = tokio::spawn(async move { waiter.pass().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!second.is_finished());
        drop(first);
        second.await.unwrap();
    }

    #[tokio::test]
    async fn starts_are_paced() {
        let g = gate(None, Some(100.0), 256);
        let t0 = Instant::now();
        for _ in 0..5 {
            g.enter().unwrap().pass().await;
        }
        // The first starts at once, each next one 10 ms after the one before.
        assert!(t0.elapsed() >= Duration::from_millis(40));
    }
}
