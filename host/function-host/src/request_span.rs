//! The server span of an HTTP request to a function or to the management API, under the
//! caller's W3C `traceparent` (a new trace without one). What the function's durable client
//! starts or raises is traced under it.

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method};

use durable_engine::trace::{span_id_from, trace_id_from, SpanContext, SpanId, SpanKind};
use durable_engine::trace::{SpanRecord, Tracer};
use durable_store::clock;

/// A request's span, begun.
pub(crate) struct RequestSpan {
    context: SpanContext,
    parent: Option<SpanId>,
    start: DateTime<Utc>,
    method: Method,
    route: String,
}

impl RequestSpan {
    /// The span of a request to `route` (the route template), when tracing is on.
    pub fn begin(
        tracer: &Tracer,
        headers: &HeaderMap,
        method: &Method,
        route: String,
    ) -> Option<Self> {
        if !tracer.is_on() {
            return None;
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let parent =
            header("traceparent").and_then(|p| SpanContext::parse(p, header("tracestate")));
        let id = uuid::Uuid::new_v4().as_u128();
        // Unsampled, it still carries the decision to what the handler starts.
        let context = tracer.begin(
            parent.as_ref(),
            trace_id_from(id),
            span_id_from(id.rotate_left(64)),
        );
        Some(Self {
            context,
            parent: parent.map(|p| p.span_id),
            start: clock::now(),
            method: method.clone(),
            route,
        })
    }

    /// Its context: the parent of what the request's handler starts.
    pub fn context(&self) -> SpanContext {
        self.context.clone()
    }

    /// Reports it, answered with `status` for `path`.
    pub fn end(self, tracer: &Tracer, status: u16, path: &str) {
        let mut span = SpanRecord::new(
            [self.method.as_str(), " ", &self.route].concat(),
            SpanKind::Server,
            self.context,
            self.parent,
            self.start,
            clock::now(),
        )
        .attr("http.request.method", self.method.as_str().to_owned())
        .attr("http.route", self.route)
        .attr("url.path", path.to_owned())
        .attr("http.response.status_code", i64::from(status));
        if status >= 500 {
            span.error = Some(format!("answered {status}"));
        }
        tracer.record(span);
    }
}
