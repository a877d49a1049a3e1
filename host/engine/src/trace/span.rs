//! A finished span, as the host reports it, and where it reports spans to.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::context::{SpanContext, SpanId, TraceId};
use super::sampler::Sampler;

/// What a span stands for, in OpenTelemetry's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// Work inside one process (a durable timer).
    Internal,
    /// Handling a request: an HTTP request, running an orchestration or an activity.
    Server,
    /// Asking for work and waiting for it: an activity or sub-orchestration call.
    Client,
    /// Sending work without waiting: starting an orchestration, raising an event.
    Producer,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// Text known when the host was built (a span type, a status): no allocation.
    Static(&'static str),
    /// Text.
    Str(String),
    /// Text shared by many spans (an instance id): one allocation for all of them.
    Shared(Arc<str>),
    /// A whole number.
    Int(i64),
}

impl From<&'static str> for AttrValue {
    fn from(s: &'static str) -> Self {
        Self::Static(s)
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<Arc<str>> for AttrValue {
    fn from(s: Arc<str>) -> Self {
        Self::Shared(s)
    }
}

impl AttrValue {
    /// The text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Static(s) => Some(s),
            Self::Str(s) => Some(s),
            Self::Shared(s) => Some(s),
            Self::Int(_) => None,
        }
    }
}

impl From<i64> for AttrValue {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

/// A span that has ended: its ids, times, attributes and outcome. Spans of orchestrations are
/// made from history after the fact, so they carry their own start and end.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// The span's name, e.g. `orchestration:HelloCities`.
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// Its own context (trace id, span id, sampled flag, trace state).
    pub context: SpanContext,
    /// Its parent, `None` for the root of a trace.
    pub parent: Option<SpanId>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it ended.
    pub end: DateTime<Utc>,
    /// Its attributes (`durabletask.*`, `http.*`).
    pub attributes: Vec<(&'static str, AttrValue)>,
    /// Set when it failed: the error's message.
    pub error: Option<String>,
    /// Other spans it relates to (the sends of the events an orchestration received).
    pub links: Vec<SpanContext>,
}

impl SpanRecord {
    /// A span named `name` of `kind` with its context and parent, from `start` to `end`, with
    /// no attributes yet.
    pub fn new(
        name: impl Into<String>,
        kind: SpanKind,
        context: SpanContext,
        parent: Option<SpanId>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Self {
        Self {
            name: name.into(),
            kind,
            context,
            parent,
            start,
            end: end.max(start),
            attributes: Vec::with_capacity(6),
            error: None,
            links: Vec::new(),
        }
    }

    /// The same span with one more attribute.
    pub fn attr(mut self, key: &'static str, value: impl Into<AttrValue>) -> Self {
        self.attributes.push((key, value.into()));
        self
    }

    /// The value of attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find_map(|(k, v)| (*k == key).then_some(v))
    }
}

/// Where finished spans go: the host's exporter. Recording must not block; an exporter that
/// cannot keep up drops spans rather than slow the work down.
pub trait SpanSink: Send + Sync {
    /// Takes one finished span.
    fn record(&self, span: SpanRecord);
}

/// Where a host's spans go, or nowhere (tracing off, the default), and which traces are
/// recorded. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tracer {
    sink: Option<Arc<dyn SpanSink>>,
    sampler: Sampler,
}

impl Tracer {
    /// A tracer reporting to `sink`, recording every trace (unless its caller's is not).
    pub fn new(sink: Arc<dyn SpanSink>) -> Self {
        Self {
            sink: Some(sink),
            sampler: Sampler::default(),
        }
    }

    /// The same tracer, recording the traces `sampler` picks.
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self
    }

    /// Whether spans are reported at all.
    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// Which traces are recorded.
    pub fn sampler(&self) -> Sampler {
        self.sampler
    }

    /// The context of a new span under `parent` (a new trace without one) with id `span_id`
    /// (and, for a new trace, trace id `trace_id`), its `sampled` flag the sampler's decision.
    pub fn begin(
        &self,
        parent: Option<&SpanContext>,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> SpanContext {
        let mut context = match parent {
            Some(p) => p.child(span_id),
            None => SpanContext::new(trace_id, span_id),
        };
        context.sampled = self.sampler.samples(context.trace_id, parent);
        context
    }

    /// Reports `span` (sampled ones only; nothing when off).
    pub fn record(&self, span: SpanRecord) {
        if let Some(sink) = &self.sink {
            if span.context.sampled {
                sink.record(span);
            }
        }
    }

    /// Reports each of `spans`.
    pub fn record_all(&self, spans: Vec<SpanRecord>) {
        for span in spans {
            self.record(span);
        }
    }
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_on() {
            "Tracer(on)"
        } else {
            "Tracer(off)"
        })
    }
}

/// A trace id from the 16 bytes of a fresh id (one, if all are zero).
pub fn trace_id_from(id: u128) -> TraceId {
    TraceId(id.max(1).to_be_bytes())
}

/// A span id from the low 8 bytes of a fresh id (so that sequential test ids differ; one, if
/// all are zero).
pub fn span_id_from(id: u128) -> SpanId {
    SpanId((id as u64).max(1).to_be_bytes())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Kept(Mutex<Vec<String>>);

    impl SpanSink for Kept {
        fn record(&self, span: SpanRecord) {
            self.0.lock().unwrap().push(span.name);
        }
    }

    #[test]
    fn unsampled_spans_are_not_reported() {
        let kept = Arc::new(Kept::default());
        let tracer = Tracer::new(kept.clone());
        let sampled = SpanContext::new(trace_id_from(1), span_id_from(2));
        let unsampled = SpanContext {
            sampled: false,
            ..sampled.clone()
        };
        let at = chrono::DateTime::<Utc>::UNIX_EPOCH;
        let span = |name: &str, c: &SpanContext| {
            SpanRecord::new(name, SpanKind::Internal, c.clone(), None, at, at)
        };
        tracer.record_all(vec![span("kept", &sampled), span("dropped", &unsampled)]);
        assert_eq!(*kept.0.lock().unwrap(), vec!["kept".to_owned()]);
        assert!(!Tracer::default().is_on());
        Tracer::default().record(span("nowhere", &sampled));
    }
}
