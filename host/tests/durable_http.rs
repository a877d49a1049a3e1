//! `ctx.call_http` in virtual time (`TestHub`, with the built-in HTTP activity stubbed): the
//! asynchronous pattern is polled on durable timers after `Retry-After`, the request's own
//! polling interval or the host's default; a relative `Location` is resolved against the
//! request; the request's timeout bounds all the polling; bad input and requests that got no
//! answer are typed errors the orchestrator can catch. Every episode is also replayed from
//! history and compared (the hub's replay check), so the polling is deterministic.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable::engine::durable_http::{HttpOptions, HTTP_ACTIVITY, HTTP_REQUEST_FAILED};
use durable::engine::history::EventKind;
use durable::testing::{default_start, TestHub};
use durable::{
    DurableHttpRequest, DurableHttpResponse, Failure, OrchestrationStatus, Registry, TaskError,
};
use serde_json::{json, Value};

/// An orchestration that makes the request it is given and says how the call ended.
fn registry() -> Registry {
    Registry::new().orchestration("fetch", |ctx, request: DurableHttpRequest| async move {
        let outcome = match ctx.call_http(request).await {
            Ok(answer) => json!({ "answer": answer }),
            Err(TaskError::TimedOut(what)) => json!({ "timedOut": what }),
            Err(TaskError::InvalidHttpRequest(e)) => json!({ "invalid": e.to_string() }),
            Err(TaskError::Failed { details, .. }) => {
                json!({ "failed": details.error_type, "message": details.error_message })
            }
            Err(e) => return Err(Failure::from(e)),
        };
        Ok(outcome)
    })
}

/// A server stub: answers the `n`th request (from 0) with `answer(n, request)`.
fn hub_answering(
    answer: impl Fn(usize, &DurableHttpRequest) -> Result<DurableHttpResponse, Failure>
        + Send
        + Sync
        + 'static,
) -> TestHub {
    let seen = Arc::new(AtomicUsize::new(0));
    TestHub::new(registry()).with_activity(HTTP_ACTIVITY, move |request: DurableHttpRequest| {
        answer(seen.fetch_add(1, Ordering::SeqCst), &request)
    })
}

/// `202 Accepted` pointing at `location`.
fn accepted(location: &str) -> DurableHttpResponse {
    DurableHttpResponse::new(202).with_header("Location", location)
}

async fn run(hub: &mut TestHub, request: DurableHttpRequest) -> Value {
    hub.start_raw("fetch", "call", &request, None).await;
    let done = hub
        .run_to_completion("call", Duration::from_secs(3600))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        done.status,
        OrchestrationStatus::Completed,
        "{:?}",
        done.output
    );
    done.output_as().unwrap()
}

