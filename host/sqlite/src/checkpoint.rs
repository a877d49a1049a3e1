//! Keeping the write-ahead log small.
//!
//! Under load SQLite checkpoints by itself every 8,000 pages of log (`wal_autocheckpoint`, about
//! 32 MB), which keeps pages rewritten by many commits from being copied back each time. A
//! store that stops being busy would otherwise keep that much log on disk for ever, and a small
//! volume would fill with it. So the writer thread also checkpoints the whole log and truncates
//! it to nothing when it has committed something and then had no request for [`IDLE`], and at
//! once when a batch failed because the disk is full: the log is usually what can give space
//! back. Neither waits for readers in other processes (the busy timeout is lifted for the
//! attempt); a checkpoint they block is tried again at the next idle moment.

use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

use super::schema::BUSY_TIMEOUT;
use durable_store::{StoreError, StoreFailure};

/// How long the writer waits without a request before it checkpoints.
pub(crate) const IDLE: Duration = Duration::from_secs(1);

/// Whether the log holds commits not yet checkpointed.
#[derive(Debug, Default)]
pub(crate) struct Checkpoint {
    dirty: bool,
}

impl Checkpoint {
    /// Notes a batch's outcome; a batch that failed for want of disk space checkpoints now.
    pub(crate) fn after_batch(&mut self, conn: &Connection, error: Option<&StoreError>) {
        match error {
            None => self.dirty = true,
            Some(e) if is_disk_full(e) => {
                tracing::warn!("the disk is full; checkpointing the task hub's log to free space");
                self.run(conn);
            }
            Some(_) => {}
        }
    }

    /// The writer had nothing to do for [`IDLE`]: checkpoints and truncates the log if it
    /// holds anything (and the store has not failed).
    pub(crate) fn when_idle(&mut self, conn: &Connection, failure: &StoreFailure) {
        if self.dirty && failure.reason().is_none() {
            self.run(conn);
        }
    }

    fn run(&mut self, conn: &Connection) {
        if conn.busy_timeout(Duration::ZERO).is_err() {
            return;
        }
        let result = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            row.get::<_, i64>(0)
        });
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
        match result {
            // 0: every frame was copied back and the log truncated.
            Ok(0) => self.dirty = false,
            // 1: a reader in another process kept it from finishing; next time.
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {}
            // The log keeps every frame a failed checkpoint did not copy: nothing is lost.
            Err(e) => tracing::warn!(error = %e, "checkpointing the task hub's log failed"),
        }
    }
}

/// Whether `e` is SQLite's "database or disk is full".
fn is_disk_full(e: &StoreError) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(e) = s.downcast_ref::<rusqlite::Error>() {
            return e.sqlite_error_code() == Some(ErrorCode::DiskFull);
        }
        source = s.source();
    }
    false
}
