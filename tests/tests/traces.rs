//! Distributed tracing, from outside: the real host exports its spans over OTLP (gRPC and
//! HTTP/protobuf) to a receiver of the test's own that decodes the real protobuf. Hello
//! cities started over HTTP with a `traceparent` shows up as one trace: the request, the
//! start, the orchestration, each activity call and run, the timer and the
//! sub-orchestration, with the right parents and durations, although the host is restarted
//! in the middle (the second host replays the history and reports nothing twice). The
//! external event raised over the management API is a trace of its own, linked from the
//! orchestration.

use std::time::{Duration, Instant};

use durable_testing::otlp_receiver::{OtlpReceiver, Protocol, ReceivedSpan, SpanKind, StatusCode};
use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";
/// The caller's trace and span.
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00f067aa0ba902b7";
/// The trace of the request that raises the event.
const EVENT_TRACE: &str = "5cf92f3577b34da6a3ce929d0e0e4737";

/// The spans once `ready` holds for them (within 30 s).
fn wait_for_spans(
    receiver: &OtlpReceiver,
    what: &str,
    ready: impl Fn(&[ReceivedSpan]) -> bool,
) -> Vec<ReceivedSpan> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        if ready(&spans) {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not received\n{}",
            receiver.summary()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str, kind: SpanKind) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.name == name && s.kind == kind)
        .collect()
}

fn children<'a>(spans: &'a [ReceivedSpan], parent: &ReceivedSpan) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.parent_span_id.as_deref() == Some(&*parent.span_id))
        .collect()
}

/// The one span named `name` of `kind` under `parent`.
fn only_child<'a>(
    spans: &'a [ReceivedSpan],
    parent: &ReceivedSpan,
    name: &str,
    kind: SpanKind,
) -> &'a ReceivedSpan {
    let found: Vec<_> = children(spans, parent)
        .into_iter()
        .filter(|s| s.name == name && s.kind == kind)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name} ({kind:?}) under {}: {found:#?}",
        parent.name
    );
    found[0]
}

fn assert_within(outer: &ReceivedSpan, inner: &ReceivedSpan) {
    assert!(
        outer.start_unix_nanos <= inner.start_unix_nanos
            && inner.end_unix_nanos <= outer.end_unix_nanos,
        "{} ({}..{}) does not contain {} ({}..{})",
        outer.name,
        outer.start_unix_nanos,
        outer.end_unix_nanos,
        inner.name,
        inner.start_unix_nanos,
        inner.end_unix_nanos
    );
}

/// Runs Hello cities with a restart in the middle and checks its trace.
fn hello_cities_is_one_trace(protocol: Protocol, storage: Value) {
    let receiver = OtlpReceiver::start(protocol).expect("the OTLP receiver starts");
    let mut values = json!({"TaskHubName": "Traces"});
    values
        .as_object_mut()
        .unwrap()
        .extend(storage.as_object().unwrap().clone());
    let dir = AppDir::new(env!("CARGO_BIN_EXE_trace-app"), values, None);
    let endpoint = receiver.endpoint();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", receiver.protocol_setting()),
        ("OTEL_SERVICE_NAME", "trace-test"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    let host = TestHost::start(&dir, &env);
    let started = host
        .call("POST", "/api/cities")
        .header("traceparent", &format!("00-{TRACE}-{CALLER}-01"))
        .header("tracestate", "congo=t61rcWkgMzE")
        .send();
    assert_eq!(started.status, 202, "{started:?}\n{}", host.log());
    let id = started.json()["id"].as_str().unwrap().to_owned();

    // Tokyo is greeted, then the orchestration waits for `continue`: restart the host.
    wait_for_spans(&receiver, "Tokyo's activity", |s| {
        named(s, "activity:say_hello", SpanKind::Client).len() == 1
            && named(s, "activity:say_hello", SpanKind::Server).len() == 1
    });
    let first_log = host.log();
    host.stop();
    let host = TestHost::start(&dir, &env);
    let raised = host
        .call("POST", &format!("{API}/instances/{id}/raiseEvent/continue"))
        .header("traceparent", &format!("00-{EVENT_TRACE}-{CALLER}-01"))
        .json("null")
        .send();
    assert_eq!(raised.status, 202, "{raised:?}");
    host.wait_for_status(&id, "Completed", None);
    wait_for_spans(&receiver, "the orchestration's end", |s| {
        !named(s, "orchestration:hello_cities", SpanKind::Server).is_empty()
    });
    // The execution logs name the trace: the request's and the orchestration's lines.
    let names_trace = |log: &str, trigger: &str| {
        let line = format!("trigger=\"{trigger}\"");
        let trace = format!("trace_id={TRACE}");
        assert!(
            log.lines().any(|l| l.contains(&line) && l.contains(&trace)),
            "no {trigger} line names the trace:\n{log}"
        );
    };
    names_trace(&first_log, "http");
    names_trace(&host.log(), "orchestration");
    host.stop(); // exports whatever is queued
    let all = receiver.spans();
    assert!(receiver.errors().is_empty(), "{:?}", receiver.errors());
    let spans: Vec<ReceivedSpan> = all
        .iter()
        .filter(|s| s.trace_id == TRACE)
        .cloned()
        .collect();
    let tree = receiver.tree(TRACE);

    // Nothing twice, every span from the host.
    let mut ids: Vec<_> = spans.iter().map(|s| &s.span_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), spans.len(), "duplicate spans:\n{tree}");
    assert!(
        all.iter()
            .all(|s| s.service_name.as_deref() == Some("trace-test")),
        "{}",
        receiver.summary()
    );

    // The request, under the caller's span; the start under it; the orchestration under that.
    let requests: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id.as_deref() == Some(CALLER))
        .collect();
    assert_eq!(requests.len(), 1, "{tree}");
    let request = requests[0];
    assert_eq!(
        (request.name.as_str(), request.kind),
        ("POST /api/cities", SpanKind::Server)
    );
    assert_eq!(
        request.attr("http.response.status_code").as_deref(),
        Some("202")
    );
    let create = only_child(
        &spans,
        request,
        "create_orchestration:hello_cities",
        SpanKind::Producer,
    );
    assert_eq!(
        create.attr("durabletask.task.instance_id").as_deref(),
        Some(&*id)
    );
    let orchestration = only_child(
        &spans,
        create,
        "orchestration:hello_cities",
        SpanKind::Server,
    );
    assert_eq!(
        orchestration.attr("durabletask.task.status").as_deref(),
        Some("Completed")
    );
    assert_eq!(
        orchestration.attr("durabletask.type").as_deref(),
        Some("orchestration")
    );
    assert_eq!(orchestration.status.code, StatusCode::Unset);

    // Under the orchestration: two activity calls, each with its run; the timer; the
    // sub-orchestration call, with the sub-orchestration and its activity under it.
    let inner = children(&spans, orchestration);
    let mut names: Vec<_> = inner.iter().map(|s| (s.name.as_str(), s.kind)).collect();
    names.sort_by_key(|(n, _)| *n);
    assert_eq!(
        names,
        vec![
            ("activity:say_hello", SpanKind::Client),
            ("activity:say_hello", SpanKind::Client),
            ("orchestration:farewell", SpanKind::Client),
            ("orchestration:hello_cities:timer", SpanKind::Internal),
        ],
        "{tree}"
    );
    for call in &inner {
        assert_within(orchestration, call);
        if call.name == "activity:say_hello" {
            let run = only_child(&spans, call, "activity:say_hello", SpanKind::Server);
            assert_within(call, run);
        }
    }
    let sub_call = inner
        .iter()
        .find(|s| s.name == "orchestration:farewell")
        .unwrap();
    let sub = only_child(&spans, sub_call, "orchestration:farewell", SpanKind::Server);
    assert_within(sub_call, sub);
    let london = only_child(&spans, sub, "activity:say_hello", SpanKind::Client);
    only_child(&spans, london, "activity:say_hello", SpanKind::Server);
    assert_eq!(spans.len(), 12, "{tree}");

    // The event: a trace of its own, linked from the orchestration.
    let event_request = all
        .iter()
        .find(|s| s.trace_id == EVENT_TRACE && s.parent_span_id.as_deref() == Some(CALLER))
        .unwrap_or_else(|| panic!("{}", receiver.summary()));
    assert_eq!(event_request.name, format!("POST {API}/instances"));
    let event = only_child(
        &all,
        event_request,
        "orchestration_event:continue",
        SpanKind::Producer,
    );
    assert!(
        orchestration
            .links
            .contains(&(EVENT_TRACE.to_owned(), event.span_id.clone())),
        "{:?}",
        orchestration.links
    );
}

