//! A rolling deploy on one SQLite task hub, driven from outside over HTTP: an old binary
//! (`versions-old`: `order` version 1) and a new one (`versions-new`: `order` version 2 with
//! two new activities, beside the version 1 code it keeps) take turns on the same file, each
//! with its host.json `defaultVersion`.
//!
//! - Instances get the host's default version, shown in status and in queries.
//! - The new binary runs a version 1 instance with the code it kept, and version 2 with the new.
//! - The old binary leaves a version 2 instance, and activity calls it has no function for
//!   (even after the new host was SIGKILLed mid-activity), for the new binary, with a warning;
//!   the new binary then finishes them.
//! - `missingFunctionTimeout` fails held-back work after that time; `versionFailureStrategy`
//!   `Fail` fails it at once.
//! - `export-history` writes the instances' histories; they replay against the code that made
//!   them, and a change that would break them is named by the replay check.

use std::path::Path;
use std::time::{Duration, Instant};

use durable::engine::function::orchestrator_fn;
use durable::runtime::Registry;
use durable::testing::replay_histories_with;
use durable::{when_all, Failure, OrchestrationContext};
use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";

/// An app directory for `binary` whose task hub is the SQLite file in `data`.
fn app(binary: &str, data: &Path, durable_task: Value) -> AppDir {
    let mut extensions = json!({ "durableTask": durable_task });
    extensions["durableTask"]["hubName"] = "Deploys".into();
    AppDir::new(
        binary,
        json!({ "DurableDataDir": data.to_str().unwrap() }),
        Some(json!({ "version": "2.0", "extensions": extensions })),
    )
}

fn start(host: &TestHost, id: &str) {
    let r = host
        .call("POST", &format!("{API}/orchestrators/order/{id}"))
        .send();
    assert_eq!(r.status, 202, "{:?}\n{}", r.body, host.log());
    host.wait_for_status(id, "Running", None);
}

fn approve(host: &TestHost, id: &str, what: &str) {
    let r = host
        .call("POST", &format!("{API}/instances/{id}/raiseEvent/approve"))
        .json(&json!(what).to_string())
        .send();
    assert_eq!(r.status, 202, "{:?}", r.body);
}

fn status(host: &TestHost, id: &str) -> Value {
    host.get(&format!("{API}/instances/{id}")).json()
}

