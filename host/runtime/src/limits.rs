//! Limits per activity on one host: how many runs of an activity run at once
//! (`max_concurrent`) and how many start per second (`max_per_second`), for an activity that
//! calls a service with limits of its own.
//!
//! A run that may not start yet waits on this host, keeping its lock (renewed) and its
//! activity slot, while fewer than its *backlog* wait; a run that arrives when the backlog is
//! full goes back to the task hub with a delay, so that it neither holds this host's slots
//! from other activities nor spins. The backlog is what the limit lets through in about a
//! second (`max_concurrent` runs, or one second of `max_per_second`), at most half of the
//! host's activity slots.
//!
//! Starts are paced one at a time, `1 / max_per_second` apart (a bucket of one token): in any
//! second at most `max_per_second + 1` runs start, and a steady stream starts at that rate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    concurrency: Option<Arc<Semaphore>>,
    pacer: Option<Pacer>,
    /// Runs waiting to pass.
    waiting: AtomicUsize,
    backlog: usize,
}

/// What a run holds while it runs: its place under `max_concurrent`.
pub(crate) struct Pass {
    _permit: Option<OwnedSemaphorePermit>,
}

/// A run waiting at a gate (counted in its backlog until it passes or is dropped).
pub(crate) struct Waiter {
    gate: Arc<Gate>,
}

impl Gate {
    fn new(limits: ActivityLimits, slots: usize) -> Self {
        let concurrent = limits.max_concurrent.map(|n| n.max(1) as usize);
        let per_second = limits.max_per_second.filter(|r| *r > 0.0);
        let second_of_rate = per_second.map_or(0, |r| r.ceil() as usize);
        let backlog = concurrent
            .unwrap_or(0)
            .max(second_of_rate)
            .min(slots / 2)
            .max(1);
        Self {
            concurrency: concurrent.map(|n| Arc::new(Semaphore::new(n))),
            pacer: per_second.map(Pacer::new),
            waiting: AtomicUsize::new(0),
            backlog,
        }
    }

    /// Joins the runs waiting to pass, or `None` when the backlog is full and the run should
    /// go back to the task hub.
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

    /// How long a run given back to the task hub waits before it is tried again: about as
    /// long as the backlog ahead of it takes to pass, at least a second.
    pub fn retry_after(&self) -> Duration {
        let paced = self
            .pacer
            .as_ref()
            .map_or(Duration::ZERO, |p| p.interval * self.backlog as u32);
        paced.max(Duration::from_secs(1))
    }
}

impl Waiter {
    /// Waits for a place under `max_concurrent`, then for the run's turn under
    /// `max_per_second`.
    pub async fn pass(self) -> Pass {
        let permit = match &self.gate.concurrency {
            Some(sem) => Some(
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
        Pass { _permit: permit }
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
    fn backlog_is_a_second_of_the_limit_within_half_the_slots() {
        assert_eq!(gate(Some(5), None, 256).backlog, 5);
        assert_eq!(gate(None, Some(100.0), 256).backlog, 100);
        assert_eq!(gate(None, Some(100.0), 20).backlog, 10);
        assert_eq!(gate(None, Some(0.2), 256).backlog, 1);
        assert_eq!(
            gate(None, Some(0.5), 256).retry_after(),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_full_backlog_turns_runs_away_until_one_leaves() {
        let g = gate(Some(2), None, 256);
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
