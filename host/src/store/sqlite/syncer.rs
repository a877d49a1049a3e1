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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use super::writer::Job;
use crate::store::StoreError;

/// A batch the writer has finished: committed (`error` = `None`) or rolled back.
pub(crate) struct Settled {
    /// The batch's requests, to be answered.
    pub jobs: Vec<Box<dyn Job>>,
    /// Why the batch did not commit.
    pub error: Option<StoreError>,
    /// Whether the batch changed durable state (it had a `Durability::Full` request).
    pub sync: bool,
}

/// The sync loop: runs until the writer is gone. `wal` is the log to fsync (`None`: never sync,
/// the configured `synchronous=NORMAL`). A failed fsync sets `failed`, after which the writer
/// refuses every request: what was committed may not be on disk, and nothing may build on it.
pub(crate) fn run(settled: Receiver<Settled>, wal: Option<PathBuf>, failed: Arc<AtomicBool>) {
    let mut log: Option<File> = None;
    while let Ok(first) = settled.recv() {
        let mut group = vec![first];
        group.extend(settled.try_iter());
        let needs_sync = group.iter().any(|s| s.sync && s.error.is_none());
        let sync_error = match (&wal, needs_sync) {
            (Some(path), true) => sync(&mut log, path).err(),
            _ => None,
        };
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
}

/// Fsyncs the log, opening it on first use (it exists once the schema is committed).
fn sync(log: &mut Option<File>, path: &PathBuf) -> Result<(), StoreError> {
    let io =
        |e: std::io::Error| StoreError::Storage(format!("cannot sync {}: {e}", path.display()));
    if log.is_none() {
        *log = Some(File::open(path).map_err(io)?);
    }
    match log {
        Some(file) => file.sync_all().map_err(io),
        None => Ok(()),
    }
}
