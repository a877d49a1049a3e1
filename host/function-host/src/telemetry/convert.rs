//! A finished span of the host, as the OpenTelemetry SDK's exporters take it.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::SystemTime;

use opentelemetry::trace::{self, Link, SpanContext, Status, TraceFlags, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use durable_engine::trace::{AttrValue, SpanKind, SpanRecord};

/// The instrumentation scope of every span the host makes.
pub(super) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("durable")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// `span` as span data of `scope`.
pub(super) fn span_data(span: SpanRecord, scope: &InstrumentationScope) -> SpanData {
    let mut links = SpanLinks::default();
    links.links = span
        .links
        .iter()
        .map(|l| Link::with_context(context(l)))
        .collect();
    SpanData {
        span_context: context(&span.context),
        parent_span_id: span
            .parent
            .map_or(trace::SpanId::INVALID, |p| trace::SpanId::from_bytes(p.0)),
        parent_span_is_remote: false,
        span_kind: match span.kind {
            SpanKind::Internal => trace::SpanKind::Internal,
            SpanKind::Server => trace::SpanKind::Server,
            SpanKind::Client => trace::SpanKind::Client,
            SpanKind::Producer => trace::SpanKind::Producer,
        },
        name: Cow::Owned(span.name),
        start_time: SystemTime::from(span.start),
        end_time: SystemTime::from(span.end),
        attributes: span
            .attributes
            .into_iter()
            .map(|(k, v)| match v {
                AttrValue::Str(s) => KeyValue::new(k, s),
                AttrValue::Int(i) => KeyValue::new(k, i),
            })
            .collect(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links,
        status: match span.error {
            Some(message) => Status::error(message),
            None => Status::Unset,
        },
        instrumentation_scope: scope.clone(),
    }
}

fn context(c: &durable_engine::trace::SpanContext) -> SpanContext {
    let state = c
        .trace_state
        .as_deref()
        .and_then(|s| TraceState::from_str(s).ok())
        .unwrap_or_default();
    SpanContext::new(
        trace::TraceId::from_bytes(c.trace_id.0),
        trace::SpanId::from_bytes(c.span_id.0),
        if c.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        false,
        state,
    )
}
