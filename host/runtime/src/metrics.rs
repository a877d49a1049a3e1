//! The runtime's metrics, in a Prometheus registry the host serves at `/admin/metrics`:
//! orchestrations started and finished, episode, activity and commit durations, entity
//! operations, batch sizes, and the live cache. Recording is an atomic add or a histogram
//! observation behind a read lock; nothing is exported unless scraped.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::Shared;

/// Labels naming an orchestration.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrchestrationLabels {
    /// The orchestrator's name.
    pub orchestration: String,
}

/// Labels of how an orchestration finished.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FinishedLabels {
    /// The orchestrator's name.
    pub orchestration: String,
    /// `Completed`, `Failed`, `Terminated` or `ContinuedAsNew`.
    pub status: String,
}

/// Labels of an episode.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EpisodeLabels {
    /// The orchestrator's name.
    pub orchestration: String,
    /// The instance's status after the episode.
    pub outcome: String,
}

/// Labels of an activity execution.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActivityLabels {
    /// The activity's name.
    pub activity: String,
    /// `Succeeded` or `Failed`.
    pub outcome: String,
}

/// Labels naming an activity.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActivityNameLabels {
    /// The activity's name.
    pub activity: String,
}

/// Labels naming an entity.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EntityLabels {
    /// The entity's name.
    pub entity: String,
}

/// Labels of a kind of work: `orchestration`, `activity` or `direct` (an activity's answer
/// committed with the episode it wakes).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkLabels {
    /// The kind of work.
    pub work: &'static str,
}

/// The runtime's metrics.
#[derive(Debug)]
pub struct RuntimeMetrics {
    started: Family<OrchestrationLabels, Counter>,
    finished: Family<FinishedLabels, Counter>,
    episodes: Family<EpisodeLabels, Histogram>,
    activities: Family<ActivityLabels, Histogram>,
    deferred: Family<ActivityNameLabels, Counter>,
    entity_operations: Family<EntityLabels, Counter>,
    commits: Family<WorkLabels, Histogram>,
    batches: Family<WorkLabels, Histogram>,
}

/// Durations from 1 ms to about 65 s.
fn durations() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Batch sizes from 1 to 512.
fn sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 10))
}

impl Default for RuntimeMetrics {
    fn default() -> Self {
        RuntimeMetrics {
            started: Family::default(),
            finished: Family::default(),
            episodes: Family::new_with_constructor(durations),
            activities: Family::new_with_constructor(durations),
            deferred: Family::default(),
            entity_operations: Family::default(),
            commits: Family::new_with_constructor(durations),
            batches: Family::new_with_constructor(sizes),
        }
    }
}

impl RuntimeMetrics {
    /// Adds every metric to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry;
        r.register(
            "durable_orchestrations_started",
            "Orchestration instances started, by orchestrator",
            self.started.clone(),
        );
        r.register(
            "durable_orchestrations_finished",
            "Orchestration instances that completed, failed, were terminated or continued as new",
            self.finished.clone(),
        );
        r.register(
            "durable_orchestrator_episode_duration_seconds",
            "Orchestrator episodes run, by orchestrator and the instance's status after it",
            self.episodes.clone(),
        );
        r.register(
            "durable_activity_duration_seconds",
            "Activity executions, by activity and outcome",
            self.activities.clone(),
        );
        r.register(
            "durable_activity_runs_deferred",
            "Runs of a limited activity given back to the task hub because as many as its \
             backlog already waited for their turn on this host, by activity",
            self.deferred.clone(),
        );
        r.register(
            "durable_entity_operations",
            "Entity operations run, by entity",
            self.entity_operations.clone(),
        );
        r.register(
            "durable_store_commit_duration_seconds",
            "Commits of work to the task hub, by kind of work",
            self.commits.clone(),
        );
        r.register(
            "durable_work_item_batch_size",
            "Work items taken from the task hub at once, by kind of work",
            self.batches.clone(),
        );
    }

    pub(crate) fn orchestration_started(&self, orchestration: &str) {
        self.started
            .get_or_create(&OrchestrationLabels {
                orchestration: orchestration.to_owned(),
            })
            .inc();
    }

    pub(crate) fn orchestration_finished(&self, orchestration: &str, status: &str) {
        self.finished
            .get_or_create(&FinishedLabels {
                orchestration: orchestration.to_owned(),
                status: status.to_owned(),
            })
            .inc();
    }

    pub(crate) fn episode(&self, orchestration: &str, outcome: &str, took: Duration) {
        self.episodes
            .get_or_create(&EpisodeLabels {
                orchestration: orchestration.to_owned(),
                outcome: outcome.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn activity(&self, activity: &str, succeeded: bool, took: Duration) {
        let outcome = if succeeded { "Succeeded" } else { "Failed" };
        self.activities
            .get_or_create(&ActivityLabels {
                activity: activity.to_owned(),
                outcome: outcome.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn limited(&self, activity: &str) {
        self.deferred
            .get_or_create(&ActivityNameLabels {
                activity: activity.to_owned(),
            })
            .inc();
    }

    pub(crate) fn entity_operations(&self, entity: &str, operations: usize) {
        self.entity_operations
            .get_or_create(&EntityLabels {
                entity: entity.to_owned(),
            })
            .inc_by(operations as u64);
    }

    pub(crate) fn commit(&self, work: &'static str, took: Duration) {
        self.commits
            .get_or_create(&WorkLabels { work })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn batch(&self, work: &'static str, size: usize) {
        self.batches
            .get_or_create(&WorkLabels { work })
            .observe(size as f64);
    }
}

/// The counters kept as plain atomics and the live cache, read at each scrape.
pub(crate) struct StatsCollector(pub Arc<Shared>);

impl std::fmt::Debug for StatsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatsCollector")
    }
}

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.0.stats;
        let counters = [
            (
                "durable_orchestrator_episodes",
                "Orchestrator episodes committed",
                stats.episodes.load(Ordering::Relaxed),
            ),
            (
                "durable_cache_hits",
                "Episodes run on a cached live execution, without reading history",
                stats.cache_hits.load(Ordering::Relaxed),
            ),
            (
                "durable_replays",
                "Executions rebuilt by replaying their stored history",
                stats.replays.load(Ordering::Relaxed),
            ),
            (
                "durable_direct_episodes",
                "Episodes committed with the activity answer that woke them",
                stats.direct_episodes.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let (entries, bytes) = {
            let cache = self.0.cache.lock();
            (cache.len() as i64, cache.bytes() as i64)
        };
        for (name, help, value) in [
            (
                "durable_cache_executions",
                "Live executions held in the cache",
                entries,
            ),
            (
                "durable_cache_bytes",
                "Bytes the live cache counts against its bound",
                bytes,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
