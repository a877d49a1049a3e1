//! The blob trigger: runs a `#[blob_trigger]` function once for each new or changed blob
//! version (ETag) under its path, across restarts and hosts.
//!
//! **Detection.** Each function's listener lists its container (from the path's literal
//! prefix, page by page with continuation markers) and compares every matching blob's ETag
//! with the versions it has already settled. A scan runs at start-up, which finds blobs
//! written while no host ran, then again after a pause that doubles from [`MIN_POLL`] up to
//! host.json `extensions.blobs.maxPollingInterval` while nothing changes, back to the minimum
//! when something did.
//!
//! **Once per version.** A run is claimed through a receipt blob in `azure-webjobs-hosts`,
//! `blobreceipts/{hostId}/{function}/{etag}/{container}/{blob}` (Azure Functions' layout):
//! the listener creates it if missing (`If-None-Match: *`), takes a [`LEASE`] on it (renewed
//! while the function runs), reads its state, and runs the function only if the version is
//! neither done nor poisoned. Afterwards it writes the outcome under the lease and releases
//! it. Another host (or another listener after a restart) that finds the receipt leased
//! skips it for now; one that finds it done skips it for good. A host that crashed mid-run
//! leaves a lease that runs out, after which the next scan claims and runs the version again.
//!
//! **Failures.** A failed run (an error, a panic, content that does not convert) counts in the
//! receipt and is retried on the next scan. After `maxDequeueCount` (host.json
//! `extensions.queues`, default 5) failures the receipt is marked poisoned and a message
//! naming the blob is put on `webjobs-blobtrigger-poison`, as Azure Functions does.

pub mod path;

#[cfg(feature = "azure")]
mod listener;
#[cfg(feature = "azure")]
mod receipts;
#[cfg(any(feature = "azure", feature = "s3"))]
pub(crate) mod run;

#[cfg(feature = "azure")]
pub(crate) use listener::{prepare, spawn, BlobListener};

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What claiming the run of one version found, on every store (`C`: the store's claim).
#[derive(Debug)]
pub enum Claimed<C> {
    /// This listener may run the version.
    Run(C),
    /// The version is done (or poisoned): never run it again.
    Settled,
    /// Another run holds it: look again later.
    Busy,
}

/// How a blob version has fared so far (in its receipt, on every store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptState {
    /// Not run to success yet.
    Incomplete,
    /// Run to success.
    Complete,
    /// Given up on after too many failures.
    Poisoned,
}

/// The container that holds the receipts.
pub const RECEIPTS_CONTAINER: &str = "azure-webjobs-hosts";

/// The queue poisoned blob versions are reported on.
pub const POISON_QUEUE: &str = "webjobs-blobtrigger-poison";

/// The lease a run holds on its receipt; renewed every third of it.
pub const LEASE: Duration = Duration::from_secs(30);

/// The shortest pause between scans of an idle container.
pub const MIN_POLL: Duration = Duration::from_millis(250);
