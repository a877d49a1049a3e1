//! Dispatchers that run orchestrations and activities against a task hub.
//!
//! [`Runtime::start`] spawns one orchestration dispatcher and one activity dispatcher. Each
//! locks work in batches, runs it with a concurrency limit, and sleeps when idle until a local
//! commit signals new work, the next delayed message (timer) is due, or the idle poll interval
//! passes (for work from other processes).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use durable_client::{Completions, DurableClient};
use durable_engine::durable_http::HttpOptions;
use durable_engine::entity::EntityOptions;
use durable_engine::environment::{Environment, IdSource};
use durable_engine::trace::Tracer;
use durable_engine::version::Versioning;
use durable_store::TaskHub;

mod activities;
pub mod cache;
mod commits;
mod direct;
mod dispatch;
pub mod durable_http;
mod entities;
pub mod execution_log;
mod limits;
pub mod metrics;
mod orchestrations;
pub mod registry;
mod release;
pub mod remote;
mod remote_work;
mod slots;
mod waiting;

pub use activities::{ACTIVITY_NOT_FOUND, CANCELED};
pub use limits::ActivityLimits;
pub use orchestrations::{ORCHESTRATOR_NOT_FOUND, VERSION_MISMATCH};
pub use registry::Registry;

/// The default bound of the live cache's size: 64 MiB of history payloads.
pub const DEFAULT_CACHE_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Tuning of a runtime.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Orchestration episodes run at once.
    pub max_concurrent_orchestrations: usize,
    /// Activities run at once.
    pub max_concurrent_activities: usize,
    /// Live executions kept in memory (0 turns the cache off: every episode replays).
    pub cache_capacity: usize,
    /// The most memory the live executions may hold together, counted as
    /// [`cache::LIVE_COPIES`] times the payloads of their histories (inputs, results, event
    /// data); the least recently used go first, and one larger than this is not kept (it
    /// replays each episode instead).
    pub cache_max_bytes: usize,
    /// How long an orchestration work item stays locked to this worker.
    pub orchestration_lock: Duration,
    /// How long an activity stays locked before another worker may take it over (renewed while
    /// the activity runs).
    pub activity_lock: Duration,
    /// Longest idle sleep: how soon work enqueued by another process is noticed.
    pub idle_poll_interval: Duration,
    /// Most work items locked per store call.
    pub batch_size: usize,
    /// How long shutdown waits for in-flight work.
    pub shutdown_deadline: Duration,
    /// How entities order and batch their messages (host.json `maxEntityOperationBatchSize`,
    /// `entityMessageReorderWindowInMinutes`).
    pub entities: EntityOptions,
    /// Where spans go (distributed tracing); off by default.
    pub tracer: Tracer,
    /// The version new instances get, and which instance versions this host runs (host.json
    /// `defaultVersion`, `versionMatchStrategy`, `versionFailureStrategy`).
    pub versioning: Versioning,
    /// How long this host holds back work for an orchestrator, orchestration version or
    /// activity it does not have (leaving it for a host that has it) before failing it
    /// (host.json `missingFunctionTimeout`).
    pub missing_function_timeout: Duration,
    /// Also run every episode on an execution replayed from the stored history and fail the
    /// instance if the two disagree: catches orchestrator code that is not deterministic on
    /// its first run instead of after a restart. For development; it costs a history read and
    /// a replay per episode.
    pub replay_check: bool,
    /// How long one run of an activity may take before it is cancelled, by activity name
    /// (lower case), for calls that name no timeout (host.json
    /// `extensions.durableTask.activities.<name>.timeout`).
    pub activity_timeouts: std::collections::HashMap<String, Duration>,
    /// Limits of activities on this host by activity name (lower case), each one overriding
    /// the same limit given at registration (host.json
    /// `extensions.durableTask.activities.<name>.maxConcurrent` / `.maxPerSecond`).
    pub activity_limits: std::collections::HashMap<String, ActivityLimits>,
    /// How durable HTTP requests poll `202` answers (host.json
    /// `extensions.durableTask.httpSettings`).
    pub http: HttpOptions,
    /// Workers outside this process that run the orchestrators and activities this host has
    /// no Rust function for (the Durable Task protocol); none by default.
    pub workers: Option<remote::Workers>,
}

