//! The writer thread: group commit of concurrent requests.
//!
//! One thread owns the connection. Requests arrive over a channel; the thread takes the first
//! one, drains everything else already queued (up to [`MAX_BATCH`]) and runs the whole batch in
//! one `BEGIN IMMEDIATE … COMMIT` transaction, so many concurrent commits share one fsync. Each
//! request runs inside its own `SAVEPOINT`: when it fails, `ROLLBACK TO` undoes exactly its
//! writes and the others still commit. Replies (and dispatcher wake-ups) are sent only after
//! the transaction is durable.
//!
//! Requests whose loss on power failure is harmless (locks, renewals, abandons, reads) are
//! marked [`Durability::Relaxed`]; a batch made only of those commits with
//! `synchronous=NORMAL`, which skips the fsync (WAL mode stays corruption-free). Any
//! [`Durability::Full`] request in the batch makes it sync as configured.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::codec::{to_ticks, SqlResultExt};
use crate::engine::time;
use crate::store::{StoreError, StoreResult, WorkSignals};

/// Most requests committed in one transaction (bounds the latency of the first one).
const MAX_BATCH: usize = 512;

/// Whether a request's commit must reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Instance, history or queue contents change: sync as configured.
    Full,
    /// Only locks, visibility or nothing change; losing them on power failure is harmless.
    Relaxed,
}

/// What a request sees while it runs.
pub(crate) struct Ctx<'c> {
    /// The connection, inside the batch transaction and the request's savepoint.
    pub conn: &'c Connection,
    /// The request's clock, 100 ns ticks since the epoch.
    pub now: i64,
    /// Set when the request made orchestration messages available.
    pub notify_orchestrations: bool,
    /// Set when the request made activity requests available.
    pub notify_activities: bool,
}

/// A request queued for the writer thread.
pub(crate) trait Job: Send {
    /// Whether the request's commit must be synced.
    fn durability(&self) -> Durability;
    /// Runs the request; true if it succeeded (its savepoint is kept).
    fn run(&mut self, ctx: &mut Ctx<'_>) -> bool;
    /// Sends the reply; `batch_error` is set when the batch did not commit.
    fn reply(self: Box<Self>, batch_error: Option<&StoreError>);
}

/// A closure with the channel for its result.
pub(crate) struct Call<T, F> {
    durability: Durability,
    f: Option<F>,
    result: Option<StoreResult<T>>,
    reply_to: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Call<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Ctx<'_>) -> StoreResult<T> + Send + 'static,
{
    /// A job running `f`, and the receiver of its result.
    pub(crate) fn job(
        durability: Durability,
        f: F,
    ) -> (Box<dyn Job>, oneshot::Receiver<StoreResult<T>>) {
        let (reply_to, rx) = oneshot::channel();
        let job = Self {
            durability,
            f: Some(f),
            result: None,
            reply_to,
        };
        (Box::new(job), rx)
    }
}

impl<T, F> Job for Call<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Ctx<'_>) -> StoreResult<T> + Send + 'static,
{
    fn durability(&self) -> Durability {
        self.durability
    }

    fn run(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Some(f) = self.f.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| f(ctx))).unwrap_or_else(|_| {
            Err(StoreError::Storage(
                "a task hub request panicked in the SQLite writer".into(),
            ))
        });
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn reply(self: Box<Self>, batch_error: Option<&StoreError>) {
        let result = match (self.result, batch_error) {
            // A failed request wrote nothing either way; its own error is the better answer.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), None) => Ok(value),
            (_, Some(e)) => Err(StoreError::Storage(format!(
                "the transaction was not committed: {e}"
            ))),
            (None, None) => Err(StoreError::Storage("the request was not run".into())),
        };
        // The caller may have given up waiting; that is fine.
        let _ = self.reply_to.send(result);
    }
}

/// The writer loop: runs until every sender is gone and the queue is empty.
///
/// `synchronous_full` is the configured level for batches with [`Durability::Full`] requests.
pub(crate) fn run(
    conn: Connection,
    jobs: Receiver<Box<dyn Job>>,
    signals: Arc<WorkSignals>,
    synchronous_full: bool,
) {
    // The connection was opened with the configured level.
    let mut full_now = synchronous_full;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let full = synchronous_full && batch.iter().any(|job| job.durability() == Durability::Full);
        if full != full_now {
            // Not a cached statement: SQLite applies a PRAGMA when it is prepared.
            let level = if full { "FULL" } else { "NORMAL" };
            if let Err(e) = conn.pragma_update(None, "synchronous", level).db() {
                for job in batch {
                    job.reply(Some(&e));
                }
                continue;
            }
            full_now = full;
        }
        run_batch(&conn, &signals, batch);
    }
}

/// Runs one batch in one transaction and replies to every request.
fn run_batch(conn: &Connection, signals: &WorkSignals, mut batch: Vec<Box<dyn Job>>) {
    let outcome = exec(conn, "BEGIN IMMEDIATE")
        .and_then(|()| run_jobs(conn, &mut batch))
        .and_then(|wake| exec(conn, "COMMIT").map(|()| wake));
    match outcome {
        Ok(wake) => {
            if wake.orchestrations {
                signals.orchestrations.notify_one();
            }
            if wake.activities {
                signals.activities.notify_one();
            }
            for job in batch {
                job.reply(None);
            }
        }
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            tracing::warn!(error = %e, requests = batch.len(), "task hub batch failed");
            for job in batch {
                job.reply(Some(&e));
            }
        }
    }
}

/// Which dispatchers to wake after the commit.
#[derive(Default)]
struct Wake {
    orchestrations: bool,
    activities: bool,
}

/// Runs each job in its own savepoint; an error here means the transaction is unusable.
fn run_jobs(conn: &Connection, batch: &mut [Box<dyn Job>]) -> StoreResult<Wake> {
    let mut wake = Wake::default();
    for job in batch.iter_mut() {
        exec(conn, "SAVEPOINT request")?;
        let mut ctx = Ctx {
            conn,
            now: to_ticks(&time::now()),
            notify_orchestrations: false,
            notify_activities: false,
        };
        let ok = job.run(&mut ctx);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error...).
            return Err(StoreError::Storage("SQLite aborted the transaction".into()));
        }
        if ok {
            wake.orchestrations |= ctx.notify_orchestrations;
            wake.activities |= ctx.notify_activities;
        } else {
            exec(conn, "ROLLBACK TO request")?;
        }
        exec(conn, "RELEASE request")?;
    }
    Ok(wake)
}

/// Executes a parameterless control statement through the statement cache.
fn exec(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql).db()?.execute([]).db()?;
    Ok(())
}
