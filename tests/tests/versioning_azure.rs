//! A rolling deploy on one Azure Storage task hub (Azurite, started by the harness; the test
//! fails, never skips, without it): the old binary (`versions-old`, `order` version 1) runs
//! alone with version 1 instances in flight, waiting on external events and on timers; the new
//! binary (`versions-new`, versions 1 and 2) starts beside it and the partitions are shared;
//! then the old host stops. New instances run version 2; each old one finishes on a host that
//! runs its version or waits for one; none fails. Once with `CurrentOrOlder` (the new host runs
//! the old instances too) and once with `Strict` (it leaves them to an old host, which finishes
//! them when it is back).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable::store::azure::layout::fnv1a;
use durable::store::azure::{AzureOptions, AzureTaskHub, StorageAccount};
use serde_json::{json, Value};
use tests::app_host::{AppDir, TestHost};

const API: &str = "/runtime/webhooks/durabletask";
const PARTITIONS: u32 = 4;

struct Deploy {
    hub_name: String,
    hub: Arc<AzureTaskHub>,
    rt: tokio::runtime::Runtime,
    old: AppDir,
    new: AppDir,
}

impl Deploy {
    fn new(strategy: &str) -> Self {
        let azurite = durable_testing::azurite::shared()
            .unwrap_or_else(|e| panic!("Azurite is required: {e}"));
        let hub_name = format!("Deploy{}", rand::random::<u32>());
        let account = StorageAccount::from_connection_string(&azurite.connection_string()).unwrap();
        let options = AzureOptions {
            partition_count: PARTITIONS,
            worker_id: "test-client".into(),
            ..AzureOptions::default()
        };
        let hub = Arc::new(AzureTaskHub::with_options(account, &hub_name, options).unwrap());
        let app = |binary: &str, worker: &str, version: &str| {
            AppDir::new(
                binary,
                json!({
                    "AzureWebJobsStorage": azurite.connection_string(),
                    "TaskHubName": hub_name,
                    "DurableWorkerId": worker,
                }),
                Some(json!({
                    "version": "2.0",
                    "extensions": {"durableTask": {
                        "defaultVersion": version,
                        "versionMatchStrategy": strategy,
                        "storageProvider": {
                            "partitionCount": PARTITIONS,
                            "leaseInterval": "00:00:15",
                            "leaseRenewInterval": "00:00:03",
                            "leaseAcquireInterval": "00:00:02",
                        }
                    }}
                })),
            )
        };
        Self {
            old: app(env!("CARGO_BIN_EXE_versions-old"), "old", "1"),
            new: app(env!("CARGO_BIN_EXE_versions-new"), "new", "2"),
            hub_name,
            hub,
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    /// The worker holding the partition of `id`, once every partition is held.
    fn owner_of(&self, owners: &BTreeMap<String, String>, id: &str) -> String {
        let partition = fnv1a(id.as_bytes()) % PARTITIONS;
        let queue = format!("{}-control-{partition:02}", self.hub_name.to_lowercase());
        owners[&queue].clone()
    }

    /// Waits until the old and the new host hold two partitions each, and the old host knows
    /// it lost the new one's (until its next renewal it still takes their messages).
    fn wait_for_shared_partitions(
        &self,
        old: &TestHost,
        new: &TestHost,
    ) -> BTreeMap<String, String> {
        let owners = self.wait_for_balance(&[old, new]);
        for (queue, _) in owners.iter().filter(|(_, w)| *w == "new") {
            let partition = format!("partition={queue}");
            wait_for_log(old, &["partition lease lost", partition.as_str()]);
        }
        owners
    }

    fn wait_for_balance(&self, hosts: &[&TestHost]) -> BTreeMap<String, String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let owners = self
                .rt
                .block_on(self.hub.partition_owners())
                .unwrap_or_default();
            let held_by = |w: &str| owners.values().filter(|o| *o == w).count();
            if owners.len() == PARTITIONS as usize && held_by("old") == 2 && held_by("new") == 2 {
                return owners;
            }
            assert!(
                Instant::now() < deadline,
                "partitions not shared: {owners:?}\n{}",
                logs(hosts)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `count` fresh ids with `prefix` whose partitions `worker` holds.
    fn ids_held_by(
        &self,
        owners: &BTreeMap<String, String>,
        worker: &str,
        prefix: &str,
        count: usize,
    ) -> Vec<String> {
        (0..)
            .map(|i| format!("{prefix}-{i}"))
            .filter(|id| self.owner_of(owners, id) == worker)
            .take(count)
            .collect()
    }
}

fn logs(hosts: &[&TestHost]) -> String {
    hosts
        .iter()
        .map(|h| format!("--- host {}:\n{}", h.pid(), h.log()))
        .collect()
}

fn start(host: &TestHost, id: &str, body: &str) {
    let r = host
        .call("POST", &format!("{API}/orchestrators/order/{id}"))
        .json(body)
        .send();
    assert_eq!(r.status, 202, "{:?}", r.body);
}

fn approve(host: &TestHost, id: &str) {
    let r = host
        .call("POST", &format!("{API}/instances/{id}/raiseEvent/approve"))
        .json(&json!(id).to_string())
        .send();
    assert_eq!(r.status, 202, "{:?}", r.body);
}

fn status(host: &TestHost, id: &str) -> Value {
    host.get(&format!("{API}/instances/{id}")).json()
}

/// Waits until the host's log has a line with every one of `texts`.
fn wait_for_log(host: &TestHost, texts: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !host
        .log()
        .lines()
        .any(|l| texts.iter().all(|t| l.contains(t)))
    {
        assert!(
            Instant::now() < deadline,
            "no line with {texts:?}:\n{}",
            host.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_none_failed(host: &TestHost) {
    let all = host.get(&format!("{API}/instances")).json();
    let failed: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["runtimeStatus"] == "Failed")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Version 1 instances on the old host alone: four waiting for approval, two for a 10 s timer.
fn old_instances(old: &TestHost) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..4 {
        let id = format!("event-{i}");
        start(old, &id, "");
        ids.push(id);
    }
    for i in 0..2 {
        let id = format!("timer-{i}");
        start(old, &id, "10");
        ids.push(id);
    }
    for id in &ids {
        old.wait_for_status(id, "Running", None);
        assert_eq!(status(old, id)["version"], "1");
    }
    ids
}

fn expected_v1(id: &str) -> String {
    let what = if id.starts_with("timer") {
        "unapproved"
    } else {
        id
    };
    format!("v1 shipped {what} under 1")
}

#[test]
fn current_or_older_new_hosts_run_old_instances_and_old_hosts_leave_new_ones() {
    let deploy = Deploy::new("CurrentOrOlder");
    let old = TestHost::start(&deploy.old, &[]);
    let v1 = old_instances(&old);

    let new = TestHost::start(&deploy.new, &[("PACK_QUICKLY", "true")]);
    let owners = deploy.wait_for_shared_partitions(&old, &new);
    let on_old = deploy.ids_held_by(&owners, "old", "new-order", 2);
    let on_new = deploy.ids_held_by(&owners, "new", "new-order", 2);
    for id in on_old.iter().chain(&on_new) {
        start(&new, id, "");
        approve(&new, id);
    }
    for id in v1.iter().filter(|id| id.starts_with("event")) {
        approve(&new, id);
    }
    // Old instances finish wherever their partition is: both hosts run version 1.
    for id in &v1 {
        let done = new.wait_for_status(id, "Completed", None);
        assert_eq!(done["output"], expected_v1(id), "{id}");
    }
    // New instances run version 2 on the new host; the old one leaves its share.
    for id in &on_new {
        let done = new.wait_for_status(id, "Completed", None);
        assert_eq!(done["output"], format!("v2 packed {id} and express {id}"));
        assert_eq!(done["version"], "2");
    }
    for id in &on_old {
        wait_for_log(
            &old,
            &["leaving the instance for another host", id.as_str()],
        );
        assert_ne!(status(&new, id)["runtimeStatus"], "Completed", "{id}");
    }

    // The old host stops: its partitions, with the new instances it left, move to the new one.
    old.stop();
    for id in &on_old {
        let done = new.wait_for_status(id, "Completed", None);
        assert_eq!(done["output"], format!("v2 packed {id} and express {id}"));
    }
    assert_none_failed(&new);
    new.stop();
}

#[test]
fn strict_hosts_run_only_their_version_and_old_instances_wait_for_an_old_host() {
    let deploy = Deploy::new("Strict");
    let old = TestHost::start(&deploy.old, &[]);
    let mut v1 = old_instances(&old);

    let new = TestHost::start(&deploy.new, &[("PACK_QUICKLY", "true")]);
    let owners = deploy.wait_for_shared_partitions(&old, &new);
    // Version 1 instances whose partitions the new host holds: it leaves them.
    let v1_on_new = deploy.ids_held_by(&owners, "new", "old-order", 2);
    for id in &v1_on_new {
        start(&old, id, "");
    }
    v1.extend(v1_on_new.iter().cloned());
    let v2: Vec<String> = deploy
        .ids_held_by(&owners, "old", "new-order", 2)
        .into_iter()
        .chain(deploy.ids_held_by(&owners, "new", "new-order", 2))
        .collect();
    for id in &v2 {
        start(&new, id, "");
        approve(&new, id);
    }
    for id in v1.iter().filter(|id| !id.starts_with("timer")) {
        approve(&old, id);
    }
    for id in &v1_on_new {
        wait_for_log(
            &new,
            &["leaving the instance for another host", id.as_str()],
        );
    }

    // The old host stops: every version 2 instance finishes on the new host; the version 1
    // instances it holds wait, none fails.
    old.stop();
    for id in &v2 {
        let done = new.wait_for_status(id, "Completed", None);
        assert_eq!(done["output"], format!("v2 packed {id} and express {id}"));
    }
    std::thread::sleep(Duration::from_secs(3));
    let waiting: Vec<&String> = v1
        .iter()
        .filter(|id| status(&new, id)["runtimeStatus"] != "Completed")
        .collect();
    assert!(
        v1_on_new.iter().all(|id| waiting.contains(&id)),
        "{waiting:?}\n{}",
        new.log()
    );
    assert_none_failed(&new);

    // An old host is back and the new one leaves: the waiting version 1 instances finish.
    let old = TestHost::start(&deploy.old, &[]);
    new.stop();
    for id in &v1 {
        let done = old.wait_for_status(id, "Completed", None);
        assert_eq!(done["output"], expected_v1(id), "{id}");
    }
    assert_none_failed(&old);
    old.stop();
}
