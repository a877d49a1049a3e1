//! The functions a host knows, by name. Names compare case-insensitively, as in DTFx.

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

/// Orchestrators and activities registered with a host.
#[derive(Clone, Default)]
pub struct Registry {
    orchestrators: HashMap<String, OrchestratorFn>,
    activities: HashMap<String, ActivityFn>,
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

    /// Registers a typed orchestration under its `NAME`.
    pub fn add_orchestration<O: Orchestration>(mut self, orchestration: O) -> Self {
        self.orchestrators
            .insert(O::NAME.to_lowercase(), erase_orchestration(orchestration));
        self
    }

    /// Registers a typed activity under its `NAME`.
    pub fn add_activity<A: Activity>(mut self, activity: A) -> Self {
        self.activities
            .insert(A::NAME.to_lowercase(), erase_activity(activity));
        self
    }

    /// Registers a closure orchestrator `|ctx, input| async move { ... }`.
    pub fn orchestration<I, O, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(OrchestrationContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Failure>> + Send + 'static,
    {
        self.orchestrators
            .insert(name.to_lowercase(), orchestrator_fn(name, f));
        self
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

    /// Registers an already type-erased orchestrator.
    pub fn add_orchestrator_fn(mut self, name: &str, f: OrchestratorFn) -> Self {
        self.orchestrators.insert(name.to_lowercase(), f);
        self
    }

    /// Registers an already type-erased activity.
    pub fn add_activity_fn(mut self, name: &str, f: ActivityFn) -> Self {
        self.activities.insert(name.to_lowercase(), f);
        self
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

    /// The orchestrator registered under `name`.
    pub fn orchestrator(&self, name: &str) -> Option<OrchestratorFn> {
        self.orchestrators.get(&name.to_lowercase()).cloned()
    }

    /// The activity registered under `name`.
    pub fn activity_by_name(&self, name: &str) -> Option<ActivityFn> {
        self.activities.get(&name.to_lowercase()).cloned()
    }

    /// A resolver for the engine.
    pub fn resolver(self: &Arc<Self>) -> Resolver {
        let me = self.clone();
        Arc::new(move |name: &str| me.orchestrator(name))
    }
}
