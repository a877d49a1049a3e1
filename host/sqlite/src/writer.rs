//! The writer thread: group commit of concurrent requests.
//!
//! One thread owns the connection. Requests arrive over a channel; the thread takes the first
//! one, drains everything else already queued (up to [`MAX_BATCH`]) and runs the whole batch in
//! one `BEGIN IMMEDIATE … COMMIT` transaction. The batch first runs without savepoints (a
//! savepoint per request copies every page it touches into a statement journal, which cost
//! ~14 % of the writer's CPU); if any request fails, the transaction is rolled back and the
//! batch re-run with one `SAVEPOINT` per request, so `ROLLBACK TO` undoes exactly the failed
//! request's writes and the others still commit.
//!
//! The `COMMIT` itself does not wait for the disk: the hand-off to the [`syncer`] thread does.
//! That thread fsyncs the write-ahead log once for everything committed since its last sync and
//! only then replies, so every acknowledged write is durable, while the writer thread already
//! runs the next batch (see `docs/decisions/0007-sqlite-pipelined-group-commit.md`). Replies go
//! out in commit order, so a read or lock is never answered before the writes it saw are durable.
//! When nothing is queued behind a batch and the sync thread has answered everything before it,
//! the writer syncs and answers the batch itself: a lone caller (one chain step after another)
//! then does not pay the hand-off to the sync thread and its wake-up (decision 0012).
//!
//! Requests whose loss on power failure is harmless (locks, renewals, abandons, reads) are
//! marked [`Durability::Relaxed`]; a batch made only of those needs no fsync of its own.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::checkpoint::{Checkpoint, IDLE};
use super::codec::{to_ticks, SqlResultExt};
use super::owners::Owner;
use super::syncer::{self, Log, Settled};
use durable_store::clock;
use durable_store::{StoreError, StoreResult, WorkSignals};

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
    /// The connection, inside the batch transaction (and maybe the request's savepoint).
    pub conn: &'c Connection,
    /// The request's clock, 100 ns ticks since the epoch.
    pub now: i64,
    /// Set when the request made orchestration messages available.
    pub notify_orchestrations: bool,
    /// Set when the request made activity requests available.
    pub notify_activities: bool,
    /// This hub as the owner of the locks it hands out.
    pub owner: &'c Owner,
}

