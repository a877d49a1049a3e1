//! What the trigger attributes submit, and how a host collects it.
//!
//! Each `#[..._trigger]` function expands to an `inventory::submit!` of a
//! [`FunctionRegistration`]; [`FunctionApp::collect`] gathers them when the host starts, so
//! adding a function never touches another file.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use http::Method;
use serde::{Deserialize, Serialize};

use durable_store::ScheduleStatus;

use super::blob::BlobFunction;
use super::operation::HttpOperation;
use super::queue::QueueFunction;
use durable_client::DurableClient;
use durable_engine::entity::EntityFn;
use durable_engine::failure::Failure;
use durable_engine::function::{ActivityFn, OrchestratorFn};
use durable_engine::version::same_version;
use durable_http::{HttpRequest, HttpResponse};
use durable_runtime::{ActivityLimits, Registry};

/// One function, as submitted by a trigger attribute.
pub struct FunctionRegistration {
    /// The function name (the Rust name unless overridden with `name = "..."`).
    pub name: &'static str,
    /// Builds the function's binding; called once at start-up.
    pub make: fn() -> FunctionKind,
}

inventory::collect!(FunctionRegistration);

/// A function with its trigger.
pub enum FunctionKind {
    /// `#[orchestration_trigger]`.
    Orchestrator(OrchestratorFn),
    /// `#[orchestration_trigger(version = "...")]`: the implementation for one version.
    VersionedOrchestrator {
        /// The instance version it runs.
        version: &'static str,
        /// The orchestrator.
        function: OrchestratorFn,
    },
    /// `#[activity_trigger]`.
    Activity(ActivityFn),
    /// `#[activity_trigger(max_concurrent = .., max_per_second = ..)]`: an activity with
    /// limits on each host.
    LimitedActivity {
        /// The activity.
        function: ActivityFn,
        /// Its limits (host.json settings override them one by one).
        limits: ActivityLimits,
    },
    /// `#[http_trigger]`.
    Http(HttpFunction),
    /// `#[timer_trigger]`.
    Timer(TimerFunction),
    /// `#[entity_trigger]`.
    Entity(EntityFn),
    /// `#[queue_trigger]`.
    Queue(QueueFunction),
    /// `#[blob_trigger]`.
    Blob(BlobFunction),
}

impl FunctionKind {
    /// The trigger's name, as the start-up banner shows it.
    pub fn trigger(&self) -> &'static str {
        match self {
            FunctionKind::Orchestrator(_) | FunctionKind::VersionedOrchestrator { .. } => {
                "orchestrationTrigger"
            }
            FunctionKind::Activity(_) | FunctionKind::LimitedActivity { .. } => "activityTrigger",
            FunctionKind::Http(_) => "httpTrigger",
            FunctionKind::Timer(_) => "timerTrigger",
            FunctionKind::Entity(_) => "entityTrigger",
            FunctionKind::Queue(_) => "queueTrigger",
            FunctionKind::Blob(_) => "blobTrigger",
        }
    }
}

/// Who may call an HTTP function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthLevel {
    /// No key needed.
    Anonymous,
    /// A function key or the host/master key.
    Function,
    /// The master key.
    Admin,
}

/// Bindings available to trigger functions besides their trigger.
#[derive(Clone)]
pub struct FunctionContext {
    /// The `#[durable_client]` binding.
    pub client: DurableClient,
    /// The function's name.
    pub function_name: Arc<str>,
}

/// An HTTP function's handler.
pub type HttpHandler =
    Arc<dyn Fn(HttpRequest, FunctionContext) -> BoxFuture<'static, HttpResponse> + Send + Sync>;

/// `#[http_trigger(methods = ..., route = ..., auth_level = ...)]`.
#[derive(Clone)]
pub struct HttpFunction {
    /// Accepted methods; empty accepts any.
    pub methods: Vec<Method>,
    /// Route template under `/api/`, e.g. `weather-results/{requestId}`.
    pub route: String,
    /// Who may call it.
    pub auth_level: AuthLevel,
    /// What the OpenAPI document says about it.
    pub operation: HttpOperation,
    /// The handler.
    pub handler: HttpHandler,
}

/// A timer function's handler.
pub type TimerHandler = Arc<
    dyn Fn(TimerInfo, FunctionContext) -> BoxFuture<'static, Result<(), Failure>> + Send + Sync,
>;

/// `#[timer_trigger(schedule = "...", run_on_startup = ...)]`.
#[derive(Clone)]
pub struct TimerFunction {
    /// Six-field NCRONTAB expression (`sec min hour day month day-of-week`).
    pub schedule: String,
    /// Also run once when the host starts.
    pub run_on_startup: bool,
    /// The handler.
    pub handler: TimerHandler,
}

