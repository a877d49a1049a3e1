//! The host's HTTP front door, driven from outside: routes, methods, keys, limits, panics.

#[path = "host_support/mod.rs"]
mod support;

use serde_json::json;
use support::{AppDir, TestHost};

fn app() -> AppDir {
    support::app_dir(
        json!({
            "AzureWebJobsStorage": "",
            "TaskHubName": "HttpHub",
            "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "1024",
        }),
        None,
    )
}

#[test]
fn routes_bind_decoded_parameters() {
    let dir = app();
    let host = TestHost::start(&dir, &[]);

    let r = host.get("/api/hello/World%20Wide?greeting=hi%21");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        json!({"function": "hello", "name": "World Wide", "greeting": "hi!"})
    );
    // Literal segments (and the prefix) match case-insensitively; a trailing slash is fine.
    let r = host.get("/API/Hello/x/");
    assert_eq!(r.json()["name"], "x");

    // An optional trailing parameter and an int constraint.
    assert_eq!(
        host.get("/api/items/42").json(),
        json!({"method": "GET", "id": "42", "detail": null})
    );
    assert_eq!(host.get("/api/items/42/full").json()["detail"], "full");
    assert_eq!(
        host.request("DELETE", "/api/items/7", &[], b"").json()["method"],
        "DELETE"
    );
    let r = host.get("/api/items/abc");
    assert_eq!(r.status, 404, "the int constraint rejects abc: {r:?}");

    // A path that does not decode to UTF-8 is a client error, not a panic.
    let r = host.get("/api/hello/%FF");
    assert_eq!(r.status, 400);
    r.error_message();
    host.stop();
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let dir = app();
    let host = TestHost::start(&dir, &[]);

    for path in [
        "/api/nope",
        "/api/hello",
        "/api/hello/a/b",
        "/",
        "/nothing/here",
    ] {
        let r = host.get(path);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert!(r.error_message().contains(path), "{path}: {r:?}");
    }
    let r = host.request("PUT", "/api/items/1", &[], b"{}");
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.header("allow"), Some("DELETE, GET"));
    assert!(r.error_message().contains("PUT"));
    let r = host.request("POST", "/api/hello/x", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));

    let r = host.get("/admin/host/status");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"state": "Running"}));
    let r = host.request("POST", "/admin/host/status", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    host.stop();
}

#[test]
fn auth_levels_take_keys_from_the_header_or_the_code_parameter() {
    let dir = app();
    let host = TestHost::start(&dir, &[]);
    let function_key = dir.function_key();
    let master_key = dir.master_key();
    let system_key = dir.system_key();
    let body = br#"{"a": [1, 2]}"#;

    // Function level.
    let r = host.request("POST", "/api/echo", &[], body);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.error_message().contains("function key"));
    let r = host.request("POST", "/api/echo", &[("x-functions-key", "wrong")], body);
    assert_eq!(r.status, 401);
    let r = host.request(
        "POST",
        "/api/echo",
        &[("x-functions-key", &system_key)],
        body,
    );
    assert_eq!(r.status, 401, "the system key does not open functions");
    let r = host.request(
        "POST",
        "/api/echo",
        &[("x-functions-key", &function_key)],
        body,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json(), json!({"echo": {"a": [1, 2]}}));
    let r = host.request("POST", &format!("/api/echo?code={function_key}"), &[], body);
    assert_eq!(r.status, 200);
    let r = host.request("POST", &format!("/api/echo?code={master_key}"), &[], body);
    assert_eq!(r.status, 200);

    // Admin level.
    let r = host.get("/api/admin-only");
    assert_eq!(r.status, 401);
    assert!(r.error_message().contains("master key"));
    let r = host.request(
        "GET",
        "/api/admin-only",
        &[("x-functions-key", &function_key)],
        b"",
    );
    assert_eq!(r.status, 401);
    let r = host.request(
        "GET",
        "/api/admin-only",
        &[("x-functions-key", &master_key)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"admin": true}));
    let r = host.get(&format!("/api/admin-only?code={master_key}"));
    assert_eq!(r.status, 200);

    // Anonymous functions need nothing, and a wrong key does not hurt.
    let r = host.request("GET", "/api/hello/x", &[("x-functions-key", "wrong")], b"");
    assert_eq!(r.status, 200);
    host.stop();
}

