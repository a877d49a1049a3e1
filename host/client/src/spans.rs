//! The spans a client reports: starting an orchestration (`create_orchestration:{name}`) and
//! raising an event (`orchestration_event:{name}`), each a producer span under the caller's
//! span, whose context travels in the message it sends.

use chrono::{DateTime, Utc};

use durable_engine::trace::{self, span_id_from, trace_id_from, SpanContext, SpanKind, SpanRecord};
use durable_store::clock;

use super::DurableClient;

/// A client span begun: its context (to put in the message) and when.
pub(crate) struct Begun {
    pub context: SpanContext,
    start: DateTime<Utc>,
}

impl DurableClient {
    /// A new span under the caller's (or a new trace), when tracing is on. Sampled out, it is
    /// still carried (so that the orchestration it starts is not recorded either), but not
    /// reported.
    pub(crate) fn begin_span(&self) -> Option<Begun> {
        if !self.tracer.is_on() {
            return None;
        }
        let id = uuid::Uuid::new_v4().as_u128();
        let context = self.tracer.begin(
            self.trace_parent.as_ref(),
            trace_id_from(id),
            span_id_from(id.rotate_left(64)),
        );
        Some(Begun {
            context,
            start: clock::now(),
        })
    }

    /// Reports the span of starting `orchestrator` as `instance_id` (failed with `error`).
    pub(crate) fn end_start_span(
        &self,
        begun: Begun,
        orchestrator: &str,
        version: Option<&str>,
        instance_id: &str,
        execution_id: &str,
        error: Option<String>,
    ) {
        let mut span = self
            .span(begun, ["create_orchestration:", orchestrator].concat())
            .attr(trace::TYPE, "orchestration")
            .attr(trace::TASK_NAME, orchestrator.to_owned())
            .attr(trace::INSTANCE_ID, instance_id.to_owned())
            .attr(trace::EXECUTION_ID, execution_id.to_owned());
        if let Some(v) = version {
            span = span.attr(trace::TASK_VERSION, v.to_owned());
        }
        span.error = error;
        self.tracer.record(span);
    }

    /// Reports the span of raising `event` on `instance_id` (failed with `error`).
    pub(crate) fn end_event_span(
        &self,
        begun: Begun,
        event: &str,
        instance_id: &str,
        error: Option<String>,
    ) {
        let mut span = self
            .span(begun, ["orchestration_event:", event].concat())
            .attr(trace::TYPE, "event")
            .attr(trace::EVENT_NAME, event.to_owned())
            .attr(trace::EVENT_INSTANCE_ID, instance_id.to_owned());
        span.error = error;
        self.tracer.record(span);
    }

    fn span(&self, begun: Begun, name: String) -> SpanRecord {
        let parent = self.trace_parent.as_ref().map(|p| p.span_id);
        SpanRecord::new(
            name,
            SpanKind::Producer,
            begun.context,
            parent,
            begun.start,
            clock::now(),
        )
    }
}
