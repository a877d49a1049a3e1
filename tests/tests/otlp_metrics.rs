//! Metrics over OTLP, from outside: with `OTEL_EXPORTER_OTLP_ENDPOINT` set the real host sends
//! the metrics `/admin/metrics` answers to the test's own OTLP receiver, over gRPC and over
//! HTTP/protobuf: counters as monotonic sums, histograms with their buckets, gauges. A
//! collector that is down costs the host nothing but a warning, and the export resumes when
//! it is back.

use std::time::{Duration, Instant};

use durable_testing::otlp_receiver::{MetricKind, OtlpReceiver, Protocol, ReceivedMetric};
use serde_json::json;
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

/// The latest export of metric `name` once `ready` holds for it (within 30 s).
fn wait_for_metric(
    receiver: &OtlpReceiver,
    name: &str,
    ready: impl Fn(&ReceivedMetric) -> bool,
) -> ReceivedMetric {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let latest = receiver
            .metrics()
            .into_iter()
            .rev()
            .find(|m| m.name == name);
        if let Some(m) = latest.filter(|m| ready(m)) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "metric {name} not received as expected\n{}",
            receiver.summary()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metrics_are_exported(protocol: Protocol) {
    let receiver = OtlpReceiver::start(protocol).expect("the OTLP receiver starts");
    receiver.set_unavailable(true);
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_trace-app"),
        json!({"TaskHubName": "OtlpMetrics"}),
        None,
    );
    let endpoint = receiver.endpoint();
    let host = TestHost::start(
        &dir,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", receiver.protocol_setting()),
            ("OTEL_SERVICE_NAME", "metrics-test"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ],
    );
    // The collector is down: the host says so once and goes on.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !host.log().contains("could not export metrics") {
        assert!(Instant::now() < deadline, "no warning:\n{}", host.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = host.call("POST", "/api/cities").send();
    assert_eq!(started.status, 202, "{started:?}\n{}", host.log());
    let id = started.json()["id"].as_str().unwrap().to_owned();
    let raised = host
        .call("POST", &format!("{API}/instances/{id}/raiseEvent/continue"))
        .json("null")
        .send();
    assert_eq!(raised.status, 202, "{raised:?}");
    host.wait_for_status(&id, "Completed", None);
    assert_eq!(
        host.log().matches("could not export metrics").count(),
        1,
        "{}",
        host.log()
    );

    receiver.set_unavailable(false);
    let finished = wait_for_metric(&receiver, "durable_orchestrations_finished", |m| {
        m.point(&[("orchestration", "hello_cities"), ("status", "Completed")])
            .is_some_and(|p| p.value == 1.0)
    });
    assert_eq!(finished.kind, MetricKind::Sum);
    assert_eq!(finished.service_name.as_deref(), Some("metrics-test"));
    let activities = wait_for_metric(&receiver, "durable_activity_duration_seconds", |m| {
        m.point(&[("activity", "say_hello"), ("outcome", "Succeeded")])
            .is_some_and(|p| p.count == Some(3))
    });
    assert_eq!(activities.kind, MetricKind::Histogram);
    let requests = wait_for_metric(&receiver, "durable_http_requests", |m| {
        m.point(&[("route", "start_cities"), ("status", "202")])
            .is_some()
    });
    assert_eq!(requests.kind, MetricKind::Sum);
    let queued = wait_for_metric(&receiver, "durable_queue_messages", |m| {
        !m.points.is_empty()
    });
    assert_eq!(queued.kind, MetricKind::Gauge);
    assert!(
        host.log().contains("exporting metrics works again"),
        "{}",
        host.log()
    );

    // No traces were asked for.
    assert!(receiver.spans().is_empty(), "{}", receiver.summary());
    assert!(receiver.errors().is_empty(), "{:?}", receiver.errors());
    host.stop();
}

#[test]
fn metrics_are_exported_over_http_protobuf() {
    metrics_are_exported(Protocol::HttpProtobuf);
}

#[test]
fn metrics_are_exported_over_grpc() {
    metrics_are_exported(Protocol::Grpc);
}
