//! Spans encoded as an OTLP `ExportTraceServiceRequest`, straight from the host's span
//! records into protobuf bytes: no intermediate copies of names and attributes (a busy host
//! reports tens of thousands of spans a second). Field numbers are those of
//! `opentelemetry/proto/trace/v1/trace.proto`; a test decodes the bytes with the generated
//! OTLP types.

use bytes::BufMut;
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};

use durable_engine::trace::{AttrValue, SpanContext, SpanKind, SpanRecord};

/// The length of a length-delimited field of `n` bytes (tags below 16: a one-byte key).
fn delimited(n: usize) -> usize {
    1 + encoded_len_varint(n as u64) + n
}

fn put_delimited(buf: &mut Vec<u8>, tag: u32, len: usize) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

fn put_bytes(buf: &mut Vec<u8>, tag: u32, data: &[u8]) {
    put_delimited(buf, tag, data.len());
    buf.extend_from_slice(data);
}

fn value_len(v: &AttrValue) -> usize {
    match v {
        AttrValue::Static(_) | AttrValue::Str(_) | AttrValue::Shared(_) => {
            delimited(v.as_str().map_or(0, str::len))
        }
        AttrValue::Int(i) => 1 + encoded_len_varint(*i as u64),
    }
}

fn attr_len(key: &str, v: &AttrValue) -> usize {
    delimited(key.len()) + delimited(value_len(v))
}

/// `KeyValue { key = 1; AnyValue value = 2 }`, `AnyValue { string_value = 1; int_value = 3 }`.
fn put_attr(buf: &mut Vec<u8>, tag: u32, key: &str, v: &AttrValue) {
    put_delimited(buf, tag, attr_len(key, v));
    put_bytes(buf, 1, key.as_bytes());
    put_delimited(buf, 2, value_len(v));
    match v {
        AttrValue::Static(_) | AttrValue::Str(_) | AttrValue::Shared(_) => {
            put_bytes(buf, 1, v.as_str().unwrap_or_default().as_bytes())
        }
        AttrValue::Int(i) => {
            encode_key(3, WireType::Varint, buf);
            encode_varint(*i as u64, buf);
        }
    }
}

fn state_len(c: &SpanContext) -> usize {
    c.trace_state.as_ref().map_or(0, |s| delimited(s.len()))
}

/// `Link { trace_id = 1; span_id = 2; trace_state = 3 }`.
fn link_len(c: &SpanContext) -> usize {
    delimited(16) + delimited(8) + state_len(c)
}

/// `Status { message = 2; code = 3 }` (code 2: error).
fn status_len(message: &str) -> usize {
    delimited(message.len()) + 2
}

fn nanos(t: chrono::DateTime<chrono::Utc>) -> u64 {
    t.timestamp_nanos_opt().map_or(0, |n| n.max(0) as u64)
}

fn span_len(s: &SpanRecord) -> usize {
    delimited(16)
        + delimited(8)
        + state_len(&s.context)
        + s.parent.map_or(0, |_| delimited(8))
        + delimited(s.name.len())
        + 2 // kind
        + 9 * 2 // start and end, fixed64
        + s.attributes.iter().map(|(k, v)| delimited(attr_len(k, v))).sum::<usize>()
        + s.links.iter().map(|l| delimited(link_len(l))).sum::<usize>()
        + s.error.as_ref().map_or(0, |m| delimited(status_len(m)))
}

/// `Span` (trace.proto): ids 1, 2, trace_state 3, parent 4, name 5, kind 6, start 7, end 8,
/// attributes 9, links 13, status 15.
fn put_span(buf: &mut Vec<u8>, s: &SpanRecord) {
    put_delimited(buf, 2, span_len(s));
    put_bytes(buf, 1, &s.context.trace_id.0);
    put_bytes(buf, 2, &s.context.span_id.0);
    if let Some(state) = &s.context.trace_state {
        put_bytes(buf, 3, state.as_bytes());
    }
    if let Some(parent) = s.parent {
        put_bytes(buf, 4, &parent.0);
    }
    put_bytes(buf, 5, s.name.as_bytes());
    encode_key(6, WireType::Varint, buf);
    encode_varint(
        match s.kind {
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
        },
        buf,
    );
    encode_key(7, WireType::SixtyFourBit, buf);
    buf.put_u64_le(nanos(s.start));
    encode_key(8, WireType::SixtyFourBit, buf);
    buf.put_u64_le(nanos(s.end));
    for (k, v) in &s.attributes {
        put_attr(buf, 9, k, v);
    }
    for l in &s.links {
        put_delimited(buf, 13, link_len(l));
        put_bytes(buf, 1, &l.trace_id.0);
        put_bytes(buf, 2, &l.span_id.0);
        if let Some(state) = &l.trace_state {
            put_bytes(buf, 3, state.as_bytes());
        }
    }
    if let Some(message) = &s.error {
        put_delimited(buf, 15, status_len(message));
        put_bytes(buf, 2, message.as_bytes());
        encode_key(3, WireType::Varint, buf);
        encode_varint(2, buf);
    }
}