#[test]
fn oversized_bodies_get_413_and_the_host_keeps_serving() {
    let dir = app();
    let host = TestHost::start(&dir, &[]);
    let key = dir.function_key();
    let auth = [("x-functions-key", key.as_str())];

    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(4000));
    let r = host.request("POST", "/api/echo", &auth, big.as_bytes());
    assert_eq!(r.status, 413, "{r:?}");
    assert!(r.error_message().contains("1024"));
    // Without a Content-Length the limit applies while reading.
    let r = host.request_chunked("POST", "/api/echo", &auth, big.as_bytes());
    assert_eq!(r.status, 413, "{r:?}");
    r.error_message();

    // Exactly at the limit is fine.
    let fits = format!("{{\"pad\": \"{}\"}}", "y".repeat(1024 - 11));
    assert_eq!(fits.len(), 1024);
    let r = host.request("POST", "/api/echo", &auth, fits.as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    let r = host.request_chunked("POST", "/api/echo", &auth, fits.as_bytes());
    assert_eq!(r.status, 200, "{r:?}");

    // The management API has the same limit.
    let r = host.request(
        "POST",
        "/runtime/webhooks/durabletask/orchestrators/greet",
        &[("content-type", "application/json")],
        big.as_bytes(),
    );
    assert_eq!(r.status, 413, "{r:?}");
    host.stop();
}

#[test]
fn a_panicking_function_is_a_500_and_the_host_keeps_serving() {
    let dir = app();
    let host = TestHost::start(&dir, &[]);
    for _ in 0..3 {
        let r = host.get("/api/panics");
        assert_eq!(r.status, 500, "{r:?}");
        assert!(r.error_message().contains("panics"));
        assert_eq!(host.get("/api/hello/still-here").status, 200);
    }
    assert!(host.log().contains("function panicked"), "{}", host.log());
    host.stop();
}

#[test]
fn http_functions_reach_orchestrations_through_the_client() {
    let dir = app();
    let host = TestHost::start(&dir, &[]);
    let r = host.request("POST", "/api/greet/Tokyo", &[], b"");
    assert_eq!(r.status, 200, "{r:?}\n{}", host.log());
    assert_eq!(
        r.json(),
        json!({"status": "Completed", "output": "Hi Tokyo!", "hub": "HttpHub"})
    );
    host.stop();
}

#[test]
fn the_function_timeout_of_host_json_applies_to_http_functions() {
    let dir = support::app_dir(json!({}), Some(json!({"functionTimeout": "00:00:01"})));
    let host = TestHost::start(&dir, &[]);
    let r = host.get("/api/slow/100");
    assert_eq!(r.status, 200, "{r:?}");
    let r = host.get("/api/slow/5000");
    assert_eq!(r.status, 500, "{r:?}");
    assert!(r.error_message().contains("function timeout"), "{r:?}");
    assert_eq!(host.get("/api/hello/x").status, 200);
    host.stop();
}

/// A client that trickles its body cannot hold a connection: after `DurableRequestBodyTimeout`
/// it gets 408 and the connection is closed. At most `DurableMaxConnections` connections are
/// served at once; the next waits until one closes.
#[test]
fn slow_bodies_time_out_and_connections_are_capped() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let dir = app();
    let host = TestHost::start(
        &dir,
        &[
            ("DurableRequestBodyTimeout", "1"),
            ("DurableMaxConnections", "2"),
        ],
    );
    let key = dir.function_key();
    let head = format!(
        "POST /api/echo HTTP/1.1\r\nHost: test\r\nx-functions-key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{{\""
    );
    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", host.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };

    // Two connections that have sent nothing hold both places; a third waits for one.
    let first = connect();
    let second = connect();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = connect();
    third
        .write_all(b"GET /admin/host/status HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 64];
    let waited = third.read(&mut buf);
    assert!(
        matches!(&waited, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
        "served while both places were taken: {waited:?}"
    );
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = String::new();
    third.read_to_string(&mut rest).unwrap();
    assert!(rest.starts_with("HTTP/1.1 200"), "{rest}");
    drop(second);

    // Two bytes of ten, then nothing: 408 after about a second, and the server closes.
    let mut slow = connect();
    slow.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    host.stop();
}
