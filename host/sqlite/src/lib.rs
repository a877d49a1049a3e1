//! The embedded SQLite task hub of Durable Functions for Rust: one database file holds instances, histories and both queues.
//!
//! The file is opened in WAL mode with `synchronous=FULL` (durable by default) and a busy
//! timeout, so several processes may share it. Inside a process every request goes to one
//! writer thread that owns the connection and commits concurrent requests together (see
//! `writer`): many dispatchers committing at once cost one fsync.

#![warn(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;

use durable_engine::history::HistoryEvent;
use durable_engine::message::TaskMessage;
use durable_store::ScheduleStatus;
use durable_store::{
    ActivityWorkItem, Batch, DirectCommit, DirectEpisodes, EpisodeTarget, InstancePage,
    InstanceQuery, InstanceState, InstanceStore, OrchestrationCommit, OrchestrationService,
    OrchestrationWorkItem, OrchestratorMessage, PurgeFilter, StoreError, StoreResult,
    TriggerStateStore, WorkSignals,
};

mod activities;
mod backlog;
mod checkpoint;
mod codec;
mod encode;
mod instances;
mod orchestrations;
mod owners;
mod poison;
mod schema;
mod singletons;
mod syncer;
#[cfg(test)]
mod tests;
mod timers;
mod writer;

use encode::{EncodedCommit, EncodedMessage};
use orchestrations::LockedItem;
use writer::{Call, Ctx, Durability, Job};

/// How a [`SqliteTaskHub`] opens its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// `synchronous=FULL` (default): a commit survives power loss. `false` uses `NORMAL`,
    /// which in WAL mode may lose the last commits on power loss but never corrupts the file.
    pub synchronous_full: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous_full: true,
        }
    }
}

/// A [`TaskHub`](durable_store::TaskHub) in one SQLite database file.
pub struct SqliteTaskHub {
    path: PathBuf,
    requests: Option<Sender<Box<dyn Job>>>,
    writer: Option<JoinHandle<()>>,
    signals: Arc<WorkSignals>,
}

impl SqliteTaskHub {
    /// Opens (creating if needed) the task hub in `path` with the default, durable options.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the task hub in `path`.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open(&path)?;
        let owner = owners::Owner::register(&path)?;
        let (orchestrations, activities) = owners::release_dead(&conn, &path, &owner)?;
        if orchestrations + activities > 0 {
            tracing::info!(
                orchestrations,
                activities,
                "released the locks of task hub owners that are gone"
            );
        }
        let signals = Arc::new(WorkSignals::default());
        let (requests, jobs) = mpsc::channel();
        let writer_signals = Arc::clone(&signals);
        // The connection commits with synchronous=NORMAL; the writer's sync thread fsyncs the
        // log before any reply when durable commits are configured (see `syncer`).
        let wal = options.synchronous_full.then(|| wal_path(&path));
        let logs = [
            syncer::Log::open(wal.as_deref())?,
            syncer::Log::open(wal.as_deref())?,
        ];
        let db = path.clone();
        let writer = std::thread::Builder::new()
            .name("durable-sqlite-writer".into())
            .spawn(move || writer::run(conn, owner, jobs, writer_signals, logs, db))
            .map_err(|e| StoreError::storage(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self {
            path,
            requests: Some(requests),
            writer: Some(writer),
            signals,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer thread, in the next batch transaction.
    async fn call<T, F>(&self, durability: Durability, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Ctx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let stopped = || StoreError::storage("the SQLite writer thread has stopped");
        let (job, reply) = Call::job(durability, f);
        self.requests
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        reply.await.map_err(|_| stopped())?
    }
}

/// The write-ahead log of the database file `path` (SQLite appends `-wal` to the name).
fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

impl fmt::Debug for SqliteTaskHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTaskHub")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Drop for SqliteTaskHub {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and close the file.
        drop(self.requests.take());
        if let Some(writer) = self.writer.take() {
            if writer.thread().id() != std::thread::current().id() {
                let _ = writer.join();
            }
        }
    }
}

#[async_trait]
impl InstanceStore for SqliteTaskHub {
    async fn create_instance(&self, start: TaskMessage) -> StoreResult<()> {
        let encoded = EncodedMessage::orchestration(&OrchestratorMessage {
            visible_at: match &start.event.kind {
                durable_engine::history::EventKind::ExecutionStarted(s) => s.scheduled_start_time,
                _ => None,
            },
            message: start.clone(),
        })?;
        self.call(Durability::Full, move |ctx| {
            orchestrations::create_instance(ctx, &start, &encoded)
        })
        .await
        .map_err(|e| e.during("create_instance"))
    }