/// The seconds between the hub's start and each durable timer's due time.
fn timers(hub: &TestHub) -> Vec<i64> {
    let history = &hub.instance("call").unwrap().history;
    history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TimerCreated { fire_at } => {
                Some((*fire_at - e.timestamp).num_milliseconds())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_202_is_polled_after_retry_after_at_its_relative_location() {
    let mut hub = hub_answering(|n, _| {
        Ok(match n {
            0 | 1 => accepted("status/7").with_header("Retry-After", "5"),
            _ => DurableHttpResponse::new(200)
                .with_header("Content-Type", "text/plain")
                .with_content("done"),
        })
    });
    let request = DurableHttpRequest::post("https://jobs.example/api/jobs?code=k", "{\"n\":1}")
        .with_header("Authorization", "Bearer t");
    let out = run(&mut hub, request).await;
    assert_eq!(out["answer"]["statusCode"], 200);
    assert_eq!(out["answer"]["content"], "done");
    assert_eq!(out["answer"]["headers"]["Content-Type"], "text/plain");

    let calls = hub.activity_calls(HTTP_ACTIVITY);
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert_eq!(calls[0]["method"], "POST");
    assert_eq!(calls[0]["content"], "{\"n\":1}");
    for poll in &calls[1..] {
        assert_eq!(poll["method"], "GET");
        assert_eq!(poll["uri"], "https://jobs.example/api/status/7");
        assert_eq!(poll["headers"]["Authorization"], "Bearer t");
        assert!(poll.get("content").is_none(), "{poll}");
    }
    assert_eq!(timers(&hub), [5000, 5000]);
    assert_eq!(hub.now() - default_start(), chrono::Duration::seconds(10));
}

#[tokio::test]
async fn without_retry_after_the_request_or_the_host_says_how_long_to_wait() {
    let answer = |n: usize, _: &DurableHttpRequest| {
        Ok(match n {
            0 => accepted("http://h/s"),
            _ => DurableHttpResponse::new(204),
        })
    };
    // the host's default
    let mut hub = hub_answering(answer).with_http_options(HttpOptions {
        default_async_request_sleep: Duration::from_millis(1500),
    });
    let out = run(&mut hub, DurableHttpRequest::get("http://h/a")).await;
    assert_eq!(out["answer"]["statusCode"], 204);
    assert_eq!(timers(&hub), [1500]);

    // Durable Functions' default
    let mut hub = hub_answering(answer);
    run(&mut hub, DurableHttpRequest::get("http://h/a")).await;
    assert_eq!(timers(&hub), [30_000]);

    // the request's own
    let mut hub = hub_answering(answer);
    let request =
        DurableHttpRequest::get("http://h/a").with_polling_interval(Duration::from_secs(2));
    run(&mut hub, request).await;
    assert_eq!(timers(&hub), [2000]);
}

#[tokio::test]
async fn the_timeout_bounds_all_the_polling() {
    let mut hub = hub_answering(|_, _| Ok(accepted("/forever").with_header("Retry-After", "10")));
    let request = DurableHttpRequest::get("http://h/a").with_timeout(Duration::from_secs(35));
    let out = run(&mut hub, request).await;
    let what = out["timedOut"].as_str().unwrap_or_else(|| panic!("{out}"));
    assert!(
        what.contains("GET http://h/a") && what.contains("35000 ms"),
        "{what}"
    );
    // polls at 10, 20 and 30 s; the one due at 40 s is never made
    assert_eq!(hub.activity_calls(HTTP_ACTIVITY).len(), 4);
    assert_eq!(hub.now() - default_start(), chrono::Duration::seconds(35));
}

#[tokio::test]
async fn a_202_is_the_answer_without_the_pattern_or_a_location() {
    let mut hub = hub_answering(|_, _| Ok(accepted("/s")));
    let request = DurableHttpRequest::get("http://h/a").with_asynchronous_pattern(false);
    let out = run(&mut hub, request).await;
    assert_eq!(out["answer"]["statusCode"], 202);
    assert_eq!(hub.activity_calls(HTTP_ACTIVITY).len(), 1);

    let mut hub = hub_answering(|_, _| Ok(DurableHttpResponse::new(202)));
    let out = run(&mut hub, DurableHttpRequest::get("http://h/a")).await;
    assert_eq!(out["answer"]["statusCode"], 202);
}

#[tokio::test]
async fn statuses_are_answers_and_no_answer_is_a_failure() {
    let mut hub = hub_answering(|_, _| Ok(DurableHttpResponse::new(503).with_content("busy")));
    let out = run(&mut hub, DurableHttpRequest::get("http://h/a")).await;
    assert_eq!(out["answer"]["statusCode"], 503);

    let mut hub = hub_answering(|_, r| {
        Err(Failure::new(
            HTTP_REQUEST_FAILED,
            format!("{} {} failed: connection refused", r.method, r.uri),
        ))
    });
    let out = run(&mut hub, DurableHttpRequest::get("http://h/a")).await;
    assert_eq!(out["failed"], HTTP_REQUEST_FAILED);
    assert!(out["message"]
        .as_str()
        .unwrap()
        .contains("connection refused"));
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let mut hub = hub_answering(|_, _| Ok(DurableHttpResponse::new(200)));
    for (n, request) in [
        DurableHttpRequest::get("not a uri"),
        DurableHttpRequest::new("G E T", "http://h/"),
        DurableHttpRequest::get("http://h/").with_header("X-Bad", "a\nb"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("bad-{n}");
        hub.start_raw("fetch", &id, &request, None).await;
        let out: Value = hub.instance(&id).unwrap().output_as().unwrap();
        assert!(out["invalid"].is_string(), "{out}");
    }
    assert!(hub.activity_calls(HTTP_ACTIVITY).is_empty());

    // a Location that cannot be polled
    let mut hub = hub_answering(|_, _| Ok(accepted("mailto:ops@example.com")));
    let out = run(&mut hub, DurableHttpRequest::get("http://h/a")).await;
    assert!(
        out["invalid"].as_str().unwrap().contains("mailto:"),
        "{out}"
    );
}

#[tokio::test]
async fn the_request_and_the_answers_are_in_history() {
    let mut hub = hub_answering(|n, _| {
        Ok(match n {
            0 => accepted("/s").with_header("Retry-After", "1"),
            _ => DurableHttpResponse::new(200).with_content("ok"),
        })
    });
    run(&mut hub, DurableHttpRequest::put("http://h/a", "x")).await;
    let history = &hub.instance("call").unwrap().history;
    let scheduled: Vec<Value> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskScheduled { name, input, .. } if name == HTTP_ACTIVITY => {
                serde_json::from_str(input.as_deref()?).ok()
            }
            _ => None,
        })
        .collect();
    let completed: Vec<Value> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskCompleted { result, .. } => {
                serde_json::from_str(result.as_deref()?).ok()
            }
            _ => None,
        })
        .collect();
    assert_eq!(scheduled[0]["method"], "PUT");
    assert_eq!(scheduled[1]["uri"], "http://h/s");
    assert_eq!(completed[0]["statusCode"], 202);
    assert_eq!(
        completed[1],
        json!({"statusCode": 200, "headers": {}, "content": "ok"})
    );
}
