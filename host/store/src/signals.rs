//! What a store tells the process it runs in: work became available, or the store failed for
//! good.

use std::sync::OnceLock;

use tokio::sync::Notify;

/// Wake-ups a store gives its local dispatchers after commits, so they need not poll, and the
/// alarm it raises when it can no longer be trusted.
#[derive(Debug, Default)]
pub struct WorkSignals {
    /// New orchestration messages became visible (or a delayed one was added).
    pub orchestrations: Notify,
    /// New activity requests.
    pub activities: Notify,
    /// Raised once the store cannot go on in this process (see [`StoreFailure`]).
    pub failure: StoreFailure,
}

/// A store's failure that only a restart of the process can clear: for the embedded store, an
/// fsync of its log that failed, after which what was committed may not be on disk and nothing
/// may build on it. The host answers not-ready and exits non-zero once it is raised, so a
/// supervisor restarts it and the store recovers from its log on the next start.
#[derive(Debug, Default)]
pub struct StoreFailure {
    reason: OnceLock<String>,
    raised: Notify,
}

impl StoreFailure {
    /// Raises the failure; the first reason given is kept.
    pub fn raise(&self, reason: impl Into<String>) {
        if self.reason.set(reason.into()).is_ok() {
            self.raised.notify_waiters();
        }
    }

    /// Why the store failed, once it has.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// Waits until the failure is raised; returns its reason.
    pub async fn raised(&self) -> &str {
        loop {
            // Registered before the check, so a raise in between is not missed.
            let notified = self.raised.notified();
            if let Some(reason) = self.reason() {
                return reason;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_raised_failure_wakes_its_waiters_and_keeps_the_first_reason() {
        let failure = std::sync::Arc::new(StoreFailure::default());
        assert_eq!(failure.reason(), None);
        let waiter = {
            let failure = failure.clone();
            tokio::spawn(async move { failure.raised().await.to_string() })
        };
        tokio::task::yield_now().await;
        failure.raise("fsync failed");
        failure.raise("a second reason");
        assert_eq!(waiter.await.unwrap(), "fsync failed");
        assert_eq!(failure.raised().await, "fsync failed");
    }
}