/// A request queued for the writer thread.
pub(crate) trait Job: Send {
    /// Whether the request's commit must be synced.
    fn durability(&self) -> Durability;
    /// Runs the request; true if it succeeded. May run again (from scratch) when its batch is
    /// re-run after another request failed; only the last run's result is replied.
    fn run(&mut self, ctx: &mut Ctx<'_>) -> bool;
    /// Sends the reply; `batch_error` is set when the batch did not commit.
    fn reply(self: Box<Self>, batch_error: Option<&StoreError>);
}

/// A closure with the channel for its result.
pub(crate) struct Call<T, F> {
    durability: Durability,
    f: F,
    result: Option<StoreResult<T>>,
    reply_to: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Call<T, F>
where
    T: Send + 'static,
    F: FnMut(&mut Ctx<'_>) -> StoreResult<T> + Send + 'static,
{
    /// A job running `f`, and the receiver of its result.
    pub(crate) fn job(
        durability: Durability,
        f: F,
    ) -> (Box<dyn Job>, oneshot::Receiver<StoreResult<T>>) {
        let (reply_to, rx) = oneshot::channel();
        let job = Self {
            durability,
            f,
            result: None,
            reply_to,
        };
        (Box::new(job), rx)
    }
}

impl<T, F> Job for Call<T, F>
where
    T: Send + 'static,
    F: FnMut(&mut Ctx<'_>) -> StoreResult<T> + Send + 'static,
{
    fn durability(&self) -> Durability {
        self.durability
    }

    fn run(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let f = &mut self.f;
        let result = catch_unwind(AssertUnwindSafe(|| f(ctx))).unwrap_or_else(|_| {
            Err(StoreError::storage(
                "a task hub request panicked in the SQLite writer",
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
            // Retryable when the batch's failure is (a full disk, a busy file).
            (_, Some(e)) => Err(StoreError::Storage {
                operation: None,
                message: format!("the transaction was not committed: {e}"),
                source: None,
                retryable: e.is_retryable(),
            }),
            (None, None) => Err(StoreError::storage("the request was not run")),
        };
        // The caller may have given up waiting; that is fine.
        let _ = self.reply_to.send(result);
    }
}

/// The writer loop: runs until every sender is gone and the queue is empty, then waits for
/// the syncer to answer what is still in flight.
///
/// `logs` are two handles on the write-ahead log, one for the syncer thread and one for
/// batches the writer syncs itself (handles of `synchronous=NORMAL` never sync).
pub(crate) fn run(
    conn: Connection,
    owner: Owner,
    jobs: Receiver<Box<dyn Job>>,
    signals: Arc<WorkSignals>,
    logs: [Log; 2],
    db: std::path::PathBuf,
) {
    let [mut log, syncer_log] = logs;
    let (settled, to_sync) = mpsc::channel();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let syncer_signals = Arc::clone(&signals);
    let syncer_in_flight = Arc::clone(&in_flight);
    let syncer = std::thread::Builder::new()
        .name("durable-wal-sync".into())
        .spawn(move || {
            syncer::run(
                to_sync,
                syncer_log,
                &syncer_signals.failure,
                syncer_in_flight,
            )
        });
    let syncer = match syncer {
        Ok(handle) => handle,
        Err(e) => {
            let e = StoreError::storage(format!("cannot start the SQLite sync thread: {e}"));
            while let Ok(job) = jobs.recv() {
                job.reply(Some(&e));
            }
            return;
        }
    };
    // A request taken from the queue while checking whether it was empty.
    let mut next: Option<Box<dyn Job>> = None;
    let mut checkpoint = Checkpoint::new(&db);
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match jobs.recv_timeout(IDLE) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    checkpoint.when_idle(&conn, &signals.failure);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if let Some(reason) = signals.failure.reason() {
            // Retryable: the host restarts, and the store with it.
            let e = StoreError::Storage {
                operation: None,
                message: format!(
                    "the store refuses further requests until the host restarts: {reason}"
                ),
                source: None,
                retryable: true,
            };
            for job in batch {
                job.reply(Some(&e));
            }
            continue;
        }
        let sync = batch.iter().any(|job| job.durability() == Durability::Full);
        let error = run_batch(&conn, &owner, &signals, &mut batch).err();
        checkpoint.after_batch(&conn, error.as_ref());
        let settled_batch = Settled {
            jobs: batch,
            error,
            sync,
        };
        // Nothing waits behind this batch and every earlier batch is answered: sync and answer
        // it here, sparing a lone caller (a chain step) the hand-off to the sync thread. With
        // more requests queued, the sync thread syncs while this thread runs the next batch.
        if in_flight.load(Ordering::Acquire) == 0 {
            match jobs.try_recv() {
                Ok(job) => next = Some(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                    syncer::settle(vec![settled_batch], &mut log, &signals.failure);
                    continue;
                }
            }
        }
        in_flight.fetch_add(1, Ordering::AcqRel);
        let _ = settled.send(settled_batch);
    }
    drop(settled);
    let _ = syncer.join();
}

/// Runs one batch in one transaction; on success the dispatchers are woken at once (their
/// lock requests are answered after this batch's sync anyway).
fn run_batch(
    conn: &Connection,
    owner: &Owner,
    signals: &WorkSignals,
    batch: &mut [Box<dyn Job>],
) -> StoreResult<()> {
    let outcome = (|| {
        exec(conn, "BEGIN IMMEDIATE")?;
        if let Some(wake) = run_jobs(conn, owner, batch, false)? {
            exec(conn, "COMMIT")?;
            return Ok(wake);
        }
        // A request failed with its writes mixed into the batch's: roll back and, unless it
        // was alone (its error is its reply), run the batch again with a savepoint around each
        // request.
        exec(conn, "ROLLBACK")?;
        if batch.len() == 1 {
            return Ok(Wake::default());
        }
        exec(conn, "BEGIN IMMEDIATE")?;
        let wake = run_jobs(conn, owner, batch, true)?.unwrap_or_default();
        exec(conn, "COMMIT")?;
        Ok(wake)
    })();
    match outcome {
        Ok(wake) => {
            if wake.orchestrations {
                signals.orchestrations.notify_one();
            }
            if wake.activities {
                signals.activities.notify_one();
            }
            Ok(())
        }
        Err(e) => {
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            tracing::warn!(error = %e, requests = batch.len(), "task hub batch failed");
            Err(e)
        }
    }
}

/// Which dispatchers to wake after the commit.
#[derive(Default)]
struct Wake {
    orchestrations: bool,
    activities: bool,
}

/// Runs each job, inside its own savepoint when `savepoints`. Without savepoints, `Ok(None)`
/// means a job failed and the transaction must be rolled back. An error means the transaction
/// is unusable.
fn run_jobs(
    conn: &Connection,
    owner: &Owner,
    batch: &mut [Box<dyn Job>],
    savepoints: bool,
) -> StoreResult<Option<Wake>> {
    let mut wake = Wake::default();
    for job in batch.iter_mut() {
        if savepoints {
            exec(conn, "SAVEPOINT request")?;
        }
        let mut ctx = Ctx {
            conn,
            now: to_ticks(&clock::now()),
            notify_orchestrations: false,
            notify_activities: false,
            owner,
        };
        let ok = job.run(&mut ctx);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error...).
            return Err(StoreError::storage("SQLite aborted the transaction"));
        }
        if ok {
            wake.orchestrations |= ctx.notify_orchestrations;
            wake.activities |= ctx.notify_activities;
        } else if savepoints {
            exec(conn, "ROLLBACK TO request")?;
        } else {
            return Ok(None);
        }
        if savepoints {
            exec(conn, "RELEASE request")?;
        }
    }
    Ok(Some(wake))
}

/// Executes a parameterless control statement through the statement cache.
fn exec(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql).db()?.execute([]).db()?;
    Ok(())
}
