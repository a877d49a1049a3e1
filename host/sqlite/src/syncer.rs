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
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::writer::Job;
use durable_store::{StoreError, StoreFailure};

/// A batch the writer has finished: committed (`error` = `None`) or rolled back.
pub(crate) struct Settled {
    /// The batch's requests, to be answered.
    pub jobs: Vec<Box<dyn Job>>,
    /// Why the batch did not commit.
    pub error: Option<StoreError>,
    /// Whether the batch changed durable state (it had a `Durability::Full` request).
    pub sync: bool,
}

/// The sync loop: runs until the writer is gone. `log` is the log to sync. A failed sync raises
/// `failure`, after which the writer refuses every request: what was committed may not be on
/// disk, and nothing may build on it; the host exits for a restart, and SQLite recovers the
/// database from its log when it is opened again. `in_flight` counts the batches handed over and not yet answered; the writer syncs a batch
/// itself only when it is zero, so replies still leave in commit order.
pub(crate) fn run(
    settled: Receiver<Settled>,
    mut log: Log,
    failure: &StoreFailure,
    in_flight: Arc<AtomicUsize>,
) {
    while let Ok(first) = settled.recv() {
        let mut group = vec![first];
        group.extend(settled.try_iter());
        let n = group.len();
        settle(group, &mut log, failure);
        in_flight.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Syncs the log once if any batch of `group` (in commit order) changed durable state, then
/// answers every request of the group.
pub(crate) fn settle(group: Vec<Settled>, log: &mut Log, failure: &StoreFailure) {
    let needs_sync = group.iter().any(|s| s.sync && s.error.is_none());
    let sync_error = if needs_sync { log.sync().err() } else { None };
    if let Some(e) = &sync_error {
        tracing::error!(error = %e, "fsync of the task hub's write-ahead log failed");
        failure.raise(format!(
            "an fsync of the task hub's log failed ({e}); what it committed may not be on disk"
        ));
    }
    for s in group {
        let error = s.error.as_ref().or(sync_error.as_ref());
        for job in s.jobs {
            job.reply(error);
        }
    }
}

/// The write-ahead log, opened once when the store opens: a commit never opens a file, so
/// running out of file descriptors cannot fail one.
pub(crate) struct Log {
    path: PathBuf,
    file: Option<File>,
}

impl Log {
    /// Opens the log at `path` for syncing; `None` never syncs (`synchronous=NORMAL`
    /// configured). The log exists once the schema is committed, and stays while the store's
    /// connection is open.
    pub(crate) fn open(path: Option<&Path>) -> Result<Self, StoreError> {
        let Some(path) = path else {
            return Ok(Self {
                path: PathBuf::new(),
                file: None,
            });
        };
        let file = File::open(path).map_err(|e| {
            StoreError::storage(format!("cannot open {} to sync it: {e}", path.display()))
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Some(file),
        })
    }

    /// Makes everything written to the log durable. `fdatasync`, as SQLite itself syncs the log
    /// on Linux with `synchronous=FULL`: it writes the data and the metadata needed to read it
    /// back (the file size when the log grew), but not the modification time (which `fsync`
    /// would also journal).
    fn sync(&mut self) -> Result<(), StoreError> {
        match &self.file {
            // Retryable: the host restarts for it, and the store recovers from its log.
            Some(file) => file.sync_data().map_err(|e| {
                let message = format!("cannot sync {}: {e}", self.path.display());
                StoreError::backend(message, e, true)
            }),
            None => Ok(()),
        }
    }
}