impl RuntimeOptions {
    /// The host's timeout for runs of the activity `name`, if it has one.
    pub fn activity_timeout(&self, name: &str) -> Option<Duration> {
        if self.activity_timeouts.is_empty() {
            return None;
        }
        self.activity_timeouts.get(&name.to_lowercase()).copied()
    }
}

/// The default of [`RuntimeOptions::missing_function_timeout`]: an hour, longer than a
/// rolling deploy takes.
pub const DEFAULT_MISSING_FUNCTION_TIMEOUT: Duration = Duration::from_secs(3600);

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            max_concurrent_orchestrations: 256,
            max_concurrent_activities: 256,
            cache_capacity: 10_000,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            orchestration_lock: Duration::from_secs(60),
            activity_lock: Duration::from_secs(300),
            idle_poll_interval: Duration::from_secs(1),
            batch_size: 128,
            shutdown_deadline: Duration::from_secs(30),
            entities: EntityOptions::default(),
            tracer: Tracer::default(),
            versioning: Versioning::default(),
            missing_function_timeout: DEFAULT_MISSING_FUNCTION_TIMEOUT,
            replay_check: false,
            activity_timeouts: std::collections::HashMap::new(),
            activity_limits: std::collections::HashMap::new(),
            http: HttpOptions::default(),
            workers: None,
        }
    }
}

/// Counters of what the runtime did.
#[derive(Debug, Default)]
pub struct RuntimeStats {
    /// Orchestration episodes committed.
    pub episodes: AtomicU64,
    /// Executions rebuilt by replaying stored history (cache misses with history).
    pub replays: AtomicU64,
    /// Episodes served by a cached live execution.
    pub cache_hits: AtomicU64,
    /// Activities completed (successfully or not).
    pub activities: AtomicU64,
    /// Episodes committed together with the activity answer that woke them (part of `episodes`).
    pub direct_episodes: AtomicU64,
    /// Runs of limited activities given back to the task hub to come back later (their
    /// backlog on this host was full).
    pub deferred_runs: AtomicU64,
}

impl RuntimeStats {
    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// State shared by the dispatchers.
pub(crate) struct Shared {
    pub store: Arc<dyn TaskHub>,
    pub registry: Arc<Registry>,
    /// What every execution of this runtime is given: its orchestrators, ids, entity options.
    pub env: Environment,
    pub options: RuntimeOptions,
    pub cache: Mutex<cache::ExecutionCache>,
    pub stats: RuntimeStats,
    pub metrics: metrics::RuntimeMetrics,
    /// Activity slots (`max_concurrent_activities`), shared by the activity dispatcher and the
    /// activity requests a commit hands back locked.
    pub activity_slots: Arc<Semaphore>,
    /// Wakes the clients waiting for an instance that reached a terminal status on this host,
    /// and cancels the instance's activities running here.
    pub completions: Arc<Completions>,
    /// Work held back for a host that has its function.
    pub waiting: waiting::Waiting,
    /// The limits of limited activities.
    pub gates: limits::Gates,
}

/// How long a work item whose store call failed waits before it is tried again: a moment
/// when the failure may pass, longer when it will not, so that a broken item does not spin.
pub(crate) fn retry_after(e: &durable_store::StoreError) -> Duration {
    if e.is_retryable() {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(30)
    }
}

/// A running set of dispatchers over one task hub.
pub struct Runtime {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    loops: Vec<JoinHandle<()>>,
    registry: Arc<prometheus_client::registry::Registry>,
}

impl Runtime {
    /// Starts the dispatchers. The store's schema is created if missing. The built-in HTTP
    /// activity of durable HTTP requests is added to `registry` (see [`durable_http`]).
    pub async fn start(
        store: Arc<dyn TaskHub>,
        registry: Registry,
        options: RuntimeOptions,
    ) -> Result<Self, durable_store::StoreError> {
        store.create_if_not_exists().await?;
        let activity_slots = Arc::new(Semaphore::new(options.max_concurrent_activities.max(1)));
        let gates = limits::Gates::new(
            &effective_limits(&registry, &options),
            options.max_concurrent_activities,
        );
        let registry = Arc::new(durable_http::with_http_activity(registry));
        let env = Environment {
            resolver: registry.resolver(),
            ids: Arc::new(RandomIds),
            entities: options.entities,
            http: options.http,
            traces: options.tracer.is_on(),
            sampler: options.tracer.sampler(),
            run_code: true,
            remote: false,
        };
        let shared = Arc::new(Shared {
            store,
            registry,
            env,
            cache: Mutex::new(cache::ExecutionCache::new(
                options.cache_capacity,
                options.cache_max_bytes,
            )),
            options,
            stats: RuntimeStats::default(),
            metrics: metrics::RuntimeMetrics::default(),
            completions: Arc::new(Completions::default()),
            activity_slots,
            waiting: waiting::Waiting::default(),
            gates,
        });
        // Before the dispatchers take any of it.
        log_waiting_work(&*shared.store).await;
        let (shutdown, rx) = watch::channel(false);
        let loops = vec![
            tokio::spawn(orchestrations::dispatch(shared.clone(), rx.clone())),
            tokio::spawn(activities::dispatch(shared.clone(), rx)),
        ];
        tracing::info!("durable runtime started");
        let mut registry = prometheus_client::registry::Registry::default();
        shared.metrics.register(&mut registry);
        registry.register_collector(Box::new(metrics::StatsCollector(shared.clone())));
        Ok(Self {
            shared,
            shutdown,
            loops,
            registry: Arc::new(registry),
        })
    }

