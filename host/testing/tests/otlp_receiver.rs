//! The OTLP receiver, driven from outside as an exporter would: a tonic OTLP client for gRPC,
//! reqwest with encoded protobuf bodies (plain and gzip) for HTTP.

use std::io::Write as _;
use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use durable_testing::otlp_receiver::{
    AttrValue, MetricKind, OtlpReceiver, Protocol, SpanKind, StatusCode,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};

const TRACE: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const PARENT: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
const CHILD: [u8; 8] = [0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8];
const TRACE_HEX: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_HEX: &str = "00f067aa0ba902b7";
const CHILD_HEX: &str = "53995c3f42cd8ad8";
const WAIT: Duration = Duration::from_secs(10);

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv(
            "service.name",
            any_value::Value::StringValue("test-host".into()),
        )],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "durable-host".into(),
        ..Default::default()
    })
}

/// A parent span (server) and a child span (internal, failed, with a link and events).
fn traces() -> ExportTraceServiceRequest {
    let parent = Span {
        trace_id: TRACE.to_vec(),
        span_id: PARENT.to_vec(),
        name: "POST /api/orchestrators/hello".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: 1_000,
        end_time_unix_nano: 9_000,
        attributes: vec![
            kv("http.route", any_value::Value::StringValue("/api/x".into())),
            kv("http.response.status_code", any_value::Value::IntValue(202)),
        ],
        status: Some(opentelemetry_proto::tonic::trace::v1::Status {
            code: status::StatusCode::Ok as i32,
            message: String::new(),
        }),
        ..Default::default()
    };
    let child = Span {
        trace_id: TRACE.to_vec(),
        span_id: CHILD.to_vec(),
        parent_span_id: PARENT.to_vec(),
        name: "activity SayHello".into(),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: 2_000,
        end_time_unix_nano: 5_000,
        attributes: vec![
            kv("retry", any_value::Value::BoolValue(true)),
            kv("ratio", any_value::Value::DoubleValue(0.5)),
            kv(
                "tags",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::StringValue("a".into())),
                        },
                        AnyValue {
                            value: Some(any_value::Value::IntValue(2)),
                        },
                    ],
                }),
            ),
        ],
        status: Some(opentelemetry_proto::tonic::trace::v1::Status {
            code: status::StatusCode::Error as i32,
            message: "boom".into(),
        }),
        links: vec![span::Link {
            trace_id: vec![0x11; 16],
            span_id: vec![0x22; 8],
            ..Default::default()
        }],
        events: vec![
            span::Event {
                name: "retrying".into(),
                ..Default::default()
            },
            span::Event {
                name: "exception".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans: vec![parent, child],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn number(value: number_data_point::Value, attrs: Vec<KeyValue>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        value: Some(value),
        ..Default::default()
    }
}

/// A counter, a gauge and a histogram.
fn metrics() -> ExportMetricsServiceRequest {
    let status = vec![kv(
        "status",
        any_value::Value::StringValue("Completed".into()),
    )];
    let sum = Metric {
        name: "orchestrations_completed".into(),
        data: Some(metric::Data::Sum(Sum {
            data_points: vec![number(number_data_point::Value::AsInt(3), status)],
            is_monotonic: true,
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    let gauge = Metric {
        name: "backlog".into(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![number(number_data_point::Value::AsDouble(1.5), vec![])],
        })),
        ..Default::default()
    };
    let histogram = Metric {
        name: "episode_duration".into(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint {
                attributes: vec![kv("name", any_value::Value::StringValue("Hello".into()))],
                count: 4,
                sum: Some(0.25),
                ..Default::default()
            }],
            aggregation_temporality: 2,
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![sum, gauge, histogram],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn check_spans(otlp: &OtlpReceiver) {
    let spans = otlp.spans();
    assert_eq!(spans.len(), 2, "{}", otlp.summary());
    let (parent, child) = (&spans[0], &spans[1]);
    assert_eq!(parent.trace_id, TRACE_HEX);
    assert_eq!(parent.span_id, PARENT_HEX);
    assert_eq!(parent.parent_span_id, None);
    assert_eq!(parent.kind, SpanKind::Server);
    assert_eq!(parent.status.code, StatusCode::Ok);
    assert_eq!(parent.attr("http.route").as_deref(), Some("/api/x"));
    assert_eq!(
        parent.attributes["http.response.status_code"].as_i64(),
        Some(202)
    );
    assert_eq!(
        parent.attr("http.response.status_code").as_deref(),
        Some("202")
    );
    assert_eq!(
        (parent.start_unix_nanos, parent.end_unix_nanos),
        (1_000, 9_000)
    );
    assert_eq!(parent.service_name.as_deref(), Some("test-host"));
    assert_eq!(parent.scope_name, "durable-host");

    assert_eq!(child.trace_id, TRACE_HEX);
    assert_eq!(child.span_id, CHILD_HEX);
    assert_eq!(child.parent_span_id.as_deref(), Some(PARENT_HEX));
    assert_eq!(child.name, "activity SayHello");
    assert_eq!(child.kind, SpanKind::Internal);
    assert_eq!(child.status.code, StatusCode::Error);
    assert_eq!(child.status.message, "boom");
    assert_eq!(child.attributes["retry"], AttrValue::Bool(true));
    assert_eq!(child.attributes["ratio"], AttrValue::Double(0.5));
    assert_eq!(child.attr("retry").as_deref(), Some("true"));
    assert_eq!(child.attr("tags").as_deref(), Some("[a, 2]"));
    assert_eq!(child.attr("missing"), None);
    assert_eq!(child.links, vec![("11".repeat(16), "22".repeat(8))]);
    assert_eq!(child.events, vec!["retrying", "exception"]);

    let tree = otlp.tree(TRACE_HEX);
    let lines: Vec<&str> = tree.lines().collect();
    assert_eq!(lines.len(), 3, "{tree}");
    assert!(
        lines[1].starts_with("  POST /api/orchestrators/hello [Server]"),
        "{tree}"
    );
    assert!(
        lines[2].starts_with("    activity SayHello [Internal]"),
        "{tree}"
    );
    assert!(lines[2].contains("status=Error(boom)"), "{tree}");
}

fn check_metrics(otlp: &OtlpReceiver) {
    let metrics = otlp.metrics();
    assert_eq!(metrics.len(), 3, "{}", otlp.summary());
    let sum = &metrics[0];
    assert_eq!(sum.name, "orchestrations_completed");
    assert_eq!(sum.kind, MetricKind::Sum);
    assert_eq!(sum.service_name.as_deref(), Some("test-host"));
    let point = sum
        .point(&[("status", "Completed")])
        .expect("a Completed point");
    assert_eq!((point.value, point.count), (3.0, None));
    assert_eq!(metrics[1].kind, MetricKind::Gauge);
    assert_eq!(metrics[1].points[0].value, 1.5);
    let histogram = &metrics[2];
    assert_eq!(histogram.kind, MetricKind::Histogram);
    assert_eq!(histogram.points[0].attributes["name"], "Hello");
    assert_eq!(
        (histogram.points[0].value, histogram.points[0].count),
        (0.25, Some(4))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_grpc_receives_spans_and_metrics_plain_and_gzip() {
    let otlp = OtlpReceiver::start(Protocol::Grpc).unwrap();
    assert_eq!(otlp.protocol_setting(), "grpc");
    assert!(otlp.endpoint().starts_with("http://127.0.0.1:"));

    let mut client = TraceServiceClient::connect(otlp.endpoint()).await.unwrap();
    let reply = client.export(traces()).await.unwrap().into_inner();
    assert_eq!(reply, ExportTraceServiceResponse::default());
    let spans = otlp
        .wait_for_spans(WAIT, |s| s.len() == 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spans.len(), 2);
    check_spans(&otlp);

    let mut metrics_client = MetricsServiceClient::connect(otlp.endpoint())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    metrics_client.export(metrics()).await.unwrap();
    let latest = otlp
        .wait_for_metric("episode_duration", WAIT)
        .await
        .unwrap();
    assert_eq!(latest.points[0].count, Some(4));
    check_metrics(&otlp);

    let mut gzip_client = TraceServiceClient::connect(otlp.endpoint())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    gzip_client.export(traces()).await.unwrap();
    assert_eq!(otlp.spans().len(), 4);
    assert_eq!(otlp.requests(), 3);
    assert!(otlp.errors().is_empty(), "{:?}", otlp.errors());
}

/// Sends and receives raw bytes, to call any method with any body.
#[derive(Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

async fn raw_grpc(endpoint: String, path: &'static str, body: &'static [u8]) -> tonic::Status {
    let channel = tonic::transport::Endpoint::new(endpoint)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(Bytes::from_static(body)),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .expect_err("the receiver refuses it")
}

#[tokio::test]
async fn otlp_grpc_records_malformed_requests_and_unknown_methods() {
    // A current-thread test runtime: the receiver runs on its own thread.
    let otlp = OtlpReceiver::start(Protocol::Grpc).unwrap();
    let status = raw_grpc(
        otlp.endpoint(),
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        b"\xff\xff\xff not protobuf",
    )
    .await;
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    let status = raw_grpc(
        otlp.endpoint(),
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        b"",
    )
    .await;
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    let errors = otlp.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("TraceService/Export"), "{errors:?}");
    assert!(errors[1].contains("LogsService"), "{errors:?}");
    assert!(otlp.spans().is_empty());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post(
    client: &reqwest::Client,
    url: String,
    content_type: &str,
    gzipped: bool,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = client
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if gzipped {
        request = request.header("content-encoding", "gzip");
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_http_receives_spans_and_metrics_plain_and_gzip() {
    let otlp = OtlpReceiver::start(Protocol::HttpProtobuf).unwrap();
    assert_eq!(otlp.protocol_setting(), "http/protobuf");
    let client = reqwest::Client::new();
    let base = otlp.endpoint();

    let response = post(
        &client,
        format!("{base}/v1/traces"),
        "application/x-protobuf",
        false,
        traces().encode_to_vec(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let body = response.bytes().await.unwrap();
    assert_eq!(
        ExportTraceServiceResponse::decode(body).unwrap(),
        ExportTraceServiceResponse::default()
    );
    check_spans(&otlp);

    let response = post(
        &client,
        format!("{base}/v1/metrics"),
        "application/x-protobuf",
        true,
        gzip(&metrics().encode_to_vec()),
    )
    .await;
    assert_eq!(response.status(), 200);
    check_metrics(&otlp);

    let response = post(
        &client,
        format!("{base}/v1/traces"),
        "application/x-protobuf",
        true,
        gzip(&traces().encode_to_vec()),
    )
    .await;
    assert_eq!(response.status(), 200);
    otlp.wait_for_spans(WAIT, |s| s.len() == 4).await.unwrap();
    assert_eq!(otlp.requests(), 3);
    assert!(otlp.errors().is_empty(), "{:?}", otlp.errors());
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_http_records_malformed_bodies_and_wrong_requests() {
    let otlp = OtlpReceiver::start(Protocol::HttpProtobuf).unwrap();
    let client = reqwest::Client::new();
    let base = otlp.endpoint();
    let protobuf = "application/x-protobuf";

    let garbage = b"\xff\xff\xff not protobuf".to_vec();
    let r = post(
        &client,
        format!("{base}/v1/traces"),
        protobuf,
        false,
        garbage,
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = post(
        &client,
        format!("{base}/v1/metrics"),
        protobuf,
        true,
        b"no gzip".to_vec(),
    )
    .await;
    assert_eq!(r.status(), 400);
    let json = b"{}".to_vec();
    let r = post(
        &client,
        format!("{base}/v1/traces"),
        "application/json",
        false,
        json,
    )
    .await;
    assert_eq!(r.status(), 415);
    let r = post(
        &client,
        format!("{base}/v1/logs"),
        protobuf,
        false,
        Vec::new(),
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = client
        .get(format!("{base}/v1/traces"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);

    let errors = otlp.errors();
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(errors[0].contains("malformed protobuf"), "{errors:?}");
    assert!(errors[1].contains("malformed gzip"), "{errors:?}");
    assert!(errors[2].contains("application/json"), "{errors:?}");
    assert!(errors[3].contains("/v1/logs"), "{errors:?}");
    assert!(errors[4].contains("GET /v1/traces"), "{errors:?}");
    assert!(otlp.spans().is_empty() && otlp.metrics().is_empty());
    assert!(otlp.summary().contains("malformed protobuf"));

    let waited = otlp
        .wait_for_spans(Duration::from_millis(200), |s| !s.is_empty())
        .await
        .expect_err("no spans came");
    assert!(waited.contains("did not arrive"), "{waited}");
    assert!(waited.contains("malformed protobuf"), "{waited}");
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_unavailable_refuses_exports_until_switched_back() {
    let grpc = OtlpReceiver::start(Protocol::Grpc).unwrap();
    let http = OtlpReceiver::start(Protocol::HttpProtobuf).unwrap();
    grpc.set_unavailable(true);
    http.set_unavailable(true);

    let mut client = TraceServiceClient::connect(grpc.endpoint()).await.unwrap();
    let status = client.export(traces()).await.expect_err("unavailable");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    let reqwest = reqwest::Client::new();
    let url = format!("{}/v1/traces", http.endpoint());
    let protobuf = "application/x-protobuf";
    let r = post(
        &reqwest,
        url.clone(),
        protobuf,
        false,
        traces().encode_to_vec(),
    )
    .await;
    assert_eq!(r.status(), 503);
    for otlp in [&grpc, &http] {
        assert!(otlp.spans().is_empty());
        assert_eq!((otlp.requests(), otlp.rejected()), (1, 1));
        assert!(otlp.errors().is_empty(), "{:?}", otlp.errors());
    }

    grpc.set_unavailable(false);
    http.set_unavailable(false);
    client.export(traces()).await.unwrap();
    let r = post(&reqwest, url, protobuf, false, traces().encode_to_vec()).await;
    assert_eq!(r.status(), 200);
    for otlp in [&grpc, &http] {
        assert_eq!(otlp.spans().len(), 2);
        assert_eq!((otlp.requests(), otlp.rejected()), (2, 1));
        otlp.clear();
        assert_eq!((otlp.requests(), otlp.spans().len()), (0, 0));
    }
}

#[test]
fn otlp_receiver_outlives_the_runtimes_of_its_clients() {
    // Started outside any runtime, used from two runtimes one after the other.
    let otlp = OtlpReceiver::start(Protocol::Grpc).unwrap();
    for _ in 0..2 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut client = TraceServiceClient::connect(otlp.endpoint()).await.unwrap();
            client.export(traces()).await.unwrap();
        });
    }
    assert_eq!(otlp.spans().len(), 4);
}
