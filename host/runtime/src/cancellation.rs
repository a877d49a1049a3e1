//! The activities running on this host, by instance, so that terminating an instance cancels
//! them: their futures are dropped, and their calls answered as canceled.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Running activities by instance id: a signal per instance and how many runs wait on it.
#[derive(Debug, Default)]
pub(crate) struct RunningActivities {
    by_instance: Mutex<HashMap<String, (Arc<Notify>, usize)>>,
}

/// One run's registration; it is removed when this is dropped.
pub(crate) struct Registration<'a> {
    running: &'a RunningActivities,
    instance_id: String,
    /// Notified when the instance is terminated.
    pub cancel: Arc<Notify>,
}

impl RunningActivities {
    /// Registers a run of an activity of `instance_id`.
    pub fn register(&self, instance_id: &str) -> Registration<'_> {
        let mut map = self.by_instance.lock();
        let entry = map
            .entry(instance_id.to_string())
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        entry.1 += 1;
        Registration {
            running: self,
            instance_id: instance_id.to_string(),
            cancel: entry.0.clone(),
        }
    }

    /// Cancels the runs of `instance_id` on this host; how many there were.
    pub fn cancel(&self, instance_id: &str) -> usize {
        let map = self.by_instance.lock();
        match map.get(instance_id) {
            Some((notify, count)) => {
                notify.notify_waiters();
                *count
            }
            None => 0,
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut map = self.running.by_instance.lock();
        if let Some(entry) = map.get_mut(&self.instance_id) {
            entry.1 -= 1;
            if entry.1 == 0 {
                map.remove(&self.instance_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_reaches_the_runs_of_its_instance_only() {
        let running = RunningActivities::default();
        let a = running.register("a");
        let b = running.register("b");
        let (signal_a, signal_b) = (a.cancel.clone(), b.cancel.clone());
        let (wait_a, wait_b) = (signal_a.notified(), signal_b.notified());
        assert_eq!(running.cancel("a"), 1);
        wait_a.await;
        tokio::pin!(wait_b);
        assert!(futures::poll!(&mut wait_b).is_pending());
        drop(a);
        assert_eq!(running.cancel("a"), 0);
        drop(b);
        assert!(running.by_instance.lock().is_empty());
    }
}
