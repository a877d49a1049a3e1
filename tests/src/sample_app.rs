//! The sample app (`functions`) as a process: built once per test run with the same cargo and
//! profile as the tests, then started in a temporary app directory.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::app_host::{AppDir, TestHost};

/// The `functions` binary, built (or brought up to date) on first use.
pub fn functions_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            // The test executable lives in target/<profile>/deps/.
            let exe = std::env::current_exe().expect("the test executable's path");
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("target/<profile>/deps")
                .to_path_buf();
            let release = profile_dir.file_name().is_some_and(|n| n == "release");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "--quiet", "-p", "functions"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if release {
                cmd.arg("--release");
            }
            let out = cmd.output().expect("cargo runs");
            assert!(
                out.status.success(),
                "building the sample app failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            profile_dir.join("functions")
        })
        .clone()
}

/// The sample app running in its own temporary directory, with its own task hub.
pub struct SampleApp {
    /// The running host.
    pub host: TestHost,
    /// Its app directory (kept alive as long as the host runs).
    pub dir: AppDir,
}

impl SampleApp {
    /// Starts the sample app with extra `Values` settings.
    pub fn start(values: Value) -> Self {
        let mut all = json!({ "TaskHubName": "SampleHub" });
        if let (Some(all), Some(extra)) = (all.as_object_mut(), values.as_object()) {
            all.extend(extra.clone());
        }
        let dir = AppDir::new(functions_binary(), all, None);
        let host = TestHost::start(&dir, &[]);
        Self { host, dir }
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> crate::app_host::Response {
        let body = serde_json::to_vec(body).expect("JSON");
        self.host
            .request("POST", path, &[("Content-Type", "application/json")], &body)
    }

    /// Polls the built-in status endpoint until the instance is terminal; returns the status.
    pub fn wait_for_instance(&self, id: &str, limit: std::time::Duration) -> Value {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let r = self
                .host
                .get(&format!("/runtime/webhooks/durabletask/instances/{id}"));
            if r.status == 200 {
                return r.json();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{id} did not finish in {limit:?}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