/// What a timer function learns about its invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimerInfo {
    /// True when this run is late: its scheduled time passed while the host was down.
    pub is_past_due: bool,
    /// The persisted schedule status.
    pub schedule_status: Option<ScheduleStatus>,
}

/// Problems with the set of registered functions.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Two functions share a name (names compare case-insensitively).
    #[error("two functions are named {0:?}; function names must be unique")]
    DuplicateName(String),
    /// Two implementations of one orchestration name are registered for one version.
    #[error(
        "two implementations of orchestration {name:?} are registered for version {version:?}"
    )]
    DuplicateVersion {
        /// The orchestration name.
        name: String,
        /// The version.
        version: String,
    },
}

/// Every function of the app, by kind.
#[derive(Clone, Default)]
pub struct FunctionApp {
    /// Orchestrators and activities, for the runtime.
    pub registry: Registry,
    /// HTTP functions by name.
    pub http: Vec<(String, HttpFunction)>,
    /// Timer functions by name.
    pub timers: Vec<(String, TimerFunction)>,
    /// Queue functions by name.
    pub queues: Vec<(String, QueueFunction)>,
    /// Blob functions by name.
    pub blobs: Vec<(String, BlobFunction)>,
    /// Every function name with its trigger, in registration order (for the banner).
    pub functions: Vec<(String, &'static str)>,
}

impl FunctionApp {
    /// Collects every function registered by the trigger attributes in the binary.
    pub fn collect() -> Result<Self, AppError> {
        let mut regs: Vec<&FunctionRegistration> = inventory::iter::<FunctionRegistration>
            .into_iter()
            .collect();
        regs.sort_by_key(|r| r.name);
        let mut app = FunctionApp::default();
        for r in regs {
            app.add(r.name, (r.make)())?;
        }
        Ok(app)
    }

    /// Adds one function. Several implementations of one orchestration name may be added, one
    /// per version and one without.
    pub fn add(&mut self, name: &str, kind: FunctionKind) -> Result<(), AppError> {
        let version = match &kind {
            FunctionKind::Orchestrator(_) => Some(None),
            FunctionKind::VersionedOrchestrator { version, .. } => Some(Some(*version)),
            _ => None,
        };
        let taken = |(n, _): &&(String, &'static str)| n.eq_ignore_ascii_case(name);
        if let Some(existing) = self.functions.iter().find(taken) {
            let another_version = version.is_some_and(|v| {
                existing.1 == kind.trigger()
                    && !self
                        .registry
                        .orchestrator_versions(name)
                        .iter()
                        .any(|w| same_version(w.as_deref(), v))
            });
            if !another_version {
                return Err(match version {
                    Some(Some(v)) if existing.1 == kind.trigger() => AppError::DuplicateVersion {
                        name: name.to_string(),
                        version: v.to_string(),
                    },
                    _ => AppError::DuplicateName(name.to_string()),
                });
            }
        } else {
            self.functions.push((name.to_string(), kind.trigger()));
        }
        match kind {
            FunctionKind::Orchestrator(f) => {
                self.registry = std::mem::take(&mut self.registry).add_orchestrator_fn(name, f)
            }
            FunctionKind::VersionedOrchestrator { version, function } => {
                self.registry = std::mem::take(&mut self.registry).add_orchestrator_version(
                    name,
                    Some(version),
                    function,
                )
            }
            FunctionKind::Activity(f) => {
                self.registry = std::mem::take(&mut self.registry).add_activity_fn(name, f)
            }
            FunctionKind::LimitedActivity { function, limits } => {
                self.registry = std::mem::take(&mut self.registry)
                    .add_activity_fn(name, function)
                    .limit_activity(name, limits)
            }
            FunctionKind::Http(f) => self.http.push((name.to_string(), f)),
            FunctionKind::Timer(f) => self.timers.push((name.to_string(), f)),
            FunctionKind::Entity(f) => {
                self.registry = std::mem::take(&mut self.registry).add_entity_fn(name, f)
            }
            FunctionKind::Queue(f) => self.queues.push((name.to_string(), f)),
            FunctionKind::Blob(f) => self.blobs.push((name.to_string(), f)),
        }
        Ok(())
    }

    /// Looks up an HTTP function by name.
    pub fn http_function(&self, name: &str) -> Option<&HttpFunction> {
        self.http
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| f)
    }

    /// Names of functions by trigger, for quick lookups.
    pub fn names_by_trigger(&self) -> HashMap<&'static str, Vec<&str>> {
        let mut m: HashMap<&'static str, Vec<&str>> = HashMap::new();
        for (n, t) in &self.functions {
            m.entry(*t).or_default().push(n);
        }
        m
    }
}
