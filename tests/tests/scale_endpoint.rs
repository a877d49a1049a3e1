//! The autoscaler's view from outside: a host that runs one activity at a time is given more
//! slow activities than it can run, and `GET /admin/host/scale` (JSON) and
//! `/admin/host/scale/metrics` (Prometheus text) report the backlog, the partitions' holder
//! and a recommended worker count; both need the master key. On Azurite (four partitions) and
//! on the embedded store.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::app_host::{request_to, try_request, AppDir, TestHost};

const MASTER_KEY: &str = "scale-test-master-key";
/// Instances, each with one activity of `STEP_MS`; one activity runs at a time.
const INSTANCES: usize = 6;
const STEP_MS: u64 = 4_000;

fn start_host(store: Value) -> (AppDir, TestHost) {
    let mut values = json!({
        "TaskHubName": format!("Scale{}", rand::random::<u32>()),
        "DurableLocalDevelopment": false,
        "DurableMasterKey": MASTER_KEY,
        "DurableFunctionKey": "scale-test-function-key",
        "DurableSystemKey": "scale-test-system-key",
        "DurableWorkerId": "scale-worker",
        "DurableShutdownDeadline": "1",
    });
    for (k, v) in store.as_object().unwrap() {
        values[k] = v.clone();
    }
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_backlog-app"),
        values,
        Some(json!({
            "version": "2.0",
            "extensions": {"durableTask": {"maxConcurrentActivityFunctions": 1}}
        })),
    );
    let host = TestHost::start(&dir, &[]);
    (dir, host)
}

/// Starts the slow instances, then reads the scale endpoints until the activity backlog shows;
/// returns the JSON answer and the Prometheus text.
fn backlog_seen(host: &TestHost) -> (Value, String) {
    assert_eq!(
        try_request(host.port, "GET", "/admin/host/scale")
            .unwrap()
            .status,
        401,
        "the scale endpoint wants the master key"
    );
    for i in 0..INSTANCES {
        let start = format!(
            "/runtime/webhooks/durabletask/orchestrators/slow_work/slow-{i}?code=scale-test-system-key"
        );
        let r = request_to(host.port, "POST", &start)
            .json(&STEP_MS.to_string())
            .send();
        assert_eq!(r.status, 202, "{r:?}");
    }
    let started = Instant::now();
    loop {
        let r = request_to(host.port, "GET", "/admin/host/scale")
            .header("x-functions-key", MASTER_KEY)
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        let scale = r.json();
        if scale["workItemMessages"].as_u64().unwrap_or(0) >= 3 {
            let metrics = request_to(
                host.port,
                "GET",
                &format!("/admin/host/scale/metrics?code={MASTER_KEY}"),
            )
            .send();
            assert_eq!(metrics.status, 200, "{metrics:?}");
            assert!(
                metrics
                    .header("content-type")
                    .is_some_and(|t| t.starts_with("text/plain")),
                "{metrics:?}"
            );
            return (scale, String::from_utf8(metrics.body).unwrap());
        }
        assert!(
            started.elapsed() < Duration::from_secs(STEP_MS / 1000 * 2),
            "no backlog reported: {scale}\n{}",
            host.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The recommendation for this backlog: one worker per waiting activity (one runs at a
/// time), or one for the orchestrations (far fewer than 256 waiting) if more.
fn expected_workers(work_items: u64, control: u64) -> u64 {
    work_items.max(u64::from(control > 0))
}

/// The sum of a metric over every line that starts with `prefix`.
fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The metric `name` with exactly these labels (`""` for none), as a number.
fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[test]
fn on_azure_storage_the_scale_endpoints_report_the_backlog_and_the_partitions() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let (_dir, host) = start_host(json!({"AzureWebJobsStorage": azurite.connection_string()}));
    let (scale, metrics) = backlog_seen(&host);

    let backlog = &scale["backlog"];
    assert_eq!(
        backlog["controlQueues"].as_array().unwrap().len(),
        4,
        "{scale}"
    );
    let partitions = backlog["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 4, "{scale}");
    assert!(
        partitions.iter().all(|p| p["owner"] == "scale-worker"),
        "the one host holds every partition: {scale}"
    );
    check_recommendations(&scale, &metrics);
    let work_items = backlog["workItems"]["name"].as_str().unwrap();
    assert!(
        metric(
            &metrics,
            &format!("durable_queue_messages{{kind=\"work_item\",queue=\"{work_items}\"}}")
        )
        .is_some_and(|n| n >= 3.0),
        "{metrics}"
    );
    for p in partitions {
        let line = format!(
            "durable_partition_leased{{partition=\"{}\",owner=\"scale-worker\"}}",
            p["partition"].as_str().unwrap()
        );
        assert_eq!(metric(&metrics, &line), Some(1.0), "{line}\n{metrics}");
    }
    host.stop();
}

#[test]
fn on_the_embedded_store_the_scale_endpoints_report_the_backlog() {
    let (_dir, host) = start_host(json!({}));
    let (scale, metrics) = backlog_seen(&host);
    let backlog = &scale["backlog"];
    assert_eq!(
        backlog["controlQueues"].as_array().unwrap().len(),
        1,
        "{scale}"
    );
    assert_eq!(backlog["partitions"], json!([]), "{scale}");
    let age = backlog["workItems"]["oldestMessageAge"].as_f64();
    assert!(age.is_some_and(|a| a > 0.0), "{scale}");
    check_recommendations(&scale, &metrics);
    host.stop();
}

/// Each answer (read one after the other, so the backlog may have moved) recommends what its
/// own figures call for.
fn check_recommendations(scale: &Value, metrics: &str) {
    assert_eq!(scale["targets"]["activitiesPerWorker"], 1);
    let expected = expected_workers(
        scale["workItemMessages"].as_u64().unwrap(),
        scale["controlQueueMessages"].as_u64().unwrap(),
    );
    assert_eq!(
        scale["recommendedWorkers"].as_u64(),
        Some(expected),
        "{scale}"
    );
    let expected = expected_workers(
        metric_sum(metrics, "durable_queue_messages{kind=\"work_item\"") as u64,
        metric_sum(metrics, "durable_queue_messages{kind=\"control\"") as u64,
    );
    assert_eq!(
        metric(metrics, "durable_recommended_workers"),
        Some(expected as f64),
        "{metrics}"
    );
}
