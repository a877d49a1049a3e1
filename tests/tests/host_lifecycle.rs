//! The host process from outside: configuration and environment overrides, the banner,
//! the secrets file, the management API's key, start-up errors, and graceful shutdown.

#[path = "host_support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::TestHost;

#[test]
fn the_banner_lists_every_function_with_trigger_and_url() {
    let dir = support::app_dir(
        json!({"TaskHubName": "IgnoredHub"}),
        Some(json!({
            "version": "2.0",
            "functionTimeout": "00:05:00",
            "extensions": {"durableTask": {
                "hubName": "BannerHub",
                "maxConcurrentActivityFunctions": 4,
                "maxConcurrentOrchestratorFunctions": 2
            }}
        })),
    );
    let host = TestHost::start(&dir, &[]);
    let base = format!("http://localhost:{}", host.port);
    let banner = &host.banner;
    for line in [
        format!("        admin_only: [GET] {base}/api/admin-only"),
        format!("        echo: [POST] {base}/api/echo"),
        format!("        hello: [GET] {base}/api/hello/{{name}}"),
        format!("        items: [GET,DELETE] {base}/api/items/{{id:int}}/{{detail?}}"),
        format!("        panics: [GET] {base}/api/panics"),
        format!("        setting: [GET] {base}/api/setting/{{name}}"),
        format!("        slow: [GET] {base}/api/slow/{{ms:int}}"),
        format!("        start_greet: [POST] {base}/api/greet/{{name}}"),
        "        greet: orchestrationTrigger".to_string(),
        "        say_hi: activityTrigger".to_string(),
        "        tick: timerTrigger".to_string(),
    ] {
        assert!(
            banner.lines().any(|l| l == line),
            "missing {line:?} in:\n{banner}"
        );
    }
    assert!(banner.contains("Functions:"), "{banner}");
    let db = dir.path().join(".durable").join("BannerHub.db");
    assert!(
        banner.contains(&format!("Task hub: BannerHub (SQLite {})", db.display())),
        "{banner}"
    );
    assert!(db.exists());
    assert!(banner.contains("Local development mode: on"), "{banner}");
    assert!(banner.contains(&format!("Listening on http://127.0.0.1:{}", host.port)));
    // Timer functions are handed to the timer trigger.
    host.wait_for_line("timer: tick ran", Duration::from_secs(30));
    host.stop();
}

#[test]
fn environment_variables_override_local_settings() {
    let dir = support::app_dir(
        json!({"TaskHubName": "FileHub", "MY_SETTING": "from-file", "ONLY_IN_FILE": "file"}),
        None,
    );
    let host = TestHost::start(
        &dir,
        &[("TaskHubName", "EnvHub"), ("MY_SETTING", "from-env")],
    );
    assert!(host.banner.contains("Task hub: EnvHub"), "{}", host.banner);
    assert!(dir.path().join(".durable/EnvHub.db").exists());
    assert_eq!(
        host.get("/api/setting/MY_SETTING").json(),
        json!({"value": "from-env"})
    );
    // Values are exported to the environment of the functions.
    assert_eq!(
        host.get("/api/setting/ONLY_IN_FILE").json(),
        json!({"value": "file"})
    );
    assert_eq!(
        host.get("/api/setting/NOT_SET_ANYWHERE").json(),
        json!({"value": null})
    );
    host.stop();

    // The local-development switch and AzureWebJobsStorage come from the environment too.
    let host = TestHost::start(
        &dir,
        &[
            ("DurableLocalDevelopment", "false"),
            ("AzureWebJobsStorage", ""),
        ],
    );
    assert!(
        host.banner.contains("Local development mode: off"),
        "{}",
        host.banner
    );
    host.stop();
}

