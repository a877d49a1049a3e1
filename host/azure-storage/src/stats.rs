//! Counts of storage requests, per service: what the benchmark reports as storage operations
//! per orchestration.

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests sent so far (retries included), per service.
#[derive(Debug, Default)]
pub struct RequestStats {
    table: AtomicU64,
    queue: AtomicU64,
    blob: AtomicU64,
}

/// A snapshot of [`RequestStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestCounts {
    /// Table service requests (an entity-group transaction counts once).
    pub table: u64,
    /// Queue service requests.
    pub queue: u64,
    /// Blob service requests.
    pub blob: u64,
}

impl RequestCounts {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.table + self.queue + self.blob
    }

    /// The requests made since `earlier`.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            table: self.table - earlier.table,
            queue: self.queue - earlier.queue,
            blob: self.blob - earlier.blob,
        }
    }
}

/// Which service a request went to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Service {
    Table,
    Queue,
    Blob,
}

impl RequestStats {
    pub(crate) fn record(&self, service: Service) {
        let counter = match service {
            Service::Table => &self.table,
            Service::Queue => &self.queue,
            Service::Blob => &self.blob,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            table: self.table.load(Ordering::Relaxed),
            queue: self.queue.load(Ordering::Relaxed),
            blob: self.blob.load(Ordering::Relaxed),
        }
    }
}