    /// A client bound to this runtime's task hub, woken by local completions.
    pub fn client(&self) -> DurableClient {
        DurableClient::with_completions(self.shared.store.clone(), self.shared.completions.clone())
            .with_entity_options(self.shared.options.entities)
            .with_tracer(self.shared.options.tracer.clone())
            .with_default_version(self.shared.options.versioning.default_version.as_deref())
    }

    /// The counters.
    pub fn stats(&self) -> &RuntimeStats {
        &self.shared.stats
    }

    /// The runtime's metrics, for a Prometheus endpoint
    /// (`prometheus_client::encoding::prometheus_text::encode`).
    pub fn metrics(&self) -> Arc<prometheus_client::registry::Registry> {
        self.registry.clone()
    }

    /// Stops taking work, waits for in-flight work and for the store to hand back what it
    /// holds, together no longer than the shutdown deadline, and returns. Whatever is left
    /// is recovered by lock expiry.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let store = self.shared.store.clone();
        let aborts: Vec<_> = self.loops.iter().map(|l| l.abort_handle()).collect();
        let stopping = async {
            for l in self.loops {
                let _ = l.await;
            }
            store.shutdown().await;
        };
        if tokio::time::timeout(self.shared.options.shutdown_deadline, stopping)
            .await
            .is_err()
        {
            // Nothing of this runtime goes on running after it says it stopped.
            aborts.iter().for_each(|a| a.abort());
            tracing::warn!(
                "the runtime did not stop within the shutdown deadline; what it still holds \
                 is recovered when its locks and leases expire"
            );
        }
        tracing::info!("durable runtime stopped");
    }
}

/// Says how much work was waiting in the task hub when this runtime started: after a crash
/// or a restart, the instances and activities it resumes (those locked by a process that is
/// gone run once their locks expire; the embedded store frees them at once).
async fn log_waiting_work(store: &dyn TaskHub) {
    match store.backlog().await {
        Ok(backlog) => {
            let orchestration_messages = backlog.control_messages();
            let activity_requests = backlog.work_items.messages;
            if orchestration_messages + activity_requests > 0 {
                tracing::info!(
                    orchestration_messages,
                    activity_requests,
                    "resuming the work waiting in the task hub"
                );
            }
        }
        Err(e) => tracing::debug!(error = %e, "could not read the task hub's backlog at start"),
    }
}

/// The limits of each activity: those it was registered with, each overridden by the same
/// limit in the options (host.json).
pub fn effective_limits(
    registry: &Registry,
    options: &RuntimeOptions,
) -> std::collections::HashMap<String, ActivityLimits> {
    let mut limits = registry.all_activity_limits().clone();
    for (name, over) in &options.activity_limits {
        let base = limits.get(name).copied().unwrap_or_default();
        limits.insert(name.clone(), base.overridden_by(*over));
    }
    limits
}

/// Ids drawn at random (UUIDv4), as DTFx draws its GUIDs.
struct RandomIds;

impl IdSource for RandomIds {
    fn new_id(&self) -> uuid::Uuid {
        uuid::Uuid::new_v4()
    }
}