#[test]
fn the_secrets_file_is_created_once_and_reused() {
    let dir = support::app_dir(json!({}), None);
    let path = dir.path().join(".durable/secrets.json");
    assert!(!path.exists());
    let host = TestHost::start(&dir, &[]);
    let first = std::fs::read_to_string(&path).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the secrets file is private");
    }
    let secrets = dir.secrets();
    for key in [
        secrets["masterKey"].as_str().unwrap(),
        secrets["functionKeys"]["default"].as_str().unwrap(),
        secrets["systemKeys"]["durabletask_extension"]
            .as_str()
            .unwrap(),
    ] {
        assert!(key.len() >= 32, "{key}");
        assert!(key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
    host.stop();

    let host = TestHost::start(&dir, &[]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        first,
        "keys are reused"
    );
    let key = dir.function_key();
    let r = host.request("POST", "/api/echo", &[("x-functions-key", &key)], b"1");
    assert_eq!(r.status, 200, "{r:?}");
    host.stop();
}

#[test]
fn the_management_api_needs_the_system_key_outside_local_development() {
    let webhook = "/runtime/webhooks/durabletask/instances";
    let dir = support::app_dir(json!({"DurableLocalDevelopment": false}), None);
    let host = TestHost::start(&dir, &[]);
    assert!(
        host.banner.contains("Local development mode: off"),
        "{}",
        host.banner
    );
    let r = host.get(webhook);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.error_message().contains("system key"));
    let r = host.request(
        "GET",
        webhook,
        &[("x-functions-key", &dir.function_key())],
        b"",
    );
    assert_eq!(r.status, 401, "a function key is not enough");
    let r = host.get(&format!("{webhook}?code={}", dir.system_key()));
    assert_ne!(r.status, 401, "{r:?}");
    let r = host.request(
        "GET",
        webhook,
        &[("x-functions-key", &dir.system_key())],
        b"",
    );
    assert_ne!(r.status, 401, "{r:?}");
    let r = host.request(
        "GET",
        webhook,
        &[("x-functions-key", &dir.master_key())],
        b"",
    );
    assert_ne!(r.status, 401, "{r:?}");
    host.stop();

    // Local development mode (the default) lets management calls through without a key.
    let dir = support::app_dir(json!({}), None);
    let host = TestHost::start(&dir, &[]);
    let r = host.get(webhook);
    assert_ne!(r.status, 401, "{r:?}");
    host.stop();
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_and_exits_zero() {
    let dir = support::app_dir(json!({}), None);
    let mut host = TestHost::start(&dir, &[]);
    let port = host.port;
    let slow = std::thread::spawn(move || {
        let started = Instant::now();
        let r = support::get(port, "/api/slow/1500");
        (r, started.elapsed())
    });
    host.wait_for_line("slow: started", Duration::from_secs(30));
    host.signal(libc::SIGTERM);
    // Stop taking work: new connections are refused soon after the signal.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still accepting connections after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (r, took) = slow.join().unwrap();
    assert_eq!(r.status, 200, "{r:?}\n{}", host.log());
    assert_eq!(r.json(), json!({"slept_ms": 1500}));
    assert!(took >= Duration::from_millis(1500));
    let status = host.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}\n{}", host.log());
    let log = host.log();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("host stopped"), "{log}");
}

#[test]
fn start_up_errors_are_clear() {
    // An Azure Storage connection string that cannot be used names the setting and the
    // problem, never the key (these tests build the host with the `azure` feature).
    let dir = support::app_dir(
        json!({"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0!"}),
        None,
    );
    let out = dir.run_to_exit(&["--port", "0"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("AzureWebJobsStorage cannot be used for an Azure Storage task hub"),
        "{stderr}"
    );
    assert!(stderr.contains("AccountKey"), "{stderr}");
    assert!(
        !stderr.contains("c2VjcmV0"),
        "the account key is not printed: {stderr}"
    );

    // Bad JSON names the file and the line.
    let dir = support::app_dir(json!({}), None);
    dir.write(
        "local.settings.json",
        "{\n  \"Values\": {\n    \"A\": 1,\n  }\n}\n",
    );
    let out = dir.run_to_exit(&[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("local.settings.json"), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");

    // A bad argument prints the usage.
    let out = dir.run_to_exit(&["--bogus"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
    let out = dir.run_to_exit(&["--help"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--port"));
}

#[test]
fn shutdown_abandons_work_past_the_deadline_and_still_exits_zero() {
    let dir = support::app_dir(json!({"DurableShutdownDeadline": "1"}), None);
    let mut host = TestHost::start(&dir, &[]);
    let port = host.port;
    let slow = std::thread::spawn(move || {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::io::Write::write_all(&mut s, b"GET /api/slow/60000 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        raw
    });
    host.wait_for_line("slow: started", Duration::from_secs(30));
    let signalled = Instant::now();
    host.signal(libc::SIGTERM);
    let status = host.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit status {status:?}\n{}", host.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "took {:?}",
        signalled.elapsed()
    );
    assert!(
        host.log().contains("shutdown deadline passed"),
        "{}",
        host.log()
    );
    // The abandoned request gets no response; the connection just closes.
    assert!(slow.join().unwrap().is_empty());
}

/// A binary with no functions (e.g. its functions sit in a library crate it never links) still
/// starts, and its log says what is wrong and how to fix it.
#[test]
fn a_host_with_no_functions_says_so() {
    let dir = support::AppDir::new(env!("CARGO_BIN_EXE_empty-app"), json!({}), None);
    let host = TestHost::start(&dir, &[]);
    // Written before the banner, so it is in the log once the host listens.
    let log = host.log();
    assert!(
        log.contains("WARNING: no functions are registered in this binary"),
        "{log}"
    );
    assert!(log.contains("use your_functions_crate as _;"), "{log}");
    host.stop();
}