    async fn send_message(&self, message: OrchestratorMessage) -> StoreResult<()> {
        let message = EncodedMessage::orchestration(&message)?;
        self.call(Durability::Full, move |ctx| {
            orchestrations::enqueue(ctx, &message)
        })
        .await
        .map_err(|e| e.during("send_message"))
    }

    async fn get_instance(&self, instance_id: &str) -> StoreResult<Option<InstanceState>> {
        let instance_id = instance_id.to_owned();
        self.call(Durability::Relaxed, move |ctx| {
            codec::load_instance(ctx.conn, &instance_id)
        })
        .await
        .map_err(|e| e.during("get_instance"))
    }

    async fn get_history(&self, instance_id: &str) -> StoreResult<Vec<HistoryEvent>> {
        let instance_id = instance_id.to_owned();
        self.call(Durability::Relaxed, move |ctx| {
            instances::history(ctx.conn, &instance_id)
        })
        .await
        .map_err(|e| e.during("get_history"))
    }

    async fn query_instances(&self, query: &InstanceQuery) -> StoreResult<InstancePage> {
        let query = query.clone();
        self.call(Durability::Relaxed, move |ctx| {
            instances::query(ctx.conn, &query)
        })
        .await
        .map_err(|e| e.during("query_instances"))
    }

    fn lists_newest_first(&self) -> bool {
        true
    }

    fn counts_cheaply(&self) -> bool {
        true
    }

    async fn count_instances(
        &self,
        query: &InstanceQuery,
    ) -> StoreResult<std::collections::BTreeMap<durable_engine::history::OrchestrationStatus, u64>>
    {
        let query = query.clone();
        self.call(Durability::Relaxed, move |ctx| {
            instances::count(ctx.conn, &query)
        })
        .await
        .map_err(|e| e.during("count_instances"))
    }

    async fn purge_instance(&self, instance_id: &str) -> StoreResult<bool> {
        let instance_id = instance_id.to_owned();
        self.call(Durability::Full, move |ctx| {
            instances::purge(ctx.conn, &instance_id)
        })
        .await
        .map_err(|e| e.during("purge_instance"))
    }

    async fn purge_instances(&self, filter: &PurgeFilter) -> StoreResult<u64> {
        let filter = filter.clone();
        self.call(Durability::Full, move |ctx| {
            instances::purge_matching(ctx.conn, &filter)
        })
        .await
        .map_err(|e| e.during("purge_instances"))
    }
}

#[async_trait]
impl OrchestrationService for SqliteTaskHub {
    async fn create_if_not_exists(&self) -> StoreResult<()> {
        self.call(Durability::Full, |ctx| schema::apply(ctx.conn))
            .await
            .map_err(|e| e.during("create_if_not_exists"))
    }

