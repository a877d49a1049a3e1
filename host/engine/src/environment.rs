//! What an execution takes from the runtime that hosts it: its orchestrator functions, where
//! fresh ids come from, and the entity and durable HTTP options.
//!
//! The engine reads no clock, draws no random number and keeps no process-wide setting: the
//! time of an episode is its `now` argument and everything else is here. So an episode's output
//! is a function of its inputs, and two runtimes in one process are independent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use uuid::Uuid;

use super::durable_http::HttpOptions;
use super::entity::EntityOptions;
use super::replay::Resolver;

/// Where the engine gets the ids it makes up: new execution ids (continue-as-new,
/// sub-orchestrations) and the request ids of signals an entity sends.
pub trait IdSource: Send + Sync {
    /// A fresh id, never handed out before by this source.
    fn new_id(&self) -> Uuid;
}

/// Ids counted up from 1: deterministic, for tests and for replays that must repeat exactly.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdSource for SequentialIds {
    fn new_id(&self) -> Uuid {
        Uuid::from_u128(u128::from(self.0.fetch_add(1, Ordering::Relaxed) + 1))
    }
}

/// The environment of an execution (see the module doc).
#[derive(Clone)]
pub struct Environment {
    /// Finds an orchestrator by name.
    pub resolver: Resolver,
    /// Fresh ids.
    pub ids: Arc<dyn IdSource>,
    /// How entities order and batch their messages.
    pub entities: EntityOptions,
    /// How durable HTTP requests poll.
    pub http: HttpOptions,
    /// Distributed tracing: stamp span ids into new events and report the spans episodes
    /// finish ([`crate::trace`]). Off, executions carry and report nothing.
    pub traces: bool,
    /// Which new traces are recorded (an orchestration started without a caller's trace).
    pub sampler: crate::trace::Sampler,
    /// Run the orchestrators' code. Off ([`without_code`](Self::without_code)), an execution
    /// only follows its history and the new messages: what a host does to terminate an
    /// instance whose code it does not have.
    pub run_code: bool,
    /// The orchestrators' code runs in a worker outside this process (the Durable Task
    /// protocol, [`crate::replay::remote`]): history's scheduling events open the slots their
    /// completions fill, and each episode's actions come from the worker. Implies no
    /// `run_code`.
    pub remote: bool,
}

impl Environment {
    /// An environment with the default entity options.
    pub fn new(resolver: Resolver, ids: Arc<dyn IdSource>) -> Self {
        Self {
            resolver,
            ids,
            entities: EntityOptions::default(),
            http: HttpOptions::default(),
            traces: false,
            sampler: crate::trace::Sampler::default(),
            run_code: true,
            remote: false,
        }
    }

    /// The same environment without running any orchestrator code (see `run_code`).
    pub fn without_code(&self) -> Self {
        Self {
            run_code: false,
            ..self.clone()
        }
    }

    /// The same environment for an orchestrator whose code runs in a worker outside this
    /// process (see `remote`).
    pub fn remote(&self) -> Self {
        Self {
            run_code: false,
            remote: true,
            ..self.clone()
        }
    }

    /// The same environment with these durable HTTP options.
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// The same environment with tracing on or off.
    pub fn with_traces(mut self, on: bool) -> Self {
        self.traces = on;
        self
    }

    /// An environment with [`SequentialIds`] and the default entity options: the same inputs
    /// give the same episodes, for tests and replay tools.
    pub fn deterministic(resolver: Resolver) -> Self {
        Self::new(resolver, Arc::new(SequentialIds::default()))
    }

    /// The same environment, but every orchestrator fails at once with `details`: replaying an
    /// instance's history under it ends the instance with that failure without running its
    /// code (a version this host refuses, an orchestrator no host had, a replay check that
    /// found a difference).
    pub fn failing_with(&self, details: crate::history::FailureDetails) -> Self {
        let fails: crate::function::OrchestratorFn = Arc::new(move |_ctx| {
            let details = details.clone();
            Box::pin(async move { Err(crate::failure::Failure(details)) })
        });
        Self {
            resolver: Arc::new(move |_: &str, _: Option<&str>| Some(fails.clone())),
            ..self.clone()
        }
    }

    /// A fresh execution id: a GUID in "N" format (32 lowercase hex chars).
    pub fn new_execution_id(&self) -> String {
        self.ids.new_id().simple().to_string()
    }
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("entities", &self.entities)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// Test histories are built on sequential ids.
#[cfg(test)]
impl From<Resolver> for Environment {
    fn from(resolver: Resolver) -> Self {
        Self::deterministic(resolver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_differ_and_repeat_across_sources() {
        let (a, b) = (SequentialIds::default(), SequentialIds::default());
        let first = a.new_id();
        assert_ne!(first, a.new_id());
        assert_eq!(first, b.new_id());
    }
}
