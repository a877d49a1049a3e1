//! The received telemetry, flattened out of the OTLP messages into plain structs that are
//! convenient to assert on: ids as lower-case hex, enums as Rust enums, attributes in maps.

use std::collections::BTreeMap;
use std::fmt;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, Span};

/// The value of an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string.
    String(String),
    /// A 64-bit integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A double.
    Double(f64),
    /// Anything else (arrays, key-value lists, bytes, empty values), rendered as text.
    Other(String),
}

impl AttrValue {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a double or an integer value.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Double(d) => Some(*d),
            AttrValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::String(s) | AttrValue::Other(s) => f.write_str(s),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Double(d) => write!(f, "{d}"),
        }
    }
}

/// The kind of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// `SPAN_KIND_INTERNAL`.
    Internal,
    /// `SPAN_KIND_SERVER`.
    Server,
    /// `SPAN_KIND_CLIENT`.
    Client,
    /// `SPAN_KIND_PRODUCER`.
    Producer,
    /// `SPAN_KIND_CONSUMER`.
    Consumer,
    /// `SPAN_KIND_UNSPECIFIED`, or a value this receiver does not know.
    Unspecified,
}

/// The status code of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// `STATUS_CODE_UNSET` (the default), or a value this receiver does not know.
    Unset,
    /// `STATUS_CODE_OK`.
    Ok,
    /// `STATUS_CODE_ERROR`.
    Error,
}

/// The status of a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanStatus {
    /// The code.
    pub code: StatusCode,
    /// The message (empty when none).
    pub message: String,
}

/// One span received, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The trace id, 32 lower-case hex digits.
    pub trace_id: String,
    /// The span id, 16 lower-case hex digits.
    pub span_id: String,
    /// The parent's span id, `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The span name.
    pub name: String,
    /// The kind.
    pub kind: SpanKind,
    /// The start, in nanoseconds since the Unix epoch.
    pub start_unix_nanos: u64,
    /// The end, in nanoseconds since the Unix epoch.
    pub end_unix_nanos: u64,
    /// The span's attributes.
    pub attributes: BTreeMap<String, AttrValue>,
    /// The status (`Unset` with an empty message when the span had none).
    pub status: SpanStatus,
    /// The links, as `(trace_id, span_id)` in hex.
    pub links: Vec<(String, String)>,
    /// The names of the span's events, in order.
    pub events: Vec<String>,
    /// The `service.name` attribute of the resource that exported the span.
    pub service_name: Option<String>,
    /// The name of the instrumentation scope (the tracer).
    pub scope_name: String,
}

impl ReceivedSpan {
    /// The attribute `key`, whatever its type, rendered as text.
    pub fn attr(&self, key: &str) -> Option<String> {
        self.attributes.get(key).map(|v| v.to_string())
    }

    /// How long the span lasted, in nanoseconds (0 if its end precedes its start).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }
}

/// The kind of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A sum (a counter or an up-down counter).
    Sum,
    /// A gauge.
    Gauge,
    /// A histogram with explicit buckets.
    Histogram,
    /// An exponential histogram.
    ExponentialHistogram,
    /// A summary.
    Summary,
}

/// One data point of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// The point's attributes, values rendered as text.
    pub attributes: BTreeMap<String, String>,
    /// The value of a sum or a gauge; the sum of the observations of a histogram or a summary
    /// (0 when a histogram carries no sum).
    pub value: f64,
    /// The number of observations of a histogram or a summary; `None` for sums and gauges.
    pub count: Option<u64>,
}

/// One metric received, flattened: one per metric in each export request, so a metric
/// exported periodically appears once per export.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMetric {
    /// The metric name.
    pub name: String,
    /// The `service.name` attribute of the resource that exported the metric.
    pub service_name: Option<String>,
    /// The name of the instrumentation scope (the meter).
    pub scope_name: String,
    /// The kind.
    pub kind: MetricKind,
    /// The data points.
    pub points: Vec<MetricPoint>,
}

impl ReceivedMetric {
    /// The first point whose attributes include every `(key, value)` of `attributes`.
    pub fn point(&self, attributes: &[(&str, &str)]) -> Option<&MetricPoint> {
        self.points.iter().find(|p| {
            attributes
                .iter()
                .all(|(k, v)| p.attributes.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn attr_value(value: Option<&AnyValue>) -> AttrValue {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => AttrValue::String(s.clone()),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(*i),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(*b),
        Some(any_value::Value::DoubleValue(d)) => AttrValue::Double(*d),
        other => AttrValue::Other(render_other(other)),
    }
}

fn render_other(value: Option<&any_value::Value>) -> String {
    match value {
        None => String::new(),
        Some(any_value::Value::ArrayValue(a)) => {
            let items: Vec<String> = a
                .values
                .iter()
                .map(|v| attr_value(Some(v)).to_string())
                .collect();
            format!("[{}]", items.join(", "))
        }
        Some(any_value::Value::KvlistValue(l)) => {
            let items: Vec<String> = l
                .values
                .iter()
                .map(|kv| format!("{}={}", kv.key, attr_value(kv.value.as_ref())))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Some(any_value::Value::BytesValue(b)) => hex(b),
        Some(other) => format!("{other:?}"),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, AttrValue> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), attr_value(kv.value.as_ref())))
        .collect()
}

fn text_attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), attr_value(kv.value.as_ref()).to_string()))
        .collect()
}

