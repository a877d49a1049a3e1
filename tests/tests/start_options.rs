//! Start options over the management API, on the embedded store and on Azurite: `startAt`
//! keeps an instance Pending until its time; `ifExists=returnExisting` answers a second start of
//! an id with the existing instance and starts nothing (the default replaces an ended instance
//! and refuses a running one); `ifExists=replaceAny`, and host.json
//! `overridableExistingInstanceStates: AnyState` for every start, terminate a running instance
//! and replace it; tags given at start are in the status and filter listings; bad values are
//! 400s.

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

    // replaceAny: the running instance is terminated and the new one runs in its place
    let resp = app
        .api("POST", "/orchestrators/echo/busy?ifExists=replaceAny")
        .json(r#"{"n": 9}"#)
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    let replaced = app.wait_status("busy", |s| s == "Completed");
    assert_eq!(replaced["name"], "echo", "{replaced}");
    assert_eq!(replaced["output"], json!({"n": 9}), "{replaced}");

    tags_hold(app);

    for bad in [
        "/orchestrators/echo/x?ifExists=sometimes",
        "/orchestrators/echo/x?startAt=tomorrow",
        "/orchestrators/echo/x?tag.=empty-key",
        "/orchestrators/echo/x?tag.a=1&tag.a=2",
    ] {
        let resp = app.api("POST", bad).json("1").send();
        assert_eq!(resp.status, 400, "{bad}: {resp:?}");
        assert!(
            app.api("GET", "/instances/x").send().status == 404,
            "{bad} started it"
        );
    }
}

/// Tags given at start: in the status, and a filter of the listing (every tag must match).
fn tags_hold(app: &App) {
    let tagged = "/orchestrators/echo/tagged?tag.region=eu&tag.tier=gold";
    assert_eq!(start(app, tagged, "1"), 202);
    assert_eq!(
        start(app, "/orchestrators/echo/tagged-us?tag.region=us", "1"),
        202
    );
    let done = app.wait_status("tagged", |s| s == "Completed");
    assert_eq!(
        done["tags"],
        json!({"region": "eu", "tier": "gold"}),
        "{done}"
    );
    app.wait_status("tagged-us", |s| s == "Completed");
    let untagged = app.api("GET", "/instances/order-7").send().json();
    assert!(untagged.get("tags").is_none(), "{untagged}");
    let ids = |query: &str| -> Vec<String> {
        let page = app.api("GET", &format!("/instances?{query}")).send();
        assert_eq!(page.status, 200, "{query}: {page:?}");
        let mut ids: Vec<String> = page
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["instanceId"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("tag.region=eu"), ["tagged"]);
    assert_eq!(ids("tag.region=us"), ["tagged-us"]);
    assert_eq!(ids("tag.region=eu&tag.tier=gold"), ["tagged"]);
    assert!(ids("tag.region=eu&tag.tier=silver").is_empty());
    assert!(ids("tag.colour=eu").is_empty());
    assert_eq!(
        ids("instanceIdPrefix=tagged&runtimeStatus=Completed&tag.tier=gold"),
        ["tagged"]
    );
    let bad = app.api("GET", "/instances?tag.=x").send();
    assert_eq!(bad.status, 400, "{bad:?}");
}

/// host.json `overridableExistingInstanceStates: AnyState`: a start without `ifExists`
/// replaces a running instance.
fn any_state_replaces(connection: &str) {
    let host_json = json!({ "version": "2.0", "extensions": { "durableTask": {
        "overridableExistingInstanceStates": "AnyState",
    } } });
    let app = App::start_with(connection, Some(host_json));
    assert_eq!(start(&app, "/orchestrators/wait_event/any", ""), 202);
    app.wait_status("any", |s| s == "Running");
    assert_eq!(start(&app, "/orchestrators/echo/any", "5"), 202);
    let done = app.wait_status("any", |s| s == "Completed");
    assert_eq!(done["output"], json!(5), "{done}");
}

#[test]
fn start_options_on_sqlite() {
    options_hold(&App::start());
    any_state_replaces("");
}

#[test]
fn start_options_on_azurite() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    options_hold(&App::start_on(&azurite.connection_string()));
    any_state_replaces(&azurite.connection_string());
}
