//! Distributed tracing, the engine's part: trace context in history (where Durable Functions
//! keeps it) and the spans an orchestration's episodes finish.
//!
//! Spans follow the Durable Task conventions: `create_orchestration:{name}` (producer) when a
//! client starts an instance, `orchestration:{name}` (server) for the execution,
//! `activity:{name}` as a client span in the orchestration and a server span where the
//! activity runs, `orchestration:{name}` (client) for a sub-orchestration call,
//! `orchestration:{name}:timer` (internal) for a durable timer and `orchestration_event:{name}`
//! (producer) for a raised event. Attributes are `durabletask.type`, `durabletask.task.name`,
//! `durabletask.task.instance_id`, `durabletask.task.execution_id`, `durabletask.task.task_id`
//! and `durabletask.task.status`.
//!
//! An orchestration's spans are made after the fact, from history, once: the span ids are
//! written into the events that start them (the orchestration's own in `ExecutionStarted`, an
//! activity call's in `TaskScheduled`, a sub-orchestration call's in
//! `SubOrchestrationInstanceCreated`), and a span is reported only by the episode that records
//! its end as a new event. A replay, or another host taking the instance over, reads the same
//! ids and reports nothing twice.

pub mod context;
pub(crate) mod orchestration;
pub mod sampler;
pub mod span;

pub use context::{SpanContext, SpanId, TraceId};
pub use sampler::Sampler;
pub use span::{span_id_from, trace_id_from, AttrValue, SpanKind, SpanRecord, SpanSink, Tracer};

/// `durabletask.type`.
pub const TYPE: &str = "durabletask.type";
/// `durabletask.task.name`.
pub const TASK_NAME: &str = "durabletask.task.name";
/// `durabletask.task.version`.
pub const TASK_VERSION: &str = "durabletask.task.version";
/// `durabletask.task.instance_id`.
pub const INSTANCE_ID: &str = "durabletask.task.instance_id";
/// `durabletask.task.execution_id`.
pub const EXECUTION_ID: &str = "durabletask.task.execution_id";
/// `durabletask.task.task_id`.
pub const TASK_ID: &str = "durabletask.task.task_id";
/// `durabletask.task.status`.
pub const STATUS: &str = "durabletask.task.status";
/// `durabletask.fire_at`.
pub const FIRE_AT: &str = "durabletask.fire_at";
/// `durabletask.event.name`.
pub const EVENT_NAME: &str = "durabletask.event.name";
/// `durabletask.event.instance_id`.
pub const EVENT_INSTANCE_ID: &str = "durabletask.event.instance_id";
