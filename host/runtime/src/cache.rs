//! The live orchestration cache: executions kept in memory between episodes, so new events
//! are fed to them without replaying history. Bounded by count, least recently used out first.

use std::collections::{BTreeMap, HashMap};

use durable_engine::replay::Execution;

/// Executions by instance id, with LRU eviction.
#[derive(Debug)]
pub struct ExecutionCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<String, (u64, Execution)>,
    by_age: BTreeMap<u64, String>,
}

impl ExecutionCache {
    /// A cache holding at most `capacity` executions (0 turns it off).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            tick: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
        }
    }

    /// Removes and returns the execution of an instance, if cached.
    pub fn take(&mut self, instance_id: &str) -> Option<Execution> {
        let (tick, ex) = self.entries.remove(instance_id)?;
        self.by_age.remove(&tick);
        Some(ex)
    }

    /// Removes and returns the execution of an instance if it is cached and `keep` says so.
    pub fn take_if(
        &mut self,
        instance_id: &str,
        keep: impl FnOnce(&Execution) -> bool,
    ) -> Option<Execution> {
        let (_, ex) = self.entries.get(instance_id)?;
        if keep(ex) {
            self.take(instance_id)
        } else {
            None
        }
    }

    /// Keeps an execution, evicting the least recently used one when full.
    pub fn put(&mut self, instance_id: String, ex: Execution) {
        if self.capacity == 0 {
            return;
        }
        self.take(&instance_id);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        self.tick += 1;
        self.by_age.insert(self.tick, instance_id.clone());
        self.entries.insert(instance_id, (self.tick, ex));
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
            Arc::new(|_: &str| None),
        ))
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = ExecutionCache::new(2);
        c.put("a".into(), ex());
        c.put("b".into(), ex());
        let a = c.take("a").unwrap();
        c.put("a".into(), a); // a is now the newest
        c.put("c".into(), ex());
        assert!(c.take("b").is_none());
        assert!(c.take("a").is_some());
        assert!(c.take("c").is_some());
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let mut c = ExecutionCache::new(0);
        c.put("a".into(), ex());
        assert!(c.is_empty());
    }
}