fn service_name(resource: Option<&Resource>) -> Option<String> {
    resource?
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .map(|kv| attr_value(kv.value.as_ref()).to_string())
}

fn span_kind(kind: i32) -> SpanKind {
    match span::SpanKind::try_from(kind) {
        Ok(span::SpanKind::Internal) => SpanKind::Internal,
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        Ok(span::SpanKind::Unspecified) | Err(_) => SpanKind::Unspecified,
    }
}

fn flatten_span(span: &Span, service_name: &Option<String>, scope_name: &str) -> ReceivedSpan {
    let status = span.status.as_ref();
    let code = match status.map(|s| status::StatusCode::try_from(s.code)) {
        Some(Ok(status::StatusCode::Ok)) => StatusCode::Ok,
        Some(Ok(status::StatusCode::Error)) => StatusCode::Error,
        _ => StatusCode::Unset,
    };
    ReceivedSpan {
        trace_id: hex(&span.trace_id),
        span_id: hex(&span.span_id),
        parent_span_id: (!span.parent_span_id.is_empty()).then(|| hex(&span.parent_span_id)),
        name: span.name.clone(),
        kind: span_kind(span.kind),
        start_unix_nanos: span.start_time_unix_nano,
        end_unix_nanos: span.end_time_unix_nano,
        attributes: attributes(&span.attributes),
        status: SpanStatus {
            code,
            message: status.map(|s| s.message.clone()).unwrap_or_default(),
        },
        links: span
            .links
            .iter()
            .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
            .collect(),
        events: span.events.iter().map(|e| e.name.clone()).collect(),
        service_name: service_name.clone(),
        scope_name: scope_name.to_owned(),
    }
}

/// The spans of an export request, in the order they were sent.
pub(crate) fn flatten_traces(request: &ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for resource_spans in &request.resource_spans {
        let service = service_name(resource_spans.resource.as_ref());
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .as_ref()
                .map(|s| s.name.as_str())
                .unwrap_or_default();
            for span in &scope_spans.spans {
                out.push(flatten_span(span, &service, scope));
            }
        }
    }
    out
}

fn flatten_data(data: &metric::Data) -> (MetricKind, Vec<MetricPoint>) {
    fn number(value: Option<&number_data_point::Value>) -> f64 {
        match value {
            Some(number_data_point::Value::AsDouble(d)) => *d,
            Some(number_data_point::Value::AsInt(i)) => *i as f64,
            None => 0.0,
        }
    }
    match data {
        metric::Data::Sum(s) => (
            MetricKind::Sum,
            s.data_points
                .iter()
                .map(|p| MetricPoint {
                    attributes: text_attributes(&p.attributes),
                    value: number(p.value.as_ref()),
                    count: None,
                })
                .collect(),
        ),
        metric::Data::Gauge(g) => (
            MetricKind::Gauge,
            g.data_points
                .iter()
                .map(|p| MetricPoint {
                    attributes: text_attributes(&p.attributes),
                    value: number(p.value.as_ref()),
                    count: None,
                })
                .collect(),
        ),
        metric::Data::Histogram(h) => (
            MetricKind::Histogram,
            h.data_points
                .iter()
                .map(|p| MetricPoint {
                    attributes: text_attributes(&p.attributes),
                    value: p.sum.unwrap_or_default(),
                    count: Some(p.count),
                })
                .collect(),
        ),
        metric::Data::ExponentialHistogram(h) => (
            MetricKind::ExponentialHistogram,
            h.data_points
                .iter()
                .map(|p| MetricPoint {
                    attributes: text_attributes(&p.attributes),
                    value: p.sum.unwrap_or_default(),
                    count: Some(p.count),
                })
                .collect(),
        ),
        metric::Data::Summary(s) => (
            MetricKind::Summary,
            s.data_points
                .iter()
                .map(|p| MetricPoint {
                    attributes: text_attributes(&p.attributes),
                    value: p.sum,
                    count: Some(p.count),
                })
                .collect(),
        ),
    }
}

/// The metrics of an export request, in the order they were sent (metrics without data are
/// left out).
pub(crate) fn flatten_metrics(request: &ExportMetricsServiceRequest) -> Vec<ReceivedMetric> {
    let mut out = Vec::new();
    for resource_metrics in &request.resource_metrics {
        let service = service_name(resource_metrics.resource.as_ref());
        for scope_metrics in &resource_metrics.scope_metrics {
            let scope = scope_metrics
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for metric in &scope_metrics.metrics {
                let Some(data) = &metric.data else { continue };
                let (kind, points) = flatten_data(data);
                out.push(ReceivedMetric {
                    name: metric.name.clone(),
                    service_name: service.clone(),
                    scope_name: scope.clone(),
                    kind,
                    points,
                });
            }
        }
    }
    out
}
