//! Start options over the management API, on the embedded store and on Azurite: `startAt`
//! keeps an instance Pending until its time; `ifExists=returnExisting` answers a second start of
//! an id with the existing instance and starts nothing (the default replaces an ended instance
//! and refuses a running one); bad values are 400s.

mod durable_api_support;

use chrono::{SecondsFormat, Utc};
use durable_api_support::App;
use serde_json::json;

fn start(app: &App, target: &str, body: &str) -> u16 {
    app.api("POST", target).json(body).send().status
}

fn options_hold(app: &App) {
    // startAt: Pending until then, and only run after it
    let at = Utc::now() + chrono::Duration::seconds(3);
    let at_text = at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let target = format!("/orchestrators/echo/later?startAt={at_text}");
    assert_eq!(start(app, &target, "1"), 202);
    let pending = app.api("GET", "/instances/later").send().json();
    assert_eq!(pending["runtimeStatus"], "Pending", "{pending}");
    let done = app.wait_status("later", |s| s == "Completed");
    let finished: chrono::DateTime<Utc> =
        done["lastUpdatedTime"].as_str().unwrap().parse().unwrap();
    assert!(
        finished >= at - chrono::Duration::seconds(1),
        "{done} before {at_text}"
    );

    // returnExisting: a retried start of an order id runs once
    let once = "/orchestrators/echo/order-7?ifExists=returnExisting";
    assert_eq!(start(app, once, r#"{"n": 1}"#), 202);
    let first = app.wait_status("order-7", |s| s == "Completed");
    let resp = app.api("POST", once).json(r#"{"n": 2}"#).send();
    assert_eq!(resp.status, 202, "{resp:?}");
    assert_eq!(resp.json()["id"], "order-7");
    let again = app.api("GET", "/instances/order-7").send().json();
    assert_eq!(again["output"], json!({"n": 1}));
    assert_eq!(again["createdTime"], first["createdTime"]);
    // the default replaces an ended instance
    assert_eq!(
        start(app, "/orchestrators/echo/order-7", r#"{"n": 3}"#),
        202
    );
    app.wait_status("order-7", |s| s == "Completed");
    let replaced = app.api("GET", "/instances/order-7").send().json();
    assert_eq!(replaced["output"], json!({"n": 3}));
    // and refuses a running one, which returnExisting answers
    assert_eq!(start(app, "/orchestrators/wait_event/busy", ""), 202);
    app.wait_status("busy", |s| s == "Running");
    assert_eq!(start(app, "/orchestrators/wait_event/busy", ""), 500);
    let resp = app
        .api(
            "POST",
            "/orchestrators/wait_event/busy?ifExists=returnExisting",
        )
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");

    for bad in [
        "/orchestrators/echo/x?ifExists=sometimes",
        "/orchestrators/echo/x?startAt=tomorrow",
    ] {
        let resp = app.api("POST", bad).json("1").send();
        assert_eq!(resp.status, 400, "{bad}: {resp:?}");
        assert!(
            app.api("GET", "/instances/x").send().status == 404,
            "{bad} started it"
        );
    }
}

#[test]
fn start_options_on_sqlite() {
    options_hold(&App::start());
}

#[test]
fn start_options_on_azurite() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    options_hold(&App::start_on(&azurite.connection_string()));
}
