//! The sync thread: makes committed batches durable, then answers their requests.
//!
//! The connection runs with `synchronous=NORMAL`, so `COMMIT` appends the batch to the
//! write-ahead log without waiting for the disk. The writer hands each committed batch here;
//! this thread takes everything handed over so far, fsyncs the log once if any of it changed
//! durable state, and replies in commit order. An fsync of the log after the commit is exactly
//! what `synchronous=FULL` adds in WAL mode; doing it here lets the writer run the next batch
//! meanwhile. Checkpoints still sync the log before copying it into the database file and the
//! database file afterwards (SQLite's NORMAL mode does that), so a log restarted after a
//! checkpoint never holds the only copy of an acknowledged commit.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::writer::Job;
use durable_store::StoreError;

/// A batch the writer has finished: committed (`error` = `None`) or rolled back.
pub(crate) struct Settled {
    /// The batch's requests, to be answered.
    pub jobs: Vec<Box<dyn Job>>,
    /// Why the batch did not commit.
    pub error: Option<StoreError>,
    /// Whether the batch changed durable state (it had a `Durability::Full` request).
    pub sync: bool,
}

/// The sync loop: runs until the writer is gone. `wal` is the log to sync (`None`: never sync,
/// the configured `synchronous=NORMAL`). A failed sync sets `failed`, after which the writer
/// refuses every request: what was committed may not be on disk, and nothing may build on it.
/// `in_flight` counts the batches handed over and not yet answered; the writer syncs a batch
/// itself only when it is zero, so replies still leave in commit order.
pub(crate) fn run(
    settled: Receiver<Settled>,
    wal: Option<PathBuf>,
    failed: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
) {
    let mut log = Log::new(wal);
    while let Ok(first) = settled.recv() {
        let mut group = vec![first];
        group.extend(settled.try_iter());
        let n = group.len();
        settle(group, &mut log, &failed);
        in_flight.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Syncs the log once if any batch of `group` (in commit order) changed durable state, then
/// answers every request of the group.
pub(crate) fn settle(group: Vec<Settled>, log: &mut Log, failed: &AtomicBool) {
    let needs_sync = group.iter().any(|s| s.sync && s.error.is_none());
    let sync_error = if needs_sync { log.sync().err() } else { None };
    if let Some(e) = &sync_error {
        tracing::error!(error = %e, "fsync of the task hub's write-ahead log failed");
        failed.store(true, Ordering::Release);
    }
    for s in group {
        let error = s.error.as_ref().or(sync_error.as_ref());
        for job in s.jobs {
            job.reply(error);
        }
    }
}

/// The write-ahead log, opened on first use (it exists once the schema is committed).
pub(crate) struct Log {
    path: Option<PathBuf>,
    file: Option<File>,
}

impl Log {
    /// The log at `path`; `None` never syncs.
    pub(crate) fn new(path: Option<PathBuf>) -> Self {
        Self { path, file: None }
    }

    /// Makes everything written to the log durable. `fdatasync`, as SQLite itself syncs the log
    /// on Linux with `synchronous=FULL`: it writes the data and the metadata needed to read it
    /// back (the file size when the log grew), but not the modification time (which `fsync`
    /// would also journal).
    fn sync(&mut self) -> Result<(), StoreError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io =
            |e: std::io::Error| StoreError::storage(format!("cannot sync {}: {e}", path.display()));
        if self.file.is_none() {
            self.file = Some(File::open(path).map_err(io)?);
        }
        match &self.file {
            Some(file) => file.sync_data().map_err(io),
            None => Ok(()),
        }
    }
}
