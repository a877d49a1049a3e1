//! The sample app (`functions`) as a process: built once per test run with the same cargo and
//! profile as the tests, then started in a temporary app directory.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::app_host::{AppDir, TestHost};

/// The `functions` binary, built (or brought up to date) on first use, kept as
/// `sample-app/plain/functions`.
pub fn functions_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_functions(&[])).clone()
}

/// The `functions` binary built with `--features azure` (queue and blob triggers, the Azure
/// Storage task hub), kept as `sample-app/azure/functions`.
pub fn functions_azure_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_functions(&["azure"])).clone()
}

/// The `functions` binary built with `--features s3` (the weather reply as an S3 object),
/// kept as `sample-app/s3/functions`.
pub fn functions_s3_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_functions(&["s3"])).clone()
}

/// Builds the sample app with the same cargo and profile as the tests and copies the result
/// to `sample-app/{features}/functions` (`sample-app/plain/functions` without features), so
/// that its name, which the host shows (the OpenAPI title, the trace service name), stays
/// `functions`. Every build writes the same `target/<profile>/functions`, so each variant runs
/// from its own copy: a test still starting the plain app must not find a build with other
/// features there. Building and copying hold a lock
/// file, so that two builds (threads of one test binary, or two test processes) never
/// interleave between one's build and its copy.
fn build_functions(features: &[&str]) -> PathBuf {
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .to_path_buf();
    let lock = std::fs::File::create(profile_dir.join("functions.build-lock"))
        .expect("create the sample app's build lock");
    lock.lock().expect("take the sample app's build lock");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "functions"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    if release {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "building the sample app (features {features:?}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = profile_dir.join("functions");
    let variant = if features.is_empty() {
        "plain".to_string()
    } else {
        features.join("-")
    };
    // Copied, then renamed over the last copy: a rename is atomic, even while another test
    // process runs the old file.
    let dir = profile_dir.join("sample-app").join(variant);
    std::fs::create_dir_all(&dir).expect("create the sample app's directory");
    let copy = dir.join("functions");
    let partial = dir.join(format!("functions.{}", std::process::id()));
    std::fs::copy(&built, &partial).expect("copy the sample app");
    std::fs::rename(&partial, &copy).expect("rename the copy");
    copy
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
        Self::start_binary(functions_binary(), values)
    }

    /// Starts the sample app built with `azure`, on the Azure Storage task hub named `hub` in
    /// the Azurite `durable`'s harness runs (the test fails when Azurite cannot run).
    pub fn start_on_azurite(hub: &str) -> Self {
        let azurite = durable_testing::azurite::shared()
            .unwrap_or_else(|e| panic!("Azurite is required: {e}"));
        Self::start_binary(
            functions_azure_binary(),
            json!({ "AzureWebJobsStorage": azurite.connection_string(), "TaskHubName": hub }),
        )
    }

    fn start_binary(binary: PathBuf, values: Value) -> Self {
        let mut all = json!({ "TaskHubName": "SampleHub" });
        if let (Some(all), Some(extra)) = (all.as_object_mut(), values.as_object()) {
            all.extend(extra.clone());
        }
        let dir = AppDir::new(binary, all, None);
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
