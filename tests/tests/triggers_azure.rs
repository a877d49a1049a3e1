//! Queue and blob triggers end to end on Azurite: real host processes (the trigger test app,
//! and the sample app built with `azure`) driven from outside. The tests put messages and
//! write blobs with a storage client, as another system would, and observe what the
//! functions recorded (`trigger-results` blobs), the poison queues and the HTTP answers.
//! Azurite is installed and started by the harness; the tests fail, never skip, without it.

#[path = "triggers_support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const LIMIT: Duration = Duration::from_secs(30);

/// The single record of `function` under `key`, once there is one.
fn one_record(storage: &Storage, host: &TestHost, function: &str, key: &str) -> Value {
    let log = || host.log();
    let mut records = wait_for(LIMIT, &format!("{function} ran for {key}"), &log, || {
        let r = storage.records(function, key);
        (!r.is_empty()).then_some(r)
    });
    assert_eq!(records.len(), 1, "{records:?}");
    records.remove(0).1
}

#[test]
fn queue_messages_bind_as_text_bytes_and_json() {
    let _turn = serial();
    let storage = Storage::new();
    let dir = app_dir("TrigQueueBodies");
    let host = TestHost::start(&dir, &[]);
    assert!(
        host.banner.contains("queue_text: queueTrigger"),
        "{}",
        host.banner
    );

    storage.put_message("q-text", b"hello-1");
    storage.put_message("q-bytes", &[0, 1, 2, 255]);
    storage.put_message("q-json", br#"{"id": "o-1", "amount": 7}"#);

    let text = one_record(&storage, &host, "queue_text", "hello-1");
    assert_eq!(text["body"], "hello-1");
    for step in ["executing", "executed"] {
        wait_for_log_line(&host, &[step, "trigger=\"queue\" function=\"queue_text\""]);
    }
    assert_eq!(text["dequeueCount"], 1);
    assert_eq!(text["queue"], "q-text");
    let bytes = one_record(&storage, &host, "queue_bytes", "000102ff");
    assert_eq!(bytes["bytes"], json!([0, 1, 2, 255]));
    let order = one_record(&storage, &host, "queue_json", "o-1");
    assert_eq!(
        (order["amount"].clone(), order["dequeueCount"].clone()),
        (json!(7), json!(1))
    );

    // Bad input fails the run (never the host): JSON of the wrong shape, and text that is
    // not Base64, end on the poison queues after maxDequeueCount (3) tries.
    storage.put_message("q-json", br#"{"id": "o-2"}"#);
    storage.put_raw_message("q-text", "not base64!");
    let log = || host.log();
    let poisoned = take_n(1, "bad JSON poisoned", &log, || {
        storage.take_bodies("q-json-poison")
    });
    assert_eq!(poisoned, vec![br#"{"id": "o-2"}"#.to_vec()]);
    let poisoned = take_n(1, "non-Base64 text poisoned", &log, || {
        storage.take_texts("q-text-poison")
    });
    assert_eq!(poisoned, vec!["not base64!".to_string()]);
    assert!(storage.records("queue_json", "o-2").is_empty());
    assert_eq!(host.get("/admin/host/status").status, 200);
    host.stop();
}

#[test]
fn failed_queue_runs_retry_with_the_dequeue_count_then_go_to_poison() {
    let _turn = serial();
    let storage = Storage::new();
    let dir = app_dir("TrigQueueRetries");
    let host = TestHost::start(&dir, &[]);
    for msg in ["fail-twice-1", "always-1", "panic-1"] {
        storage.put_message("q-flaky", msg.as_bytes());
    }
    let log = || host.log();
    let mut poisoned = take_n(2, "two messages poisoned", &log, || {
        storage.take_bodies("q-flaky-poison")
    });
    poisoned.sort();
    assert_eq!(poisoned, vec![b"always-1".to_vec(), b"panic-1".to_vec()]);

    // Each ran exactly maxDequeueCount (3) times, seeing dequeue counts 1, 2, 3.
    for msg in ["fail-twice-1", "always-1", "panic-1"] {
        let mut counts: Vec<i64> = storage
            .records("queue_flaky", msg)
            .iter()
            .map(|(_, v)| v["dequeueCount"].as_i64().expect("a count"))
            .collect();
        counts.sort();
        assert_eq!(counts, [1, 2, 3], "{msg}\n{}", host.log());
    }
    // The message that succeeded on its third try is gone, not poisoned; nothing runs again.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(storage.records("queue_flaky", "fail-twice-1").len(), 3);
    assert!(!storage.has_messages("q-flaky-poison"));
    assert!(!storage.has_messages("q-flaky"));
    host.stop();
}

#[test]
fn shutdown_lets_a_queue_run_in_flight_finish() {
    let _turn = serial();
    let storage = Storage::new();
    let dir = app_dir("TrigQueueShutdown");
    let host = TestHost::start(&dir, &[]);
    storage.put_message("q-slow", b"slow-1");
    let log = || host.log();
    wait_for(LIMIT, "the slow run started", &log, || {
        (!storage.records("queue_slow", "slow-1").is_empty()).then_some(())
    });
    host.stop(); // SIGTERM; exits 0 once the run has finished
    let mut names: Vec<String> = storage
        .records("queue_slow", "slow-1")
        .into_iter()
        .map(|(name, _)| name.split('/').nth(2).unwrap_or_default().to_string())
        .map(|version| {
            version
                .rsplit_once('-')
                .map(|(v, _)| v.to_string())
                .unwrap_or(version)
        })
        .collect();
    names.sort();
    assert_eq!(names, ["1-finished", "1-started"]);
    // Finished runs delete their message: nothing is left to run again.
    assert!(!storage.has_messages("q-slow"));
}

#[test]
fn each_blob_version_runs_once_across_a_restart() {
    let _turn = serial();
    let storage = Storage::new();
    let dir = app_dir("TrigBlobRestart");
    let host = TestHost::start(&dir, &[]);
    let etag1 = storage.put_blob("b-text", "report.v1.txt", b"one");
    let first = one_record(&storage, &host, "blob_text", "report.v1.txt");
    assert_eq!(first["content"], "one");
    assert_eq!(first["name"], "report.v1");
    assert_eq!(first["ext"], "txt");
    assert_eq!(first["container"], "b-text");
    assert_eq!(first["etag"], etag1.trim_matches('"'));
    assert_eq!(first["attempt"], 1);
    // The run is in the log, in the execution's span, from its start to its outcome.
    for step in ["executing", "executed"] {
        wait_for_log_line(&host, &[step, "blob_text", "report.v1.txt"]);
    }
    host.stop();

    // Written while no host runs: found by the start-up scan. The first blob's version is
    // not run again by the new host (its receipt is complete).
    storage.put_blob("b-text", "offline.txt", b"written while down");
    storage.put_blob("b-text", "no-extension", b"does not match {name}.{ext}");
    let host = TestHost::start(&dir, &[]);
    let offline = one_record(&storage, &host, "blob_text", "offline.txt");
    assert_eq!(offline["content"], "written while down");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(storage.records("blob_text", "report.v1.txt").len(), 1);
    assert!(storage.records("blob_text", "no-extension").is_empty());

    // A new version runs once more.
    let etag2 = storage.put_blob("b-text", "report.v1.txt", b"two");
    assert_ne!(etag1, etag2);
    let log = || host.log();
    let records = wait_for(LIMIT, "the second version ran", &log, || {
        let r = storage.records("blob_text", "report.v1.txt");
        (r.len() >= 2).then_some(r)
    });
    let mut contents: Vec<&str> = records
        .iter()
        .map(|(_, v)| v["content"].as_str().expect("content"))
        .collect();
    contents.sort();
    assert_eq!(contents, ["one", "two"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(storage.records("blob_text", "report.v1.txt").len(), 2);
    host.stop();
}

#[test]
fn two_hosts_run_each_blob_version_once() {
    let _turn = serial();
    let storage = Storage::new();
    let dir = app_dir("TrigBlobTwoHosts");
    let a = TestHost::start(&dir, &[("DurableWorkerId", "host-a")]);
    let b = TestHost::start(&dir, &[("DurableWorkerId", "host-b")]);
    let names: Vec<String> = (0..12).map(|i| format!("shared-{i}.txt")).collect();
    for name in &names {
        storage.put_blob("b-text", name, name.as_bytes());
    }
    let log = || format!("host a:\n{}\nhost b:\n{}", a.log(), b.log());
    wait_for(LIMIT, "every blob ran", &log, || {
        names
            .iter()
            .all(|n| !storage.records("blob_text", n).is_empty())
            .then_some(())
    });
    // Both hosts keep scanning; nobody runs a version twice.
    std::thread::sleep(Duration::from_secs(3));
    for name in &names {
        let records = storage.records("blob_text", name);
        assert_eq!(records.len(), 1, "{name}: {records:?}\n{}", log());
    }
    a.stop();
    b.stop();
}

#[test]
fn blob_content_binds_as_json_and_failures_end_in_poison() {
    let _turn = serial();
    let storage = Storage::new();
    let dir = app_dir("TrigBlobPoison");
    let host = TestHost::start(&dir, &[]);
    storage.put_blob("b-json", "in/o-9.json", br#"{"id": "o-9", "amount": 3}"#);
    storage.put_blob("b-json", "in/broken.json", b"not json");
    storage.put_blob("b-poison", "always.bin", b"x");
    let order = one_record(&storage, &host, "blob_json", "o-9");
    assert_eq!(
        (order["amount"].clone(), order["param"].clone()),
        (json!(3), json!("o-9"))
    );

    let log = || host.log();
    let poisoned: Vec<Value> = take_n(2, "two blobs poisoned", &log, || {
        storage.take_bodies("webjobs-blobtrigger-poison")
    })
    .iter()
    .map(|b| serde_json::from_slice(b).expect("a JSON poison message"))
    .collect();
    let mut named: Vec<(String, String)> = poisoned
        .iter()
        .map(|m| {
            assert_eq!(m["Type"], "BlobTrigger", "{m}");
            (
                m["ContainerName"].as_str().unwrap().to_string(),
                m["BlobName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    named.sort();
    assert_eq!(
        named,
        [
            ("b-json".to_string(), "in/broken.json".to_string()),
            ("b-poison".to_string(), "always.bin".to_string())
        ]
    );
    // maxDequeueCount (3) attempts, then never again.
    std::thread::sleep(Duration::from_secs(2));
    let mut attempts: Vec<i64> = storage
        .records("blob_poison", "always.bin")
        .iter()
        .map(|(_, v)| v["attempt"].as_i64().expect("attempt"))
        .collect();
    attempts.sort();
    assert_eq!(attempts, [1, 2, 3], "{}", host.log());
    assert!(!storage.has_messages("webjobs-blobtrigger-poison"));
    host.stop();
}

#[test]
fn a_missing_connection_setting_stops_start_up_naming_it() {
    let dir = AppDir::new(
        APP,
        json!({
            "AzureWebJobsStorage": azurite().connection_string(),
            "TaskHubName": "TrigNoConnection",
        }),
        Some(fast_host_json()),
    );
    let out = dir.run_to_exit(&["--port", "0"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("TriggerStorage") && stderr.contains("queue_json"),
        "{stderr}"
    );
}
