//! Counts of storage requests, per service and per kind of operation: what the benchmark
//! reports as storage operations per orchestration.

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests sent so far (retries included), per service and per operation.
#[derive(Debug, Default)]
pub struct RequestStats {
    table: AtomicU64,
    queue: AtomicU64,
    blob: AtomicU64,
    operations: [AtomicU64; Operation::ALL.len()],
    empty_receives: AtomicU64,
}

/// The kinds of request the task hub and the triggers make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// An entity-group transaction (`POST $batch`).
    TableBatch,
    /// A query or point read.
    TableRead,
    /// An insert, upsert, update or merge of one entity.
    TableWrite,
    /// Anything else on tables (create, delete).
    TableOther,
    /// Receiving messages (`GET …/messages`).
    QueueReceive,
    /// Peeking at messages or reading queue metadata (the backlog).
    QueuePeek,
    /// Putting a message.
    QueuePut,
    /// Updating a received message (its visibility or content).
    QueueUpdate,
    /// Deleting a received message.
    QueueDelete,
    /// Anything else on queues (create, delete).
    QueueOther,
    /// Lease actions on blobs.
    BlobLease,
    /// Reading blobs or listing them.
    BlobRead,
    /// Writing blobs.
    BlobWrite,
    /// Anything else on blobs.
    BlobOther,
}

impl Operation {
    /// Every operation, in the order reports list them.
    pub const ALL: [Operation; 14] = [
        Operation::TableBatch,
        Operation::TableRead,
        Operation::TableWrite,
        Operation::TableOther,
        Operation::QueueReceive,
        Operation::QueuePeek,
        Operation::QueuePut,
        Operation::QueueUpdate,
        Operation::QueueDelete,
        Operation::QueueOther,
        Operation::BlobLease,
        Operation::BlobRead,
        Operation::BlobWrite,
        Operation::BlobOther,
    ];

    /// A short name for reports, e.g. `queue_delete`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::TableBatch => "table_batch",
            Operation::TableRead => "table_read",
            Operation::TableWrite => "table_write",
            Operation::TableOther => "table_other",
            Operation::QueueReceive => "queue_receive",
            Operation::QueuePeek => "queue_peek",
            Operation::QueuePut => "queue_put",
            Operation::QueueUpdate => "queue_update",
            Operation::QueueDelete => "queue_delete",
            Operation::QueueOther => "queue_other",
            Operation::BlobLease => "blob_lease",
            Operation::BlobRead => "blob_read",
            Operation::BlobWrite => "blob_write",
            Operation::BlobOther => "blob_other",
        }
    }

    /// Classifies a request by service, method and URL.
    pub(crate) fn of(service: Service, method: &reqwest::Method, url: &reqwest::Url) -> Self {
        use reqwest::Method;
        let query = url.query().unwrap_or("");
        let path = url.path();
        match service {
            Service::Table => match *method {
                Method::POST if path.ends_with("$batch") => Operation::TableBatch,
                Method::GET => Operation::TableRead,
                Method::PUT | Method::PATCH => Operation::TableWrite,
                // An insert into a table (not the creation of a table: `POST /Tables`).
                Method::POST if !path.ends_with("/Tables") => Operation::TableWrite,
                _ if method.as_str() == "MERGE" => Operation::TableWrite,
                _ => Operation::TableOther,
            },
            Service::Queue => {
                let messages = path.contains("/messages");
                match *method {
                    Method::GET if query.contains("peekonly=true") => Operation::QueuePeek,
                    Method::GET if messages => Operation::QueueReceive,
                    Method::GET if query.contains("comp=metadata") => Operation::QueuePeek,
                    Method::HEAD if query.contains("comp=metadata") => Operation::QueuePeek,
                    Method::POST if messages => Operation::QueuePut,
                    Method::PUT if query.contains("popreceipt=") => Operation::QueueUpdate,
                    Method::DELETE if query.contains("popreceipt=") => Operation::QueueDelete,
                    _ => Operation::QueueOther,
                }
            }
            Service::Blob => match *method {
                _ if query.contains("comp=lease") => Operation::BlobLease,
                Method::GET | Method::HEAD => Operation::BlobRead,
                Method::PUT => Operation::BlobWrite,
                _ => Operation::BlobOther,
            },
        }
    }
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
    pub(crate) fn record(&self, service: Service, operation: Operation) {
        let counter = match service {
            Service::Table => &self.table,
            Service::Queue => &self.queue,
            Service::Blob => &self.blob,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let index = Operation::ALL
            .iter()
            .position(|o| *o == operation)
            .expect("every operation is listed");
        self.operations[index].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_empty_receive(&self) {
        self.empty_receives.fetch_add(1, Ordering::Relaxed);
    }

    /// Queue receives so far that found no message (polls of an idle queue).
    pub fn empty_receives(&self) -> u64 {
        self.empty_receives.load(Ordering::Relaxed)
    }

    /// Requests so far per operation, in [`Operation::ALL`]'s order.
    pub fn operations(&self) -> [(Operation, u64); Operation::ALL.len()] {
        let mut i = 0;
        Operation::ALL.map(|o| {
            let n = self.operations[i].load(Ordering::Relaxed);
            i += 1;
            (o, n)
        })
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