    async fn lock_orchestrations(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<OrchestrationWorkItem>> {
        self.call(Durability::Relaxed, move |ctx| {
            orchestrations::lock(ctx, max, lock_for)
        })
        .await
        .map_err(|e| e.during("lock_orchestrations"))
    }

    async fn complete_orchestration(
        &self,
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
    ) -> StoreResult<()> {
        self.complete_orchestration_locking(item, commit, (0, Duration::ZERO))
            .await
            .map(drop)
    }

    async fn complete_orchestration_locking(
        &self,
        item: &OrchestrationWorkItem,
        commit: OrchestrationCommit,
        lock: (usize, Duration),
    ) -> StoreResult<Vec<ActivityWorkItem>> {
        let commit = EncodedCommit::of(item, commit)?.locking(lock);
        let item = LockedItem::of(item);
        self.call(Durability::Full, move |ctx| {
            orchestrations::complete(ctx, &item, &commit)
        })
        .await
    }

    async fn abandon_orchestration(
        &self,
        item: &OrchestrationWorkItem,
        delay: Duration,
    ) -> StoreResult<()> {
        let item = LockedItem::of(item);
        self.call(Durability::Relaxed, move |ctx| {
            orchestrations::abandon(ctx, &item, delay)
        })
        .await
        .map_err(|e| e.during("abandon_orchestration"))
    }

    async fn lock_activities(
        &self,
        max: usize,
        lock_for: Duration,
    ) -> StoreResult<Batch<ActivityWorkItem>> {
        self.call(Durability::Relaxed, move |ctx| {
            activities::lock(ctx, max, lock_for)
        })
        .await
        .map_err(|e| e.during("lock_activities"))
    }

    async fn complete_activity(
        &self,
        item: &ActivityWorkItem,
        response: TaskMessage,
    ) -> StoreResult<bool> {
        let id = item.id.raw();
        let response = EncodedMessage::now(&response)?;
        self.call(Durability::Full, move |ctx| {
            activities::complete(ctx, id, &response)
        })
        .await
        .map_err(|e| e.during("complete_activity"))
    }

    async fn abandon_activity(&self, item: &ActivityWorkItem, delay: Duration) -> StoreResult<()> {
        let (id, token) = (item.id.raw(), item.lock_token.clone());
        self.call(Durability::Relaxed, move |ctx| {
            activities::abandon(ctx, id, &token, delay)
        })
        .await
        .map_err(|e| e.during("abandon_activity"))
    }

    async fn renew_activity_lock(
        &self,
        item: &ActivityWorkItem,
        lock_for: Duration,
    ) -> StoreResult<()> {
        let (id, token) = (item.id.raw(), item.lock_token.clone());
        self.call(Durability::Relaxed, move |ctx| {
            activities::renew(ctx, id, &token, lock_for)
        })
        .await
        .map_err(|e| e.during("renew_activity_lock"))
    }

    fn direct_episodes(&self) -> Option<&dyn DirectEpisodes> {
        Some(self)
    }

    fn signals(&self) -> &WorkSignals {
        &self.signals
    }

    async fn backlog(&self) -> StoreResult<durable_store::Backlog> {
        self.call(Durability::Relaxed, |ctx| backlog::read(ctx.conn, ctx.now))
            .await
            .map_err(|e| e.during("backlog"))
    }
}

#[async_trait]
impl TriggerStateStore for SqliteTaskHub {
    async fn load_timer_status(&self, function: &str) -> StoreResult<Option<ScheduleStatus>> {
        let function = function.to_owned();
        self.call(Durability::Relaxed, move |ctx| {
            timers::load(ctx.conn, &function)
        })
        .await
        .map_err(|e| e.during("load_timer_status"))
    }

    async fn save_timer_status(&self, function: &str, status: &ScheduleStatus) -> StoreResult<()> {
        let (function, status) = (function.to_owned(), status.clone());
        self.call(Durability::Full, move |ctx| {
            timers::save(ctx.conn, &function, &status)
        })
        .await
        .map_err(|e| e.during("save_timer_status"))
    }

    async fn lock_singleton(&self, name: &str, period: std::time::Duration) -> StoreResult<bool> {
        let name = name.to_owned();
        let period = i64::try_from(period.as_nanos() / 100).unwrap_or(i64::MAX);
        // A lock lost on power failure is harmless: every holder died with it.
        self.call(Durability::Relaxed, move |ctx| {
            let until = ctx.now.saturating_add(period);
            singletons::lock(ctx.conn, ctx.owner, &name, ctx.now, until)
        })
        .await
        .map_err(|e| e.during("lock_singleton"))
    }

    async fn release_singleton(&self, name: &str) -> StoreResult<()> {
        let name = name.to_owned();
        self.call(Durability::Relaxed, move |ctx| {
            singletons::release(ctx.conn, ctx.owner, &name)
        })
        .await
        .map_err(|e| e.during("release_singleton"))
    }
}

#[async_trait]
impl DirectEpisodes for SqliteTaskHub {
    async fn complete_activity_with_episode(
        &self,
        item: &ActivityWorkItem,
        target: &EpisodeTarget,
        commit: OrchestrationCommit,
        lock: (usize, Duration),
    ) -> StoreResult<DirectCommit> {
        let (id, target) = (item.id.raw(), target.clone());
        let commit = EncodedCommit::with_stored(None, commit)?.locking(lock);
        self.call(Durability::Full, move |ctx| {
            activities::complete_with_episode(ctx, id, &target, &commit)
        })
        .await
    }
}
