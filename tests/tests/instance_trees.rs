//! An instance with its sub-orchestrations, over the management API, on the embedded store and
//! on Azurite: `terminate?recursive=true` ends the whole tree of running instances (a plain
//! terminate only the one), and `DELETE /instances/{id}?recursive=true` purges the tree.

mod durable_api_support;

use durable_api_support::App;

/// The seven instances of `tree(2)` started as `id`.
fn tree_ids(id: &str) -> Vec<String> {
    let mut ids = vec![id.to_string()];
    for i in 0..2 {
        let child = format!("{id}-{i}");
        ids.push(child.clone());
        ids.extend((0..2).map(|j| format!("{child}-{j}")));
    }
    ids
}

fn start_tree(app: &App, id: &str) -> Vec<String> {
    let resp = app
        .api("POST", &format!("/orchestrators/tree/{id}"))
        .json("2")
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    let ids = tree_ids(id);
    for leaf in ids.iter().filter(|i| i.matches('-').count() == 2) {
        app.wait_status(leaf, |s| s == "Running");
    }
    ids
}

fn status(app: &App, id: &str) -> String {
    let resp = app.api("GET", &format!("/instances/{id}")).send();
    if resp.status == 404 {
        return "gone".into();
    }
    resp.json()["runtimeStatus"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn trees_end_and_go_together(app: &App) {
    // a plain terminate ends one instance; its children run on
    let single = start_tree(app, "single");
    let resp = app
        .api("POST", "/instances/single/terminate?reason=one")
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    app.wait_status("single", |s| s == "Terminated");
    for id in &single[1..] {
        assert_eq!(status(app, id), "Running", "{id}");
    }

    // recursive: the whole tree
    let whole = start_tree(app, "whole");
    let resp = app
        .api(
            "POST",
            "/instances/whole/terminate?reason=all&recursive=true",
        )
        .send();
    assert_eq!(resp.status, 202, "{resp:?}");
    for id in &whole {
        app.wait_status(id, |s| s == "Terminated");
    }
    let resp = app
        .api("POST", "/instances/single/terminate?recursive=perhaps")
        .send();
    assert_eq!(resp.status, 400, "{resp:?}");

    // purge: one instance, or the tree
    let resp = app.api("DELETE", "/instances/whole?recursive=true").send();
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.json()["instancesDeleted"], 7);
    for id in &whole {
        assert_eq!(status(app, id), "gone", "{id}");
    }
    let resp = app.api("DELETE", "/instances/single").send();
    assert_eq!(resp.json()["instancesDeleted"], 1);
    assert_eq!(status(app, "single-0"), "Running");
}

#[test]
fn recursive_terminate_and_purge_on_sqlite() {
    trees_end_and_go_together(&App::start());
}

#[test]
fn recursive_terminate_and_purge_on_azurite() {
    let azurite =
        durable_testing::azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    trees_end_and_go_together(&App::start_on(&azurite.connection_string()));
}
