//! Support for the queue and blob trigger tests: Azurite, a storage client standing in for
//! the outside world, the trigger test app, and the sample app built with `azure`.
//!
//! Included by `triggers_*.rs` tests with `#[path = "triggers_support/mod.rs"] mod support;`.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use durable_azure_storage::blobs::WriteCondition;
use durable_azure_storage::StorageClients;
use durable_testing::azurite::{self, Azurite};
use serde_json::{json, Value};
pub use tests::app_host::*;

/// The trigger test app binary.
pub const APP: &str = env!("CARGO_BIN_EXE_trigger_test_app");

/// The container the test app records its runs in.
pub const RESULTS: &str = "trigger-results";

/// Every host of the test app listens to every queue and container, so tests that start
/// hosts take turns: a host left from another test would run (and record) this one's work.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Azurite of this test process; fails the test loudly if it cannot start.
pub fn azurite() -> &'static Azurite {
    azurite::shared().unwrap_or_else(|e| panic!("Azurite is required for this test: {e}"))
}

/// host.json for fast tests: short polling, three tries before poison.
pub fn fast_host_json() -> Value {
    json!({
        "version": "2.0",
        "extensions": {
            "queues": {
                "batchSize": 8,
                "maxDequeueCount": 3,
                "visibilityTimeout": "00:00:00",
                "maxPollingInterval": 300
            },
            "blobs": { "maxPollingInterval": "00:00:00.5" }
        }
    })
}

/// An app directory for the test app on Azurite, with `hub` as its task hub.
pub fn app_dir(hub: &str) -> AppDir {
    let conn = azurite().connection_string();
    AppDir::new(
        APP,
        json!({
            "AzureWebJobsStorage": conn,
            "TriggerStorage": conn,
            "TaskHubName": hub,
        }),
        Some(fast_host_json()),
    )
}

/// The outside world: a storage client on the test's Azurite, driven synchronously.
pub struct Storage {
    rt: tokio::runtime::Runtime,
    clients: StorageClients,
}

impl Storage {
    /// A client for the shared Azurite.
    pub fn new() -> Self {
        Self::on_account(azurite().account())
    }

    /// A client for another account (e.g. an Azurite over HTTPS).
    pub fn on_account(account: durable_azure_storage::StorageAccount) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let clients = StorageClients::new(account).expect("storage clients");
        Storage { rt, clients }
    }

    /// Puts a message (Base64 of `body`, as Azure Functions expects) on `queue`.
    pub fn put_message(&self, queue: &str, body: &[u8]) {
        let q = self.clients.queue(queue);
        self.rt.block_on(async {
            q.create_if_not_exists().await.expect("create queue");
            q.put(body, Duration::ZERO).await.expect("put message");
        });
    }

    /// Puts a message whose text is stored as given (not Base64).
    pub fn put_raw_message(&self, queue: &str, text: &str) {
        let q = self.clients.queue(queue);
        self.rt.block_on(async {
            q.create_if_not_exists().await.expect("create queue");
            q.put_text(text, Duration::ZERO).await.expect("put message");
        });
    }

    /// Takes (receives and deletes) the messages on `queue`; returns their texts as stored.
    pub fn take_texts(&self, queue: &str) -> Vec<String> {
        let q = self.clients.queue(queue);
        self.rt.block_on(async {
            let messages = match q.receive(32, Duration::from_secs(30)).await {
                Ok(messages) => messages,
                Err(e) if e.status() == Some(404) => return Vec::new(),
                Err(e) => panic!("receive from {queue}: {e}"),
            };
            let mut texts = Vec::new();
            for m in messages {
                q.delete_message(&m.id, &m.pop_receipt)
                    .await
                    .expect("delete");
                texts.push(m.text);
            }
            texts
        })
    }

    /// Takes (receives and deletes) the messages on `queue`; returns their decoded bodies.
    pub fn take_bodies(&self, queue: &str) -> Vec<Vec<u8>> {
        let q = self.clients.queue(queue);
        self.rt.block_on(async {
            let messages = match q.get(32, Duration::from_secs(30)).await {
                Ok(messages) => messages,
                Err(e) if e.status() == Some(404) => return Vec::new(),
                Err(e) => panic!("get from {queue}: {e}"),
            };
            let mut bodies = Vec::new();
            for m in messages {
                q.delete_message(&m.id, &m.pop_receipt)
                    .await
                    .expect("delete");
                bodies.push(m.body);
            }
            bodies
        })
    }

    /// Whether `queue` has a visible message (one received is hidden for a second).
    pub fn has_messages(&self, queue: &str) -> bool {
        let q = self.clients.queue(queue);
        self.rt.block_on(async {
            match q.receive(32, Duration::from_secs(1)).await {
                Ok(messages) => !messages.is_empty(),
                Err(e) if e.status() == Some(404) => false,
                Err(e) => panic!("receive from {queue}: {e}"),
            }
        })
    }

    /// Writes a blob; returns its ETag.
    pub fn put_blob(&self, container: &str, name: &str, content: &[u8]) -> String {
        let c = self.clients.container(container);
        self.rt.block_on(async {
            c.create_if_not_exists().await.expect("create container");
            c.put(name, content.to_vec(), WriteCondition::Always)
                .await
                .expect("put blob")
        })
    }

    /// The names of the blobs in `container` under `prefix`.
    pub fn blob_names(&self, container: &str, prefix: &str) -> Vec<String> {
        let c = self.clients.container(container);
        self.rt.block_on(async {
            match c.list(prefix).await {
                Ok(names) => names,
                Err(e) if e.status() == Some(404) => Vec::new(),
                Err(e) => panic!("list {container}: {e}"),
            }
        })
    }

    /// A blob's content, if it exists.
    pub fn get_blob(&self, container: &str, name: &str) -> Option<Vec<u8>> {
        let c = self.clients.container(container);
        self.rt
            .block_on(async { c.get(name).await.expect("get blob") })
    }

    /// The runs the test app recorded for `function` under `key`, as (record name, JSON).
    pub fn records(&self, function: &str, key: &str) -> Vec<(String, Value)> {
        let prefix = format!("{function}/{key}/");
        self.blob_names(RESULTS, &prefix)
            .into_iter()
            .filter_map(|name| {
                let bytes = self.get_blob(RESULTS, &name)?;
                let value = serde_json::from_slice(&bytes).expect("a JSON record");
                Some((name, value))
            })
            .collect()
    }
}

/// Takes messages from `queue` with `take` until there are `n`, failing after `limit`.
pub fn take_n<T>(
    n: usize,
    what: &str,
    log: &dyn Fn() -> String,
    mut take: impl FnMut() -> Vec<T>,
) -> Vec<T> {
    let mut taken = Vec::new();
    wait_for(Duration::from_secs(30), what, log, || {
        taken.extend(take());
        (taken.len() >= n).then_some(())
    });
    taken
}

/// Polls `check` until it gives `Some`, failing with `what` (and the host log) after `limit`.
pub fn wait_for<T>(
    limit: Duration,
    what: &str,
    log: &dyn Fn() -> String,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; host log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the host has logged a line containing every one of `parts` (a run's
/// `executed` line comes just after the function's own effects).
pub fn wait_for_log_line(host: &TestHost, parts: &[&str]) {
    let log = || host.log();
    wait_for(
        Duration::from_secs(10),
        &format!("a log line with {parts:?}"),
        &log,
        || {
            host.log()
                .lines()
                .any(|l| parts.iter().all(|p| l.contains(p)))
                .then_some(())
        },
    );
}
