//! `/admin/metrics`, scraped from outside as Prometheus would and read with the reference
//! Python parser (`prometheus_client`, pinned in tests/python/requirements.txt): it needs a
//! key outside local development mode, and its counters, histograms and gauges move as a
//! workload of completed, failed and entity-calling orchestrations runs on the real host.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

/// Parses an exposition with `prometheus_client.parser`: every sample as
/// `(name, labels, value)`.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": s.name,
                        "labels": s.labels, "value": s.value})
print(json.dumps(samples))
"#;

/// The samples of one scrape, by name and labels.
struct Scrape(Vec<Value>);

impl Scrape {
    /// The value of sample `name` whose labels include `labels` (0 when there is none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|s| s["name"] == name)
            .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
            .map(|s| s["value"].as_f64().unwrap())
            .sum()
    }

    /// The type the parser gave the family of `name`.
    fn type_of(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["type"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no sample {name}"))
    }
}

fn scrape(host: &TestHost, key: &str) -> Scrape {
    let r = host
        .call("GET", "/admin/metrics")
        .header("x-functions-key", key)
        .send();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
    let python = tests::python::set_up();
    let mut child = Command::new(python)
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child.stdin.take().unwrap().write_all(&r.body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the exposition: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&r.body)
    );
    Scrape(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn metrics_need_a_key_parse_as_prometheus_text_and_move_with_the_work() {
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_log-app"),
        json!({"TaskHubName": "Metrics"}),
        None,
    );
    let host = TestHost::start(
        &dir,
        &[
            ("DurableLocalDevelopment", "false"),
            ("DurableBindAddress", "127.0.0.1"),
        ],
    );
    let anonymous = host.get("/admin/metrics");
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.error_message().contains("key"));
    let function_key = host
        .call("GET", "/admin/metrics")
        .header("x-functions-key", &dir.function_key())
        .send();
    assert_eq!(function_key.status, 401, "a function key is not enough");
    let key = dir.system_key();
    // The master key works as well, and so does the key as the `code` query parameter.
    let _ = scrape(&host, &dir.master_key());
    let by_query = host.get(&format!("/admin/metrics?code={key}"));
    assert_eq!(by_query.status, 200);
    let before = scrape(&host, &key);

    let start = |name: &str, id: &str, input: &str| {
        let r = host
            .call("POST", &format!("{API}/orchestrators/{name}/{id}"))
            .header("x-functions-key", &key)
            .json(input)
            .send();
        assert_eq!(r.status, 202, "{:?}", r.body);
    };
    for i in 0..5 {
        start("greet", &format!("greet-{i}"), r#""Ada""#);
    }
    start("retrying", "retrying-1", "null");
    start("misspelt", "misspelt-1", "null");
    for i in 0..5 {
        host.wait_for_status(&format!("greet-{i}"), "Completed", Some(&key));
    }
    host.wait_for_status("retrying-1", "Failed", Some(&key));
    host.wait_for_status("misspelt-1", "Failed", Some(&key));
    // An episode is counted just after it commits, so the counts may trail the statuses by a
    // moment: scrape until the last episodes are in.
    // Each instance's last episode is counted with its end, after the earlier ones.
    let ended = |s: &Scrape| {
        [
            ("greet", "Completed"),
            ("retrying", "Failed"),
            ("misspelt", "Failed"),
        ]
        .iter()
        .map(|(o, st)| {
            s.value(
                "durable_orchestrations_finished_total",
                &[("orchestration", o), ("status", st)],
            )
        })
        .sum::<f64>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let after = loop {
        let after = scrape(&host, &key);
        if ended(&after) - ended(&before) >= 7.0 || std::time::Instant::now() > deadline {
            break after;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };

    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let greet = [("orchestration", "greet")];
    assert_eq!(moved("durable_orchestrations_started_total", &greet), 5.0);
    assert_eq!(
        moved(
            "durable_orchestrations_finished_total",
            &[("orchestration", "greet"), ("status", "Completed")]
        ),
        5.0
    );
    assert_eq!(
        moved(
            "durable_orchestrations_finished_total",
            &[("orchestration", "retrying"), ("status", "Failed")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "durable_activity_duration_seconds_count",
            &[("activity", "chatty"), ("outcome", "Succeeded")]
        ),
        5.0
    );
    assert_eq!(
        moved(
            "durable_activity_duration_seconds_count",
            &[("activity", "flaky"), ("outcome", "Failed")]
        ),
        3.0
    );
    // Every greet ran two episodes: the start, and the activity's answer.
    assert_eq!(
        moved(
            "durable_orchestrator_episode_duration_seconds_count",
            &greet
        ),
        10.0
    );
    assert!(moved("durable_orchestrator_episode_duration_seconds_sum", &greet) > 0.0);
    assert_eq!(
        moved("durable_entity_operations_total", &[("entity", "tally")]),
        1.0
    );
    assert!(moved("durable_store_commit_duration_seconds_count", &[]) >= 12.0);
    assert!(moved("durable_work_item_batch_size_count", &[]) >= 1.0);
    assert!(moved("durable_orchestrator_episodes_total", &[]) >= 17.0);
    assert!(moved("durable_cache_hits_total", &[]) >= 5.0);
    assert!(
        moved(
            "durable_http_requests_total",
            &[("route", "durabletask"), ("status", "202")]
        ) >= 7.0
    );
    assert!(after.value("durable_queue_messages", &[]) >= 0.0);

    // Types as Prometheus reads them, and the backlog gauges of the scale endpoint.
    let types: HashMap<&str, &str> = [
        ("durable_orchestrations_started_total", "counter"),
        ("durable_activity_duration_seconds_count", "histogram"),
        ("durable_http_request_duration_seconds_count", "histogram"),
        ("durable_cache_executions", "gauge"),
        ("durable_queue_messages", "gauge"),
        ("durable_recommended_workers", "gauge"),
    ]
    .into_iter()
    .collect();
    for (name, kind) in types {
        assert_eq!(after.type_of(name), kind, "{name}");
    }
    host.stop();
}
