//! The OpenAPI document of the HTTP functions, from outside: the sample app's
//! `/api/openapi.json` and `/api/openapi.yaml` are valid OpenAPI 3.1 (openapi-spec-validator)
//! and say the same; every HTTP function is there with its methods, parameters, bodies, the
//! 202 of orchestration starters and its keys; `/api/swagger/ui` is served with its assets
//! and, in headless Chromium, lists the operations and sends a request;
//! an app route of the same path keeps its place; and schemathesis, driving the running sample
//! app from its document, finds no 5xx and no answer the document does not allow.
//!
//! The Python tools live in the test virtualenv (`tests/python/setup.sh`, pinned in
//! `tests/python/requirements.txt`); a set-up that fails fails the test.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};
use tests::sample_app::SampleApp;
use tests::{browser, python};

/// Runs `tests/python/check_openapi.py` against `base` (`http://127.0.0.1:PORT/api`); returns
/// the document it validated.
fn valid_document(base: &str) -> Value {
    let out = Command::new(python::set_up())
        .arg(python::python_dir().join("check_openapi.py"))
        .arg(base)
        .output()
        .expect("run check_openapi.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check_openapi.py {base} failed ({}):\n{}\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("check_openapi.py prints the document")
}

/// Every operation of the document: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            out.push((path.clone(), method.clone(), op.clone()));
        }
    }
    out
}

/// The names of the HTTP functions the banner lists (`  name: [METHODS] http://...`).
fn http_functions(banner: &str) -> BTreeSet<String> {
    banner
        .lines()
        .filter(|l| l.contains(": [") && l.contains(" http://"))
        .filter_map(|l| l.trim().split(':').next().map(str::to_string))
        .collect()
}