#[test]
fn hello_cities_is_one_trace_over_http_protobuf_on_the_embedded_store() {
    hello_cities_is_one_trace(Protocol::HttpProtobuf, json!({}));
}

#[test]
fn hello_cities_is_one_trace_over_grpc_on_azure_storage() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    hello_cities_is_one_trace(
        Protocol::Grpc,
        json!({"AzureWebJobsStorage": azurite.connection_string(), "TaskHubName": "TracesGrpc"}),
    );
}

/// A caller's trace that is not sampled (`-00`) is carried, but nothing of it is recorded:
/// no span is sent and no span id is written into history.
#[test]
fn an_unsampled_caller_costs_nothing() {
    let receiver = OtlpReceiver::start(Protocol::HttpProtobuf).expect("the OTLP receiver starts");
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_trace-app"),
        json!({"TaskHubName": "Unsampled"}),
        None,
    );
    let endpoint = receiver.endpoint();
    let host = TestHost::start(
        &dir,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let mut ids = Vec::new();
    for flags in ["00", "01"] {
        let started = host
            .call("POST", "/api/cities")
            .header("traceparent", &format!("00-{TRACE}-{CALLER}-{flags}"))
            .send();
        assert_eq!(started.status, 202, "{started:?}");
        let id = started.json()["id"].as_str().unwrap().to_owned();
        let raised = host
            .call("POST", &format!("{API}/instances/{id}/raiseEvent/continue"))
            .json("null")
            .send();
        assert_eq!(raised.status, 202, "{raised:?}");
        host.wait_for_status(&id, "Completed", None);
        ids.push(id);
    }
    // The sampled one is exported (so the export works), the other not at all.
    let spans = wait_for_spans(&receiver, "the sampled orchestration", |s| {
        !named(s, "orchestration:hello_cities", SpanKind::Server).is_empty()
    });
    host.stop();
    let spans: Vec<_> = receiver.spans().into_iter().chain(spans).collect();
    let of = |id: &str| {
        spans
            .iter()
            .filter(|s| s.attr("durabletask.task.instance_id").as_deref() == Some(id))
            .count()
    };
    assert_eq!(of(&ids[0]), 0, "{}", receiver.summary());
    assert!(of(&ids[1]) > 0, "{}", receiver.summary());
    let host = TestHost::start(&dir, &[]);
    let history = host
        .get(&format!("{API}/instances/{}?showHistory=true", ids[0]))
        .json();
    let started = &history["historyEvents"][0];
    assert_eq!(started["EventType"], "ExecutionStarted", "{history}");
    assert!(
        started["ParentTraceContext"].get("SpanId").is_none(),
        "no span id is written: {started}"
    );
    host.stop();
}