/// An `ExportTraceServiceRequest` of `spans`, under `resource` and `scope` (encoded
/// `Resource` and `InstrumentationScope` messages).
pub(super) fn export_request(spans: &[SpanRecord], resource: &[u8], scope: &[u8]) -> Vec<u8> {
    let spans_len: usize = spans.iter().map(|s| delimited(span_len(s))).sum();
    let scope_spans = delimited(scope.len()) + spans_len;
    let resource_spans = delimited(resource.len()) + delimited(scope_spans);
    let mut buf = Vec::with_capacity(delimited(resource_spans));
    // ExportTraceServiceRequest.resource_spans = 1
    put_delimited(&mut buf, 1, resource_spans);
    // ResourceSpans.resource = 1, .scope_spans = 2
    put_bytes(&mut buf, 1, resource);
    put_delimited(&mut buf, 2, scope_spans);
    // ScopeSpans.scope = 1, .spans = 2
    put_bytes(&mut buf, 1, scope);
    for s in spans {
        put_span(&mut buf, s);
    }
    buf
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, InstrumentationScope};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{span, status};
    use prost::Message;

    use super::*;
    use durable_engine::trace::{span_id_from, trace_id_from};

    fn record(name: &str, parent: bool, error: Option<&str>) -> SpanRecord {
        let mut context =
            SpanContext::new(trace_id_from(0x0af7_6519_16cd_43dd), span_id_from(0xb7ad));
        context.trace_state = error.map(|_| "congo=t61rcWkgMzE".to_owned());
        let start = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        let mut s = SpanRecord::new(
            name,
            SpanKind::Client,
            context.clone(),
            parent.then(|| span_id_from(7)),
            start,
            start + chrono::Duration::milliseconds(5),
        )
        .attr("durabletask.type", "activity")
        .attr("durabletask.task.task_id", -3i64)
        .attr("long", "x".repeat(300));
        s.error = error.map(str::to_owned);
        s.links = vec![context];
        s
    }

    #[test]
    fn the_bytes_decode_as_the_otlp_types() {
        let resource = Resource {
            attributes: vec![],
            ..Resource::default()
        }
        .encode_to_vec();
        let scope = InstrumentationScope {
            name: "durable".into(),
            version: "1".into(),
            ..InstrumentationScope::default()
        }
        .encode_to_vec();
        let spans = vec![
            record("activity:a", true, Some("boom")),
            record(&"n".repeat(200), false, None),
        ];
        let bytes = export_request(&spans, &resource, &scope);
        let req = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("decodes");
        let scope_spans = &req.resource_spans[0].scope_spans[0];
        assert_eq!(scope_spans.scope.as_ref().unwrap().name, "durable");
        let [a, b] = &scope_spans.spans[..] else {
            panic!("two spans")
        };
        assert_eq!(a.trace_id, spans[0].context.trace_id.0.to_vec());
        assert_eq!(a.span_id, spans[0].context.span_id.0.to_vec());
        assert_eq!(a.parent_span_id, span_id_from(7).0.to_vec());
        assert_eq!(a.trace_state, "congo=t61rcWkgMzE");
        assert_eq!(a.name, "activity:a");
        assert_eq!(a.kind, span::SpanKind::Client as i32);
        assert_eq!(a.start_time_unix_nano, 1_700_000_000_123_456_789);
        assert_eq!(a.end_time_unix_nano - a.start_time_unix_nano, 5_000_000);
        assert_eq!(a.attributes.len(), 3);
        assert_eq!(a.attributes[0].key, "durabletask.type");
        assert_eq!(
            a.attributes[0].value.as_ref().unwrap().value,
            Some(any_value::Value::StringValue("activity".into()))
        );
        assert_eq!(
            a.attributes[1].value.as_ref().unwrap().value,
            Some(any_value::Value::IntValue(-3))
        );
        let st = a.status.as_ref().unwrap();
        assert_eq!(
            (st.code, st.message.as_str()),
            (status::StatusCode::Error as i32, "boom")
        );
        assert_eq!(a.links[0].span_id, spans[0].context.span_id.0.to_vec());
        assert!(b.parent_span_id.is_empty() && b.status.is_none());
        assert_eq!(b.name.len(), 200);
        assert_eq!(bytes.len(), req.encoded_len(), "lengths computed exactly");
    }
}
