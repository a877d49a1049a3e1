//! Work for a function this host does not have.
//!
//! During a rolling deploy, hosts running the old and the new binary share a task hub: an
//! instance started by a new host may reach an old one that lacks its orchestrator, or an
//! activity the old binary never had, or an orchestration version the old host's
//! `versionMatchStrategy` refuses. Such a work item is not failed: it is given back (abandoned)
//! with a growing delay so that a host that has the function takes it, with a warning the
//! first time. Only when this host has itself held it back for the missing-function timeout
//! does it fail the work, saying what was missing. The time counts on this host and starts
//! again with a new process, so a task hub left alone (one SQLite host stopped while the old
//! binary is gone) keeps its instances until a binary that has them starts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The first delay before held-back work is offered again.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest delay.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// What to do with a work item whose function this host lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Give it back for this long; `first` is true the first time this host holds it back.
    Wait {
        /// How long until it is offered again.
        delay: Duration,
        /// The first time (worth a warning).
        first: bool,
    },
    /// This host has held it back for the timeout: fail it.
    GiveUp {
        /// How long it was held back.
        waited: Duration,
    },
}

/// How long a held-back item may go unseen before its count starts again: longer than the
/// longest delay plus an orchestration lock, so an item that keeps coming back to this host
/// keeps its count, while one another host took (and that comes back much later) starts anew.
const STALE: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Copy)]
struct Entry {
    first_seen: Instant,
    last_seen: Instant,
    attempts: u32,
}

/// The work items this host holds back, by a key naming the work (an instance, or one
/// activity call).
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Waiting {
    /// Records one more hold-back of `key` and says what to do with it.
    pub fn hold(&self, key: &str, timeout: Duration) -> Verdict {
        let now = Instant::now();
        let mut entries = self.entries.lock();
        // Items another host took are forgotten, so the map does not grow and a later
        // hold-back of one starts its count anew.
        entries.retain(|_, e| now - e.last_seen < STALE);
        let fresh = Entry {
            first_seen: now,
            last_seen: now,
            attempts: 0,
        };
        let entry = entries.entry(key.to_string()).or_insert(fresh);
        entry.last_seen = now;
        entry.attempts += 1;
        let waited = now - entry.first_seen;
        if waited >= timeout {
            entries.remove(key);
            return Verdict::GiveUp { waited };
        }
        let doubled = FIRST_DELAY.saturating_mul(1 << (entry.attempts - 1).min(16));
        let delay = doubled.min(MAX_DELAY).min(timeout - waited);
        Verdict::Wait {
            delay: delay.max(Duration::from_millis(100)),
            first: entry.attempts == 1,
        }
    }

    /// Forgets `key`: its function was found, or it was failed.
    pub fn release(&self, key: &str) {
        self.release_with(|| key.to_string());
    }

    /// [`release`](Self::release) with the key made only if anything is held back.
    pub fn release_with(&self, key: impl FnOnce() -> String) {
        let mut entries = self.entries.lock();
        if !entries.is_empty() {
            entries.remove(&key());
        }
    }

    /// How many work items this host holds back now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

/// The key of one activity call.
pub(crate) fn activity_key(instance_id: &str, execution_id: Option<&str>, task_id: i32) -> String {
    format!(
        "{instance_id}\u{0}{}\u{0}{task_id}",
        execution_id.unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_a_minute_and_the_timeout_gives_up() {
        let w = Waiting::default();
        let long = Duration::from_secs(3600);
        let delays: Vec<_> = (0..9)
            .map(|_| match w.hold("a", long) {
                Verdict::Wait { delay, .. } => delay.as_secs(),
                Verdict::GiveUp { .. } => panic!("gave up early"),
            })
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert!(matches!(
            w.hold("b", long),
            Verdict::Wait { first: true, .. }
        ));
        assert!(matches!(
            w.hold("b", long),
            Verdict::Wait { first: false, .. }
        ));
        assert_eq!(w.len(), 2);
        w.release("b");
        assert!(matches!(
            w.hold("b", long),
            Verdict::Wait { first: true, .. }
        ));
        assert!(matches!(
            w.hold("a", Duration::ZERO),
            Verdict::GiveUp { .. }
        ));
        assert_eq!(w.len(), 1, "a given-up key is forgotten");
    }
}
