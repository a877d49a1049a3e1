//! The entity scenarios, run against a sample app on any store (`entities.rs`: the embedded
//! store; `entities_azure.rs`: Azure Storage on Azurite).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::sample_app::SampleApp;

const WAIT: Duration = Duration::from_secs(60);
const API: &str = "/runtime/webhooks/durabletask";

fn signal(app: &SampleApp, entity: &str, key: &str, op: &str, body: Option<&str>) {
    let target = format!("{API}/entities/{entity}/{key}?op={op}");
    let req = app.host.call("POST", &target);
    let req = match body {
        Some(b) => req.json(b),
        None => req,
    };
    let r = req.send();
    assert_eq!(r.status, 202, "{target}: {r:?}");
}

/// Polls `GET /entities/{entity}/{key}` until it answers `want` (`None` = 404).
fn wait_state(app: &SampleApp, entity: &str, key: &str, want: Option<Value>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = app.host.get(&format!("{API}/entities/{entity}/{key}"));
        let got = (r.status == 200).then(|| r.json());
        if got == want && (want.is_some() || r.status == 404) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{entity}/{key}: {got:?}, wanted {want:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn start(app: &SampleApp, orchestrator: &str, input: &Value) -> String {
    let r = app.post_json(&format!("/api/orchestrators/{orchestrator}"), input);
    assert_eq!(r.status, 202, "{r:?}");
    r.json()["id"].as_str().unwrap().to_string()
}

/// Both counter styles through the entity endpoints: signals, state, reset, delete.
pub fn counter_over_the_endpoints(app: &SampleApp) {
    for entity in ["counter", "struct_counter"] {
        wait_state(app, entity, "k1", None);
        for n in [5, 7, -2] {
            signal(app, entity, "k1", "add", Some(&n.to_string()));
        }
        wait_state(
            app,
            entity,
            "k1",
            Some(json!(10)).map(|v| state_of(entity, v)),
        );
        signal(app, entity, "k1", "reset", None);
        wait_state(app, entity, "k1", Some(state_of(entity, json!(0))));
        let r = app
            .host
            .request("DELETE", &format!("{API}/entities/{entity}/k1"), &[], b"");
        assert_eq!(r.status, 202);
        wait_state(app, entity, "k1", None);
    }
}

/// How each style stores a counter's value.
fn state_of(entity: &str, value: Value) -> Value {
    if entity == "struct_counter" {
        json!({ "value": value })
    } else {
        value
    }
}

/// Both counter styles through `call_entity` in an orchestration, and an unknown entity.
pub fn counter_through_an_orchestration(app: &SampleApp) {
    for entity in ["counter", "struct_counter"] {
        let id = start(
            app,
            "count_with_entity",
            &json!({"entity": entity, "key": "o1", "amounts": [1, 2, 3, 4]}),
        );
        let done = app.wait_for_instance(&id, WAIT);
        assert_eq!(done["runtimeStatus"], "Completed", "{done}");
        assert_eq!(done["output"], json!(10));
        // A second run adds to the same counter.
        let id = start(
            app,
            "count_with_entity",
            &json!({"entity": entity, "key": "o1", "amounts": [5]}),
        );
        assert_eq!(app.wait_for_instance(&id, WAIT)["output"], json!(15));
    }
    // An operation the entity does not have fails the orchestration with the entity's error.
    let id = start(
        app,
        "count_with_entity",
        &json!({"entity": "nobody", "key": "x", "amounts": [1]}),
    );
    let done = app.wait_for_instance(&id, WAIT);
    assert_eq!(done["runtimeStatus"], "Failed", "{done}");
    assert!(
        done["output"].as_str().unwrap().contains("no entity named"),
        "{done}"
    );
}

/// The endpoints' listing shapes, paging and errors (on a fresh hub).
pub fn endpoint_shapes_and_bad_input(app: &SampleApp) {
    signal(app, "counter", "a", "add", Some("1"));
    signal(app, "Counter", "b", "add", Some("2"));
    signal(app, "struct_counter", "$", "add", Some("3"));
    wait_state(app, "counter", "a", Some(json!(1)));
    wait_state(app, "counter", "b", Some(json!(2)));
    wait_state(app, "struct_counter", "$", Some(json!({"value": 3})));

    let r = app
        .host
        .get(&format!("{API}/entities/counter?fetchState=true"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ms-continuation-token"), Some(""));
    let list = r.json();
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["entityId"], json!({"name": "counter", "key": "a"}));
    assert_eq!(items[0]["state"], json!(1));
    assert_eq!(items[1]["entityId"], json!({"name": "counter", "key": "b"}));
    let time = items[1]["lastOperationTime"].as_str().unwrap();
    assert!(time.len() == 20 && time.ends_with('Z'), "{time}");

    let all = app.host.get(&format!("{API}/entities/")).json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all.iter().all(|e| e.get("state").is_none()),
        "no state unless asked"
    );
    assert_eq!(all[0]["entityId"], json!({"name": "counter", "key": "a"}));
    assert_eq!(
        all[2]["entityId"],
        json!({"name": "struct_counter", "key": ""})
    );
    let page = app.host.get(&format!("{API}/entities?top=1"));
    assert_eq!(page.json().as_array().unwrap().len(), 1);
    assert!(!page
        .header("x-ms-continuation-token")
        .unwrap_or("")
        .is_empty());

    // Errors.
    assert_eq!(
        app.host
            .get(&format!("{API}/entities/counter/nobody"))
            .status,
        404
    );
    assert_eq!(
        app.host.get(&format!("{API}/entities/nobody/k")).status,
        404
    );
    let cases = [
        ("POST", format!("{API}/entities/counter/a"), None, 400), // no op
        (
            "POST",
            format!("{API}/entities/counter/a?op=add"),
            Some("{oops"),
            400,
        ),
        ("POST", format!("{API}/entities/a%40b/k?op=add"), None, 400),
        ("GET", format!("{API}/entities/counter/a%3Fb"), None, 400),
        ("PUT", format!("{API}/entities/counter/a"), None, 404),
    ];
    for (method, target, body, code) in cases {
        let req = app.host.call(method, &target);
        let req = match body {
            Some(b) => req.json(b),
            None => req,
        };
        let r = req.send();
        assert_eq!(r.status, code, "{method} {target}: {r:?}");
        r.assert_empty_or_json();
    }
    // A text body is the input as a string: the counter rejects it, nothing changes.
    let r = app
        .host
        .call("POST", &format!("{API}/entities/counter/a?op=add"))
        .body_with("text/plain", "five")
        .send();
    assert_eq!(r.status, 202);
    signal(app, "counter", "a", "add", Some("10"));
    wait_state(app, "counter", "a", Some(json!(11)));
}

/// 100 concurrent transfers among 10 accounts: the total is conserved, each applied once.
pub fn concurrent_transfers(app: &SampleApp) {
    let accounts: Vec<String> = (0..10).map(|i| format!("acct{i}")).collect();
    for a in &accounts {
        signal(app, "account", a, "deposit", Some("100"));
    }
    for a in &accounts {
        wait_state(
            app,
            "account",
            a,
            Some(json!({"balance": 100, "applied": []})),
        );
    }
    // 100 transfers with a fixed pseudo-random pattern, all started before any is awaited.
    let mut seed: u64 = 42;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut transfers = Vec::new();
    for i in 0..100 {
        let from = next(10) as usize;
        let to = (from + 1 + next(9) as usize) % 10;
        let amount = 1 + next(60) as i64;
        let t = json!({"id": format!("t{i}"), "from": accounts[from], "to": accounts[to], "amount": amount});
        let id = start(app, "transfer", &t);
        transfers.push((id, from, to, amount, format!("t{i}")));
    }
    let mut expected = [100i64; 10];
    let mut moved = 0;
    for (id, from, to, amount, _) in &transfers {
        let done = app.wait_for_instance(id, WAIT);
        assert_eq!(done["runtimeStatus"], "Completed", "{done}");
        if done["output"] == json!(true) {
            expected[*from] -= amount;
            expected[*to] += amount;
            moved += 1;
        } else {
            assert_eq!(done["output"], json!(false));
        }
    }
    assert!(moved > 50, "most transfers should succeed: {moved}");
    let mut total = 0;
    for (i, a) in accounts.iter().enumerate() {
        let r = app.host.get(&format!("{API}/entities/account/{a}"));
        assert_eq!(r.status, 200);
        let s = r.json();
        let balance = s["balance"].as_i64().unwrap();
        assert!(balance >= 0, "{a} overdrawn: {s}");
        assert_eq!(balance, expected[i], "{a}: {s}");
        total += balance;
        // Exactly the successful transfers touching this account were applied, once each.
        let applied: Vec<&str> = s["applied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut want: Vec<&str> = transfers
            .iter()
            .zip(0..)
            .filter(|((_, f, t, _, _), _)| *f == i || *t == i)
            .filter(|((id, ..), _)| app.wait_for_instance(id, WAIT)["output"] == json!(true))
            .map(|((.., tid), _)| tid.as_str())
            .collect();
        want.sort();
        assert_eq!(applied, want, "{a}");
    }
    assert_eq!(total, 1000, "the total is conserved");
    // Every lock was released: a new transfer between any two accounts goes through.
    let id = start(
        app,
        "transfer",
        &json!({"id": "last", "from": "acct0", "to": "acct9", "amount": 1}),
    );
    assert_eq!(
        app.wait_for_instance(&id, WAIT)["runtimeStatus"],
        "Completed"
    );
}

/// Polls the instance's status until `done` accepts it.
fn wait_instance(app: &SampleApp, id: &str, what: &str, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = app.host.get(&format!("{API}/instances/{id}"));
        if r.status != 404 && done(&r.json()) {
            return;
        }
        assert!(Instant::now() < deadline, "{id}: not {what}: {r:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Starts `hold_locks` on the counters `keys` and waits until it holds them.
fn hold_locks(app: &SampleApp, keys: &[&str]) -> String {
    let id = start(app, "hold_locks", &json!(keys));
    wait_instance(app, &id, "locked", |s| s["customStatus"] == json!("locked"));
    id
}

/// Signals `add` to each counter and checks that it does not run while the lock is held.
fn add_while_locked(app: &SampleApp, keys: &[(&str, i64)]) {
    for (key, n) in keys {
        signal(app, "counter", key, "add", Some(&n.to_string()));
    }
    std::thread::sleep(Duration::from_millis(500));
    for (key, _) in keys {
        let r = app.host.get(&format!("{API}/entities/counter/{key}"));
        assert_eq!(r.status, 404, "{key} ran an operation while locked: {r:?}");
    }
}

fn clean(app: &SampleApp) -> Value {
    // The cleaning changes the task hub: an admin-level function.
    let key = app.dir.master_key();
    let headers = [
        ("Content-Type", "application/json"),
        ("x-functions-key", &key),
    ];
    let r = app
        .host
        .request("POST", "/api/entity-storage/clean", &headers, b"null");
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

/// A lock holder that is terminated releases its entities; one whose instance is purged
/// while it holds them leaves them locked until entity storage is cleaned.
pub fn locks_of_finished_holders(app: &SampleApp) {
    // Terminated: the waiting signals run as soon as the holder is gone.
    let id = hold_locks(app, &["t1", "t2"]);
    add_while_locked(app, &[("t1", 5), ("t2", 6)]);
    let r = app
        .host
        .call(
            "POST",
            &format!("{API}/instances/{id}/terminate?reason=test"),
        )
        .send();
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(
        app.wait_for_instance(&id, WAIT)["runtimeStatus"],
        "Terminated"
    );
    wait_state(app, "counter", "t1", Some(json!(5)));
    wait_state(app, "counter", "t2", Some(json!(6)));

    // Purged while holding its locks: the entities stay locked (orphaned locks)...
    let id = hold_locks(app, &["p1", "p2"]);
    let r = app
        .host
        .request("DELETE", &format!("{API}/instances/{id}"), &[], b"");
    assert_eq!(r.status, 200, "{r:?}");
    add_while_locked(app, &[("p1", 7)]);
    // ...until the clean-up releases them; then the waiting signal runs.
    let counts = clean(app);
    assert_eq!(counts["numberOfOrphanedLocksRemoved"], json!(2), "{counts}");
    wait_state(app, "counter", "p1", Some(json!(7)));
    // The release reaches p2 on its own schedule (a queue poll away on Azure Storage).
    wait_instance(app, "@counter@p2", "unlocked", |s| {
        s["customStatus"].get("lockedBy").is_none_or(Value::is_null)
    });
    // Nothing is orphaned any more; the unlocked, stateless p2 is gone.
    let counts = clean(app);
    assert_eq!(counts["numberOfOrphanedLocksRemoved"], json!(0), "{counts}");
    let list = app
        .host
        .get(&format!("{API}/instances?instanceIdPrefix=@counter@p"));
    let listed = list.json();
    let ids: Vec<&str> = listed
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["instanceId"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["@counter@p1"], "{list:?}");
}

/// The host.json that caps entity batches at two operations.
pub fn capped_host_json() -> Value {
    json!({"version": "2.0", "extensions": {"durableTask": {"maxEntityOperationBatchSize": 2}}})
}

/// With batches capped at two operations (host.json `maxEntityOperationBatchSize`), a burst
/// of signals still runs completely and in order: the entity continues itself.
pub fn capped_batches_run_in_order(app: &SampleApp) {
    for n in 1..=10 {
        signal(app, "counter", "cap", "add", Some(&n.to_string()));
    }
    signal(app, "counter", "cap", "reset", None);
    for n in 11..=20 {
        signal(app, "counter", "cap", "add", Some(&n.to_string()));
    }
    // In order, the reset wipes the first ten: 11 + ... + 20.
    wait_state(app, "counter", "cap", Some(json!(155)));
    // Orchestration calls queue behind and run too.
    let id = start(
        app,
        "count_with_entity",
        &json!({"entity": "counter", "key": "cap", "amounts": [1, 2, 3, 4, 5]}),
    );
    assert_eq!(app.wait_for_instance(&id, WAIT)["output"], json!(170));
}
