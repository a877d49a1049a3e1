//! The live orchestration cache: executions kept in memory between episodes, so new events
//! are fed to them without replaying history. Bounded by count and by size, least recently
//! used out first; an execution larger than the whole budget is not kept (it replays instead).
//!
//! An execution's size is counted as [`LIVE_COPIES`] times the payloads of its history
//! ([`Execution::approximate_bytes`]): besides its history, a waiting orchestrator holds its
//! own deserialized copies of its input and of what it sent to and got from its tasks.
//! Measured with 400 waiting instances of 512 KB inputs: a budget counting history payloads
//! once kept about three times the budget resident (64 MiB: 196 MB more than with no cache).

use std::collections::{BTreeMap, HashMap};

use durable_engine::replay::Execution;

/// How many times its history's payloads an execution is counted as.
pub const LIVE_COPIES: usize = 3;

/// Executions by instance id, with LRU eviction.
#[derive(Debug)]
pub struct ExecutionCache {
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    tick: u64,
    entries: HashMap<String, (u64, usize, Execution)>,
    by_age: BTreeMap<u64, String>,
}

impl ExecutionCache {
    /// A cache holding at most `capacity` executions (0 turns it off) of at most `max_bytes`
    /// together.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            capacity,
            max_bytes,
            bytes: 0,
            tick: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
        }
    }

    /// Removes and returns the execution of an instance, if cached.
    pub fn take(&mut self, instance_id: &str) -> Option<Execution> {
        let (tick, size, ex) = self.entries.remove(instance_id)?;
        self.by_age.remove(&tick);
        self.bytes -= size;
        Some(ex)
    }

    /// Removes and returns the execution of an instance if it is cached and `keep` says so.
    pub fn take_if(
        &mut self,
        instance_id: &str,
        keep: impl FnOnce(&Execution) -> bool,
    ) -> Option<Execution> {
        let (_, _, ex) = self.entries.get(instance_id)?;
        if keep(ex) {
            self.take(instance_id)
        } else {
            None
        }
    }

    /// Keeps an execution, evicting the least recently used ones to make room for it.
    pub fn put(&mut self, instance_id: String, ex: Execution) {
        self.take(&instance_id);
        let size = ex.approximate_bytes().saturating_mul(LIVE_COPIES);
        if self.capacity == 0 || size > self.max_bytes {
            return;
        }
        while self.entries.len() >= self.capacity || self.bytes + size > self.max_bytes {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            if let Some((_, evicted, _)) = self.entries.remove(&oldest) {
                self.bytes -= evicted;
            }
        }
        self.tick += 1;
        self.by_age.insert(self.tick, instance_id.clone());
        self.bytes += size;
        self.entries.insert(instance_id, (self.tick, size, ex));
    }

    /// The approximate size of the cached executions together.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of cached executions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn ex() -> Execution {
        Execution::new(durable_engine::environment::Environment::deterministic(
            Arc::new(|_: &str, _: Option<&str>| None),
        ))
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = ExecutionCache::new(2, usize::MAX);
        c.put("a".into(), ex());
        c.put("b".into(), ex());
        let a = c.take("a").unwrap();
        c.put("a".into(), a); // a is now the newest
        c.put("c".into(), ex());
        assert!(c.take("b").is_none());
        assert!(c.take("a").is_some());
        assert!(c.take("c").is_some());
    }

    /// An execution with a started event carrying `input_bytes` of input.
    fn ex_of(input_bytes: usize) -> Execution {
        use durable_engine::history::{EventKind, ExecutionStarted, HistoryEvent};
        let started = ExecutionStarted {
            name: "o".into(),
            input: Some("x".repeat(input_bytes)),
            ..ExecutionStarted::default()
        };
        let history = [HistoryEvent::new(
            chrono::DateTime::UNIX_EPOCH,
            EventKind::ExecutionStarted(Box::new(started)),
        )];
        Execution::from_history(
            durable_engine::environment::Environment::deterministic(Arc::new(
                |_: &str, _: Option<&str>| None,
            )),
            &history,
        )
    }

    #[test]
    fn the_size_bound_evicts_the_oldest_and_skips_what_cannot_fit() {
        let mut c = ExecutionCache::new(100, 3_000 * LIVE_COPIES);
        c.put("a".into(), ex_of(1_000));
        c.put("b".into(), ex_of(1_000));
        assert_eq!(c.len(), 2);
        c.put("c".into(), ex_of(1_000)); // 3 x (1,000 + overhead) > 3,000: a goes
        assert!(c.take("a").is_none());
        assert_eq!(c.len(), 2);
        assert!(c.bytes() <= 3_000 * LIVE_COPIES);
        c.put("huge".into(), ex_of(10_000)); // larger than the budget: not kept
        assert!(c.take("huge").is_none());
        assert_eq!(c.len(), 2, "nothing was evicted for it");
        assert!(c.take("b").is_some() && c.take("c").is_some());
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let mut c = ExecutionCache::new(0, usize::MAX);
        c.put("a".into(), ex());
        assert!(c.is_empty());
    }
}
