//! Shared by the management-API end-to-end tests: runs the `api-test-app` host binary in a
//! temporary directory and talks HTTP/1.1 to it over a plain TCP socket (so requests go out
//! exactly as written, unencoded characters included).

#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
pub use tests::app_host::Request;
use tests::app_host::{AppDir, TestHost};

/// The webhook path prefix.
pub const WEBHOOK: &str = "/runtime/webhooks/durabletask";

/// The `api-test-app` host running in its own temporary app directory.
pub struct App {
    host: TestHost,
    dir: AppDir,
    /// The port it listens on.
    pub port: u16,
}

impl App {
    /// Starts the host with a fresh task hub and waits until it listens.
    pub fn start() -> App {
        Self::start_on("")
    }

    /// Starts the host with a fresh task hub in the storage `connection` names (empty: the
    /// embedded SQLite store).
    pub fn start_on(connection: &str) -> App {
        Self::start_with(connection, None)
    }

    /// [`start_on`](Self::start_on) with a host.json.
    pub fn start_with(connection: &str, host_json: Option<Value>) -> App {
        let hub = if connection.is_empty() {
            "ApiTestHub".to_string()
        } else {
            format!("ApiTest{}", rand::random::<u32>())
        };
        let dir = AppDir::new(
            env!("CARGO_BIN_EXE_api-test-app"),
            json!({"AzureWebJobsStorage": connection, "TaskHubName": hub}),
            host_json,
        );
        let host = TestHost::start(&dir, &[]);
        let port = host.port;
        App { host, dir, port }
    }

    /// The app directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `rpcBaseUrl` for the Python client binding.
    pub fn rpc_base_url(&self) -> String {
        format!("{}{WEBHOOK}/", self.origin())
    }

    /// The host's log so far.
    pub fn log(&self) -> String {
        self.host.log()
    }

    /// A request to the management API; `target` is relative to the webhook path.
    pub fn api(&self, method: &str, target: &str) -> Request {
        self.host.call(method, &format!("{WEBHOOK}{target}"))
    }

    /// Polls the status endpoint until `pred` accepts the runtime status.
    pub fn wait_status(&self, id: &str, pred: impl Fn(&str) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let resp = self.api("GET", &format!("/instances/{id}")).send();
            if resp.status != 404 {
                let body = resp.json();
                if pred(body["runtimeStatus"].as_str().unwrap_or("")) {
                    return body;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{id} never reached the expected status; last: {resp:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the instance is terminal.
    pub fn wait_done(&self, id: &str) -> Value {
        self.wait_status(id, |s| {
            matches!(s, "Completed" | "Failed" | "Terminated" | "Canceled")
        })
    }

    /// A file in the app directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
