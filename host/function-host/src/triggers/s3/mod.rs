//! The blob trigger on Amazon S3 and S3-compatible stores: a `#[blob_trigger]` whose
//! connection setting is an S3 connection (`Provider=S3;...`, [`connection`]) runs once for
//! each new or changed object version (ETag) under its path, across restarts and hosts.
//!
//! **Detection.** The listener lists the bucket under the path's literal prefix
//! (ListObjectsV2, page by page) at start-up and then after a pause that doubles from
//! [`MIN_POLL`](super::blob::MIN_POLL) up to host.json `extensions.blobs.maxPollingInterval`
//! while nothing changes. With `EventQueueUrl`, it also long-polls that SQS queue for the
//! bucket's event notifications and runs each created object at once: the test event is
//! skipped, keys are URL-decoded, and a duplicate finds its version settled.
//!
//! **Once per version.** A run claims a receipt object with a conditional write (the
//! `receipts` module, built with the `s3` feature); keys under [`RESERVED_PREFIX`] (receipts,
//! poisoned objects) are never triggered on.
//!
//! **Failures.** A failed run counts in the receipt and is retried on the next scan; after
//! `maxDequeueCount` (host.json `extensions.queues`, default 5) failures the object is moved
//! to `.durable/poison/{function}/{key}` with the reason in its metadata
//! (`x-amz-meta-durable-poison-reason`).

pub mod connection;

#[cfg(feature = "s3")]
mod bucket;
#[cfg(feature = "s3")]
mod events;
#[cfg(feature = "s3")]
mod listener;
#[cfg(feature = "s3")]
mod receipts;

#[cfg(feature = "s3")]
pub(crate) use listener::{listener, spawn, S3Listener};

use std::time::Duration;

/// Keys under this prefix belong to the trigger (receipts, poisoned objects).
pub const RESERVED_PREFIX: &str = ".durable/";

/// How long a run's claim on a version lasts; renewed every third of it.
pub const CLAIM: Duration = Duration::from_secs(30);
