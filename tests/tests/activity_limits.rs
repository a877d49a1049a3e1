//! Limits per activity from outside, on the embedded store and on Azurite: the `limits-app`
//! binary limits `pinched` to 2 runs at once and `paced` to 10 starts a second with the
//! trigger attribute; a fan-out of each never runs more at once or starts faster (also when
//! the runs waiting fill half the host's slots and later ones go back to the task hub), and
//! host.json `extensions.durableTask.activities` overrides the attribute's limits.

use std::time::Duration;

use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

/// Runs `fan_out` over `count` calls of `activity` and returns the answers.
fn fan_out(host: &TestHost, id: &str, activity: &str, count: usize) -> Vec<u64> {
    let r = host
        .call("POST", &format!("{API}/orchestrators/fan_out/{id}"))
        .json(&json!({ "activity": activity, "count": count }).to_string())
        .send();
    assert_eq!(r.status, 202, "{:?}\n{}", r.body, host.log());
    let done = host.wait_for_status(id, "Completed", None);
    serde_json::from_value(done["output"].clone()).unwrap_or_else(|e| panic!("{e}: {done}"))
}

/// The most starts of `starts` (milliseconds) within any one second.
fn most_in_a_second(starts: &[u64]) -> usize {
    let mut sorted = starts.to_vec();
    sorted.sort_unstable();
    (0..sorted.len())
        .map(|i| {
            sorted[i..]
                .iter()
                .take_while(|t| **t < sorted[i] + 1000)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn start(values: &Value, host_json: Value) -> (AppDir, TestHost) {
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_limits-app"),
        values.clone(),
        Some(host_json),
    );
    let host = TestHost::start(&dir, &[]);
    (dir, host)
}

fn limits_hold(values: Value) {
    // Six slots: two runs of `pinched` at once, three waiting, the rest sent back to the hub.
    let host_json = json!({ "version": "2.0", "extensions": { "durableTask": {
        "maxConcurrentActivityFunctions": 6,
    } } });
    let (dir, host) = start(&values, host_json);
    host.wait_for_line(
        "pinched: activityTrigger (at most 2 at once)",
        Duration::from_secs(10),
    );
    host.wait_for_line("paced: activityTrigger (10/s)", Duration::from_secs(10));

    let at_once = fan_out(&host, "pinched-attribute", "pinched", 12);
    assert_eq!(at_once.len(), 12);
    assert_eq!(at_once.iter().max(), Some(&2), "runs at once: {at_once:?}");
    let metrics = host
        .call("GET", "/admin/metrics")
        .header("x-functions-key", &dir.master_key())
        .send();
    let text = String::from_utf8_lossy(&metrics.body).to_string();
    let deferred = text
        .lines()
        .find(|l| l.starts_with("durable_activity_runs_deferred_total{activity=\"pinched\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no deferred runs of pinched:\n{text}"));
    assert!(deferred >= 1, "{text}");

    // 21 starts at 10 a second take two seconds (the first starts at once).
    let starts = fan_out(&host, "paced-attribute", "paced", 21);
    let span = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    assert!(span >= 1500, "21 starts within {span} ms: {starts:?}");
    assert!(
        most_in_a_second(&starts) <= 12,
        "{} starts within a second: {starts:?}",
        most_in_a_second(&starts)
    );
    host.stop();

    // host.json overrides the attribute, limit by limit.
    let host_json = json!({ "version": "2.0", "extensions": { "durableTask": { "activities": {
        "Pinched": { "maxConcurrent": 3 },
        "paced": { "maxPerSecond": 0.5, "maxConcurrent": 1 },
    } } } });
    let (_dir, host) = start(&values, host_json);
    host.wait_for_line(
        "pinched: activityTrigger (at most 3 at once)",
        Duration::from_secs(10),
    );
    host.wait_for_line(
        "paced: activityTrigger (at most 1 at once, 0.5/s)",
        Duration::from_secs(10),
    );
    let at_once = fan_out(&host, "pinched-host-json", "pinched", 12);
    assert_eq!(at_once.iter().max(), Some(&3), "runs at once: {at_once:?}");
    let starts = fan_out(&host, "paced-host-json", "paced", 3);
    let span = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    assert!(
        span >= 3500,
        "3 starts within {span} ms at 0.5/s: {starts:?}"
    );
    host.stop();
}

#[test]
fn activity_limits_hold_on_sqlite() {
    // Each host on the task hub in its own app directory.
    limits_hold(json!({}));
}

#[test]
fn activity_limits_hold_on_azurite() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let hub = format!("Limits{}", rand::random::<u32>());
    limits_hold(json!({
        "AzureWebJobsStorage": azurite.connection_string(),
        "TaskHubName": hub,
    }));
}