/// Waits until the host's log has `count` lines containing every one of `texts`.
fn wait_for_log(host: &TestHost, texts: &[&str], count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = host.log();
        let found = log
            .lines()
            .filter(|l| texts.iter().all(|t| l.contains(t)))
            .count();
        if found >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {count} log lines with {texts:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_rolling_deploy_leaves_each_instance_and_activity_for_a_host_that_has_its_code() {
    let data = tempfile::tempdir().unwrap();
    let old_bin = env!("CARGO_BIN_EXE_versions-old");
    let new_bin = env!("CARGO_BIN_EXE_versions-new");
    let old = app(old_bin, data.path(), json!({ "defaultVersion": "1" }));
    // one activity at a time, so that an instance's second activity waits while the first runs
    let new = app(
        new_bin,
        data.path(),
        json!({ "defaultVersion": "2", "maxConcurrentActivityFunctions": 1 }),
    );

    // The old binary starts an instance: version 1.
    let host = TestHost::start(&old, &[]);
    start(&host, "a");
    assert_eq!(status(&host, "a")["version"], "1");
    host.stop();

    // The new binary runs it with the version 1 code it kept, and new ones with version 2.
    let host = TestHost::start(&new, &[]);
    assert!(
        host.banner
            .contains("order: orchestrationTrigger (versions 1, 2)"),
        "{}",
        host.banner
    );
    approve(&host, "a", "a");
    let done = host.wait_for_status("a", "Completed", None);
    assert_eq!(done["output"], "v1 shipped a under 1");
    start(&host, "b");
    approve(&host, "b", "b");
    let done = host.wait_for_status("b", "Completed", None);
    assert_eq!(done["output"], "v2 packed b and express b");
    assert_eq!(done["version"], "2");
    let page = host.get(&format!("{API}/instances")).json();
    let versions: Vec<(&str, &str)> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["instanceId"].as_str().unwrap(),
                s["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [("a", "1"), ("b", "2")]);
    // c waits for approval; d is killed while packing, before it ships express
    start(&host, "c");
    start(&host, "d");
    approve(&host, "d", "slow d");
    wait_for_log(&host, &["packing", "slow d"], 1);
    host.signal(libc::SIGKILL);
    drop(host);

    // The old binary has neither version 2 nor the new activities: it leaves them, with a
    // warning, and fails nothing.
    let host = TestHost::start(&old, &[]);
    approve(&host, "c", "c");
    wait_for_log(
        &host,
        &["leaving the instance for another host", "\"2\"", "c"],
        1,
    );
    wait_for_log(
        &host,
        &["leaving the activity call for another host", "pack"],
        1,
    );
    wait_for_log(
        &host,
        &["leaving the activity call for another host", "ship_express"],
        1,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(status(&host, "c")["runtimeStatus"], "Running");
    assert_eq!(status(&host, "d")["runtimeStatus"], "Running");
    host.stop();

    // The new binary finishes both.
    let host = TestHost::start(&new, &[("PACK_QUICKLY", "true")]);
    let done = host.wait_for_status("c", "Completed", None);
    assert_eq!(done["output"], "v2 packed c and express c");
    let done = host.wait_for_status("d", "Completed", None);
    assert_eq!(done["output"], "v2 packed slow d and express slow d");
    start(&host, "e");
    start(&host, "f");
    host.stop();

    // An old host with a short missingFunctionTimeout fails what it held back that long.
    let impatient = app(
        old_bin,
        data.path(),
        json!({ "defaultVersion": "1", "missingFunctionTimeout": "00:00:02" }),
    );
    let host = TestHost::start(&impatient, &[]);
    approve(&host, "e", "e");
    let failed = host.wait_for_status("e", "Failed", None);
    let output = failed["output"].as_str().unwrap_or_default();
    assert!(
        output.contains("VersionMismatch") && output.contains("missingFunctionTimeout"),
        "{failed}"
    );
    host.stop();

    // versionFailureStrategy Fail fails it at once.
    let strict = app(
        old_bin,
        data.path(),
        json!({ "defaultVersion": "1", "versionFailureStrategy": "Fail" }),
    );
    let host = TestHost::start(&strict, &[]);
    approve(&host, "f", "f");
    let failed = host.wait_for_status("f", "Failed", None);
    let output = failed["output"].as_str().unwrap_or_default();
    assert!(
        output.contains("VersionMismatch") && !output.contains("missingFunctionTimeout"),
        "{failed}"
    );
    host.stop();

    // The histories, exported by the app binary, replay against the code that made them; a
    // version 2 that no longer packs would break the instances that did.
    let exported = data.path().join("histories");
    let out = new.run_to_exit(
        &["export-history", "--output", exported.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let replayed = replay_histories_with(&orders(true), &exported).unwrap();
    let ids: Vec<&str> = replayed.iter().map(|r| r.instance_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "f"]);
    let broken = replay_histories_with(&orders(false), &exported).unwrap_err();
    assert_eq!(broken.failures.len(), 3, "{broken}");
    let text = broken.to_string();
    assert!(
        text.contains("b.json")
            && text.contains("TaskScheduled \"pack\"")
            && text.contains("call_activity(\"ship_express\")"),
        "{text}"
    );
}

/// The orchestrators of the new binary, as the replay check sees them: version 1, and
/// version 2 as shipped (`packs`) or changed to ship express only.
fn orders(packs: bool) -> Registry {
    let v1 = orchestrator_fn("order", |ctx: OrchestrationContext, _: ()| async move {
        let approved: String = ctx.wait_for_external_event("approve").await?;
        let label: String = ctx.call_activity_by_name("ship", &approved).await?;
        Ok(format!(
            "v1 {label} under {}",
            ctx.version().unwrap_or_default()
        ))
    });
    let v2 = orchestrator_fn(
        "order",
        move |ctx: OrchestrationContext, _: ()| async move {
            let approved: String = ctx.wait_for_external_event("approve").await?;
            // ids are taken in call order: pack first, as shipped
            let mut calls = Vec::new();
            if packs {
                calls.push(ctx.call_activity_by_name::<_, String>("pack", &approved));
            }
            calls.push(ctx.call_activity_by_name("ship_express", &approved));
            let labels = when_all(calls)
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, Failure>(format!("v2 {}", labels.join(" and ")))
        },
    );
    Registry::new()
        .add_orchestrator_version("order", Some("1"), v1)
        .add_orchestrator_version("order", Some("2"), v2)
}

#[test]
fn bad_versioning_settings_stop_the_host_with_a_message() {
    let data = tempfile::tempdir().unwrap();
    let dir = app(
        env!("CARGO_BIN_EXE_versions-old"),
        data.path(),
        json!({ "versionMatchStrategy": "Newest" }),
    );
    let out = dir.run_to_exit(&["--port", "0"], &[]);
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("versionMatchStrategy") && text.contains("CurrentOrOlder"),
        "{text}"
    );
}
