//! Keeping the write-ahead log small.
//!
//! Under load SQLite checkpoints by itself once the log holds `wal_autocheckpoint` pages. With
//! plenty of free disk that is 8,000 pages (about 32 MB), which keeps pages rewritten by many
//! commits from being copied back each time (about 15% more commits/s). But a checkpoint has
//! to write into the database file, which may need to grow: on a volume that a 32 MB log has
//! filled, it cannot, and the store would be stuck (a 20 MB volume filled after ~300
//! instances). So the writer watches the free space of the volume (at most once a second)
//! and, below [`LOW_SPACE`], keeps the log under about 1 MB and truncates it to that after each
//! checkpoint. It also checkpoints the whole log and truncates it to nothing when it has
//! committed something and then had no request for [`IDLE`], and at once when a batch failed
//! because the disk is full. Neither waits for readers in other processes (the busy timeout
//! is lifted for the attempt); a checkpoint they block is tried again at the next idle moment.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

use super::schema::BUSY_TIMEOUT;
use durable_store::{StoreError, StoreFailure};

/// How long the writer waits without a request before it checkpoints.
pub(crate) const IDLE: Duration = Duration::from_secs(1);

/// Free space on the hub's volume below which the log is kept small.
pub(crate) const LOW_SPACE: u64 = 256 * 1024 * 1024;

/// How often the free space is looked at.
const SPACE_CHECK: Duration = Duration::from_secs(1);

/// `wal_autocheckpoint` pages and `journal_size_limit` bytes for a roomy and a tight volume.
pub(crate) const ROOMY: (i64, i64) = (8_000, 64 * 1024 * 1024);
const TIGHT: (i64, i64) = (250, 1024 * 1024);

/// When to checkpoint: what the log holds, and how much room the volume has.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    dirty: bool,
    dir: PathBuf,
    tight: Option<bool>,
    space_checked: Option<Instant>,
}

impl Checkpoint {
    /// For the database file `db`, whose connection starts with the roomy settings.
    pub(crate) fn new(db: &Path) -> Self {
        let dir = db
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self {
            dirty: false,
            dir: dir.to_path_buf(),
            tight: Some(false),
            space_checked: None,
        }
    }

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
        self.fit_to_space(conn);
    }

    /// The writer had nothing to do for [`IDLE`]: checkpoints and truncates the log if it
    /// holds anything (and the store has not failed).
    pub(crate) fn when_idle(&mut self, conn: &Connection, failure: &StoreFailure) {
        if self.dirty && failure.reason().is_none() {
            self.run(conn);
        }
        self.fit_to_space(conn);
    }

    /// Switches between the roomy and the tight log size as the volume's free space says.
    fn fit_to_space(&mut self, conn: &Connection) {
        if self
            .space_checked
            .is_some_and(|at| at.elapsed() < SPACE_CHECK)
        {
            return;
        }
        self.space_checked = Some(Instant::now());
        let Some(free) = free_space(&self.dir) else {
            return;
        };
        let tight = free < LOW_SPACE;
        if self.tight == Some(tight) {
            return;
        }
        let (pages, limit) = if tight { TIGHT } else { ROOMY };
        let set = conn
            .pragma_update(None, "wal_autocheckpoint", pages)
            .and_then(|()| conn.pragma_update(None, "journal_size_limit", limit));
        match set {
            Ok(()) => {
                self.tight = Some(tight);
                tracing::info!(
                    free_bytes = free,
                    log_pages = pages,
                    "the task hub's volume is {}: checkpointing every {pages} pages of log",
                    if tight { "nearly full" } else { "roomy" }
                );
            }
            Err(e) => tracing::warn!(error = %e, "cannot resize the task hub's log"),
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

/// Bytes an unprivileged process may still write on the volume holding `dir`.
fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs writes only into `stats`, which is plain data.
        let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is a valid NUL-terminated string and `stats` a valid out pointer.
        if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
        Some(stats.f_bavail as u64 * stats.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
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
