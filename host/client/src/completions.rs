//! Per-instance completion wake-ups: a runtime tells the clients waiting for one instance, and
//! only them, that it reached a terminal status.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Waiters by instance id. Shared by a runtime (which notifies) and its clients (which wait).
#[derive(Debug, Default)]
pub struct Completions {
    waiters: Mutex<HashMap<String, (usize, Arc<Notify>)>>,
}

impl Completions {
    /// Wakes the waiters of `instance_id`, if there are any.
    pub fn notify(&self, instance_id: &str) {
        if let Some((_, notify)) = self.waiters.lock().get(instance_id) {
            notify.notify_waiters();
        }
    }

    /// Registers interest in `instance_id` until the returned watch is dropped.
    pub fn watch(self: &Arc<Self>, instance_id: &str) -> Watch {
        let notify = {
            let mut waiters = self.waiters.lock();
            let entry = waiters
                .entry(instance_id.to_owned())
                .or_insert_with(|| (0, Arc::new(Notify::new())));
            entry.0 += 1;
            Arc::clone(&entry.1)
        };
        Watch {
            completions: Arc::clone(self),
            instance_id: instance_id.to_owned(),
            notify,
        }
    }
}

/// Interest in one instance's completion.
pub struct Watch {
    completions: Arc<Completions>,
    instance_id: String,
    notify: Arc<Notify>,
}

impl Watch {
    /// Notified when the instance completes on this host.
    pub fn notify(&self) -> &Notify {
        &self.notify
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut waiters = self.completions.waiters.lock();
        if let Some(entry) = waiters.get_mut(&self.instance_id) {
            entry.0 -= 1;
            if entry.0 == 0 {
                waiters.remove(&self.instance_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_instances_waiters_wake_and_entries_go_away() {
        let c = Arc::new(Completions::default());
        let a = c.watch("a");
        let b = c.watch("b");
        {
            let woken_a = a.notify().notified();
            let woken_b = b.notify().notified();
            tokio::pin!(woken_a, woken_b);
            woken_a.as_mut().enable();
            woken_b.as_mut().enable();
            c.notify("a");
            tokio::time::timeout(std::time::Duration::from_secs(1), woken_a)
                .await
                .unwrap();
            assert!(futures::FutureExt::now_or_never(woken_b).is_none());
        }
        drop((a, b));
        assert!(c.waiters.lock().is_empty());
    }
}
