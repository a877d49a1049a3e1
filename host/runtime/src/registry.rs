//! The functions a host knows, by name. Names compare case-insensitively, as in DTFx.
//!
//! An orchestration name may have several implementations, one per version
//! ([`Registry::add_orchestrator_version`]); an instance runs the one registered for its
//! version, else the one registered without a version.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use durable_engine::context::OrchestrationContext;
use durable_engine::entity::EntityFn;
use durable_engine::failure::Failure;
use durable_engine::function::{
    activity_fn, erase_activity, erase_orchestration, orchestrator_fn, Activity, ActivityContext,
    ActivityFn, Orchestration, OrchestratorFn,
};
use durable_engine::replay::Resolver;

use crate::limits::ActivityLimits;
use durable_engine::version::{compare_versions, same_version};

/// The implementations of one orchestration name.
#[derive(Clone, Default)]
struct Implementations {
    /// Serves instances whose version has no implementation of its own.
    unversioned: Option<OrchestratorFn>,
    /// By version, in registration order.
    versions: Vec<(String, OrchestratorFn)>,
}

impl Implementations {
    fn for_version(&self, version: Option<&str>) -> Option<OrchestratorFn> {
        self.versions
            .iter()
            .find(|(v, _)| same_version(Some(v), version))
            .map(|(_, f)| f.clone())
            .or_else(|| self.unversioned.clone())
    }

    fn set(&mut self, version: Option<&str>, f: OrchestratorFn) {
        match version.filter(|v| !v.is_empty()) {
            None => self.unversioned = Some(f),
            Some(v) => {
                self.versions
                    .retain(|(w, _)| !same_version(Some(w), Some(v)));
                self.versions.push((v.to_string(), f));
            }
        }
    }
}

/// Orchestrators and activities registered with a host.
#[derive(Clone, Default)]
pub struct Registry {
    orchestrators: HashMap<String, Implementations>,
    activities: HashMap<String, ActivityFn>,
    /// The limits activities were registered with, by lower-cased name.
    activity_limits: HashMap<String, ActivityLimits>,
    entities: HashMap<String, EntityFn>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "orchestrators",
                &self.orchestrators.keys().collect::<Vec<_>>(),
            )
            .field("activities", &self.activities.keys().collect::<Vec<_>>())
            .field("entities", &self.entities.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a typed orchestration under its `NAME` (and `VERSION`).
    pub fn add_orchestration<O: Orchestration>(self, orchestration: O) -> Self {
        self.add_orchestrator_version(O::NAME, O::VERSION, erase_orchestration(orchestration))
    }

    /// Registers a typed activity under its `NAME`.
    pub fn add_activity<A: Activity>(mut self, activity: A) -> Self {
        self.activities
            .insert(A::NAME.to_lowercase(), erase_activity(activity));
        self
    }

    /// Registers a closure orchestrator `|ctx, input| async move { ... }`.
    pub fn orchestration<I, O, F, Fut>(self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(OrchestrationContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Failure>> + Send + 'static,
    {
        self.add_orchestrator_fn(name, orchestrator_fn(name, f))
    }

    /// Registers a closure activity `|ctx, input| async move { ... }`.
    pub fn activity<I, O, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Failure>> + Send + 'static,
    {
        self.activities
            .insert(name.to_lowercase(), activity_fn(name, f));
        self
    }

    /// Registers an already type-erased orchestrator for instances of any version that has
    /// no implementation of its own.
    pub fn add_orchestrator_fn(self, name: &str, f: OrchestratorFn) -> Self {
        self.add_orchestrator_version(name, None, f)
    }

    /// Registers an already type-erased orchestrator for instances of `version` (`None`: as
    /// [`add_orchestrator_fn`](Self::add_orchestrator_fn)); a second one for the same name
    /// and version replaces the first.
    pub fn add_orchestrator_version(
        mut self,
        name: &str,
        version: Option<&str>,
        f: OrchestratorFn,
    ) -> Self {
        self.orchestrators
            .entry(name.to_lowercase())
            .or_default()
            .set(version, f);
        self
    }

    /// Registers an already type-erased activity.
    pub fn add_activity_fn(mut self, name: &str, f: ActivityFn) -> Self {
        self.activities.insert(name.to_lowercase(), f);
        self
    }

    /// Limits the runs of activity `name` on each host (`#[activity_trigger(max_concurrent =
    /// 5, max_per_second = 100)]`); host.json settings override them one by one.
    pub fn limit_activity(mut self, name: &str, limits: ActivityLimits) -> Self {
        self.activity_limits.insert(name.to_lowercase(), limits);
        self
    }

    /// The limits activity `name` was registered with.
    pub fn activity_limits(&self, name: &str) -> Option<ActivityLimits> {
        self.activity_limits.get(&name.to_lowercase()).copied()
    }

    /// Every activity's registered limits, by lower-cased name.
    pub fn all_activity_limits(&self) -> &HashMap<String, ActivityLimits> {
        &self.activity_limits
    }

    /// Registers an entity function (names are lower-cased, as entity ids are).
    pub fn add_entity_fn(mut self, name: &str, f: EntityFn) -> Self {
        self.entities.insert(name.to_lowercase(), f);
        self
    }

    /// The entity function registered under `name`.
    pub fn entity(&self, name: &str) -> Option<EntityFn> {
        self.entities.get(&name.to_lowercase()).cloned()
    }

    /// The orchestrator that runs instances of `name` with `version`.
    pub fn orchestrator(&self, name: &str, version: Option<&str>) -> Option<OrchestratorFn> {
        self.orchestrators
            .get(&name.to_lowercase())
            .and_then(|i| i.for_version(version))
    }

    /// Whether any implementation of `name` is registered.
    pub fn has_orchestrator(&self, name: &str) -> bool {
        self.orchestrators.contains_key(&name.to_lowercase())
    }

    /// The versions `name` has implementations for, oldest first (`None` for the unversioned
    /// one, first), for messages that say what is missing.
    pub fn orchestrator_versions(&self, name: &str) -> Vec<Option<String>> {
        let Some(i) = self.orchestrators.get(&name.to_lowercase()) else {
            return Vec::new();
        };
        let mut versioned: Vec<&String> = i.versions.iter().map(|(v, _)| v).collect();
        versioned.sort_by(|a, b| compare_versions(Some(a), Some(b)));
        let versioned = versioned.into_iter().map(|v| Some(v.clone()));
        i.unversioned
            .iter()
            .map(|_| None)
            .chain(versioned)
            .collect()
    }

    /// The activity registered under `name`.
    pub fn activity_by_name(&self, name: &str) -> Option<ActivityFn> {
        self.activities.get(&name.to_lowercase()).cloned()
    }

    /// A resolver for the engine.
    pub fn resolver(self: &Arc<Self>) -> Resolver {
        let me = self.clone();
        Arc::new(move |name: &str, version: Option<&str>| me.orchestrator(name, version))
    }
}