fn statuses(op: &Value) -> Vec<&str> {
    op["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .map(String::as_str)
        .collect()
}

fn json_ref(response: &Value) -> &str {
    response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn the_sample_app_documents_every_http_function() {
    let app = SampleApp::start(json!({}));
    let doc = valid_document(&format!("http://127.0.0.1:{}/api", app.host.port));
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "functions");

    // Every HTTP function, and nothing else (the management API has its own docs).
    let functions = http_functions(&app.host.banner);
    assert_eq!(functions.len(), 7, "{}", app.host.banner);
    let ops = operations(&doc);
    let documented: BTreeSet<String> = ops
        .iter()
        .map(|(_, _, op)| op["x-function-name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(documented, functions);
    for (path, method, op) in &ops {
        assert!(path.starts_with("/api/"), "{path}");
        assert!(
            !path.contains("webhooks") && !path.contains("openapi"),
            "{path}"
        );
        for field in ["operationId", "summary", "description"] {
            assert!(
                op[field].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}: {field}"
            );
        }
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path}"
        );
    }

    // The generic starter: a path parameter, an optional body, the check-status response.
    let start = &doc["paths"]["/api/orchestrators/{functionName}"]["post"];
    assert_eq!(start["operationId"], "startOrchestration");
    assert_eq!(
        start["parameters"],
        json!([{"name": "functionName", "in": "path", "required": true,
                "schema": {"type": "string", "minLength": 1}}])
    );
    assert_eq!(start["requestBody"]["required"], false);
    assert_eq!(statuses(start), ["202", "400", "413"]);
    let accepted = &start["responses"]["202"];
    assert_eq!(
        json_ref(accepted),
        "#/components/schemas/HttpManagementPayload"
    );
    assert_eq!(accepted["headers"]["Location"]["required"], true);
    assert_eq!(accepted["headers"]["Retry-After"]["required"], true);
    let payload = &doc["components"]["schemas"]["HttpManagementPayload"];
    for uri in [
        "id",
        "statusQueryGetUri",
        "sendEventPostUri",
        "terminatePostUri",
    ] {
        assert!(
            payload["required"]
                .as_array()
                .unwrap()
                .contains(&json!(uri)),
            "{uri}"
        );
    }

    // Sync over async: the query, the reply, and the 202 once it waited long enough.
    let weather = &doc["paths"]["/api/weather"]["get"];
    let query: Vec<(&str, bool)> = weather["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["in"], "query");
            (
                p["name"].as_str().unwrap(),
                p["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        query,
        [("city", false), ("requestId", false), ("timeout", false)]
    );
    assert_eq!(weather["parameters"][2]["schema"]["maximum"], 3600);
    assert_eq!(statuses(weather), ["200", "202", "400", "409", "503"]);
    assert_eq!(
        json_ref(&weather["responses"]["202"]),
        "#/components/schemas/HttpManagementPayload"
    );

    // The async HTTP API: typed bodies in and out.
    let submit = &doc["paths"]["/api/submissions"]["post"];
    assert_eq!(submit["requestBody"]["required"], true);
    assert_eq!(
        json_ref(&submit["requestBody"]),
        "#/components/schemas/Submission"
    );
    assert_eq!(
        json_ref(&submit["responses"]["202"]),
        "#/components/schemas/InstanceAccepted"
    );
    let status = &doc["paths"]["/api/submissions/{id}"]["get"];
    assert_eq!(statuses(status), ["200", "202", "404", "503"]);
    assert_eq!(
        json_ref(&status["responses"]["202"]),
        "#/components/schemas/InstanceSummary"
    );
    assert_eq!(
        json_ref(&status["responses"]["404"]),
        "#/components/schemas/ErrorMessage"
    );
    assert!(
        doc["paths"]["/api/weather-results/{requestId}"]["post"]["responses"]["202"]
            .get("content")
            .is_none()
    );

    // Keys: the admin-level cleaning takes the master key, in the header or the query; the
    // anonymous functions take none.
    let clean = &doc["paths"]["/api/entity-storage/clean"]["post"];
    assert_eq!(
        clean["security"],
        json!([{"masterKeyHeader": []}, {"masterKeyQuery": []}])
    );
    assert!(statuses(clean).contains(&"401"));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        (
            &schemes["masterKeyHeader"]["in"],
            &schemes["masterKeyHeader"]["name"]
        ),
        (&json!("header"), &json!("x-functions-key"))
    );
    assert_eq!(
        (
            &schemes["masterKeyQuery"]["in"],
            &schemes["masterKeyQuery"]["name"]
        ),
        (&json!("query"), &json!("code"))
    );
    let anonymous = ops
        .iter()
        .filter(|(_, _, op)| op.get("security").is_none())
        .count();
    assert_eq!(anonymous, 6);
}

#[test]
fn the_swagger_ui_page_is_served_with_its_assets() {
    let app = SampleApp::start(json!({}));
    let page = app.host.get("/api/swagger/ui");
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(
        html.contains("data-document=\"/api/openapi.json\""),
        "{html}"
    );
    for (asset, content_type) in [
        (
            "/api/swagger/ui/viewer.js",
            "text/javascript; charset=utf-8",
        ),
        ("/api/swagger/ui/viewer.css", "text/css; charset=utf-8"),
    ] {
        assert!(html.contains(&format!("\"{asset}\"")), "{asset} in {html}");
        let r = app.host.get(asset);
        assert_eq!(r.status, 200, "{asset}: {r:?}");
        assert_eq!(r.header("content-type"), Some(content_type));
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{asset} loads from elsewhere"
        );
    }
    // In a browser: the operations by tag, and a request sent from the page.
    browser::set_up();
    let dir = browser::artifacts_dir().join("openapi");
    let url = format!("http://127.0.0.1:{}/api/swagger/ui", app.host.port);
    let out = browser::run(
        "swagger.mjs",
        &[&url],
        &[("BROWSER_ARTIFACTS", dir.to_str().expect("a UTF-8 path"))],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "swagger.mjs failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_str(stdout.trim()).expect("swagger.mjs prints JSON");
    assert_eq!(
        shown["tags"],
        json!([
            "entities",
            "monitor",
            "orchestrations",
            "submissions",
            "weather"
        ])
    );
    assert_eq!(shown["operations"], 7);
    assert_eq!(shown["answer"], "204 No Content");

    // The built-in routes answer GET and HEAD only.
    let r = app.host.request("POST", "/api/openapi.json", &[], b"");
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

#[test]
fn an_app_route_of_the_same_path_keeps_its_place() {
    let dir = AppDir::new(
        env!("CARGO_BIN_EXE_host-test-app"),
        json!({"TaskHubName": "OpenApiHub"}),
        None,
    );
    let host = TestHost::start(&dir, &[]);
    // The app's own GET openapi.yaml wins; the host's JSON document describes it.
    let own = host.get("/api/openapi.yaml");
    assert_eq!(own.status, 200, "{own:?}");
    assert_eq!(String::from_utf8_lossy(&own.body), "the app's own");
    // The host said so when it started (before it listened).
    let said = format!("{}{}", host.banner, host.log());
    assert!(
        said.contains("takes the place of the host's OpenAPI route")
            && said.contains("own_openapi_yaml"),
        "{said}"
    );
    let doc = host.get("/api/openapi.json").json();
    let item = &doc["paths"]["/api/openapi.yaml"]["get"];
    assert_eq!(item["x-function-name"], "own_openapi_yaml");
    // An optional segment is one path each; an int constraint is an integer parameter whose
    // breaking value matches no route (404).
    let full = &doc["paths"]["/api/items/{id}/{detail}"]["delete"];
    let short = &doc["paths"]["/api/items/{id}"]["delete"];
    assert_eq!(full["operationId"], "items_delete");
    assert_eq!(short["operationId"], "items_delete_without_detail");
    assert_eq!(
        short["parameters"][0]["schema"],
        json!({"type": "integer", "format": "int32"})
    );
    assert!(short["responses"]["404"].is_object());
    assert_eq!(
        doc["paths"]["/api/admin-only"]["get"]["security"],
        json!([{"masterKeyHeader": []}, {"masterKeyQuery": []}])
    );
    host.stop();
}

#[test]
fn schemathesis_finds_no_answer_the_document_does_not_allow() {
    // No wait for weather replies nobody sends (the document allows up to an hour).
    let app = SampleApp::start(json!({ "WeatherWaitSeconds": "0" }));
    let python = python::set_up();
    let schemathesis = python.with_file_name("schemathesis");
    let base = format!("http://127.0.0.1:{}", app.host.port);
    let key = format!("x-functions-key: {}", app.dir.master_key());
    // Its working folder, for whatever it leaves behind.
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let started = Instant::now();
    let out = Command::new(&schemathesis)
        .arg("--config-file")
        .arg(python::python_dir().join("schemathesis.toml"))
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        // Every check but one: whether schema-valid data is accepted depends on the task
        // hub's state (an orchestrator name that is not registered, a request that has ended
        // answers 410), which a schema cannot say.
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", "40", "--seed", "20261206"])
        .args(["--request-timeout", "20", "--workers", "1"])
        .args(["--header", &key])
        .args(["--generation-database", "none", "--no-color"])
        .current_dir(scratch.path())
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", schemathesis.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems ({}):\n{stdout}\n{}\n--- host log\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        app.host.log()
    );
    // Every operation was exercised, and the run stayed short.
    assert!(stdout.contains("7 selected / 7 total"), "{stdout}");
    assert!(stdout.contains("Tested: 7"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "schemathesis took {:?}",
        started.elapsed()
    );
}
