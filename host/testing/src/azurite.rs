//! Azurite, the storage emulator, as a child process for tests and local development.
//!
//! [`Azurite::start`] installs the pinned npm package into `target/azurite` when it is missing,
//! starts it in memory on free ports (port 0, telemetry off) and reads the ports it chose from
//! its output. The process is stopped when the handle drops, and also when the test process
//! exits (a shell wrapper stops it when its stdin closes), which matters for [`shared`].
//! Nothing here skips: every failure says what went wrong, with npm's or Azurite's output.
//!
//! For fault tests, [`Azurite::start_persistent`] keeps the data in a folder instead, on fixed
//! ports or ports Azurite picks, and [`Azurite::restart`] kills it (SIGKILL, a crash) and
//! starts it again on the same ports with the same data. Azurite writes its metadata to disk
//! only every [`AUTOSAVE_INTERVAL`], so a crash loses what it acknowledged in the last few
//! seconds, which real Azure Storage never does: a test that expects data to survive the
//! crash waits that long after its last write.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use durable_azure_storage::connection::{StorageAccount, DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY};

pub use crate::request_log::ServedRequest;

/// The npm package, pinned.
pub const PACKAGE: &str = "azurite@3.37.0";

/// How often a persistent Azurite writes its metadata to disk (LokiJS autosave, every 5 s
/// in Azurite 3.37); add a margin when waiting for it.
pub const AUTOSAVE_INTERVAL: Duration = Duration::from_secs(5);

/// Why Azurite could not be started.
#[derive(Debug, thiserror::Error)]
pub enum AzuriteError {
    /// Node.js or npm is not on the PATH.
    #[error("{0} is needed to run Azurite but could not be run: {1}")]
    MissingTool(&'static str, String),
    /// `npm install` failed.
    #[error("npm install {PACKAGE} into {dir} failed:\n{output}")]
    Install {
        /// The install folder.
        dir: String,
        /// npm's output.
        output: String,
    },
    /// Azurite did not report its three ports in time.
    #[error("Azurite did not start: {reason}\nits output:\n{output}")]
    Start {
        /// What went wrong.
        reason: String,
        /// What Azurite printed.
        output: String,
    },
}

/// A running Azurite.
#[derive(Debug)]
pub struct Azurite {
    child: Child,
    /// A temporary folder, removed on drop; `None` for a persistent instance.
    workspace: Option<PathBuf>,
    ports: Ports,
    persistent: Option<Persistent>,
}

/// What a persistent instance needs to start again.
#[derive(Debug)]
struct Persistent {
    bin: PathBuf,
    dir: PathBuf,
    /// Azurite's own process id (the wrapper's child); `None` once killed.
    pid: Option<u32>,
}

/// The three ports of an Azurite; the default, all 0, lets Azurite pick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Ports {
    /// The Blob service's port.
    pub blob: u16,
    /// The Queue service's port.
    pub queue: u16,
    /// The Table service's port.
    pub table: u16,
}

/// Azurite's debug log, in the workspace of an instance that logs its requests.
const DEBUG_LOG: &str = "debug.log";

/// Azurite's options common to every launch.
/// Azurite's debug log, relative to the workspace (its working folder).
const DEBUG_ARGS: &[&str] = &["--debug", DEBUG_LOG];

const COMMON_ARGS: [&str; 3] = ["--skipApiVersionCheck", "--disableTelemetry", "--silent"];

/// Where the package is installed: `$DURABLE_AZURITE_DIR`, else `target/azurite` of this
/// workspace.
pub fn install_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DURABLE_AZURITE_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/azurite")
}

/// One Azurite for the whole test process, started on first use.
pub fn shared() -> Result<&'static Azurite, String> {
    static SHARED: OnceLock<Result<Azurite, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| Azurite::start().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

impl Azurite {
    /// Installs Azurite if needed and starts it on free ports.
    pub fn start() -> Result<Azurite, AzuriteError> {
        Self::start_in_memory(&[])
    }

    /// Like [`start`](Self::start), with Azurite's debug log on, so that
    /// [`served_requests`](Self::served_requests) lists every request it has served: for
    /// tests and measurements of how many storage transactions the host makes.
    pub fn start_logging_requests() -> Result<Azurite, AzuriteError> {
        Self::start_in_memory(&[DEBUG_ARGS])
    }

    /// Like [`start`](Self::start), over HTTPS with `certificate` and with OAuth on (Azurite's
    /// `--oauth basic`): requests may carry a bearer token, whose audience, issuer and lifetime
    /// Azurite checks (see [`crate::identity_provider`]), as well as Shared Key signatures.
    /// Reach it through [`https_endpoints`](Self::https_endpoints).
    pub fn start_with_oauth(
        certificate: &crate::tls::TestCertificate,
    ) -> Result<Azurite, AzuriteError> {
        let cert = certificate.cert_file().to_string_lossy().into_owned();
        let key = certificate.key_file().to_string_lossy().into_owned();
        Self::start_in_memory(&[&["--oauth", "basic", "--cert", &cert, "--key", &key]])
    }

    /// The blob, queue and table endpoints of the emulator's account over HTTPS (for an
    /// instance from [`start_with_oauth`](Self::start_with_oauth)).
    pub fn https_endpoints(&self) -> [String; 3] {
        [self.ports.blob, self.ports.queue, self.ports.table]
            .map(|port| format!("https://127.0.0.1:{port}/{DEVELOPMENT_ACCOUNT}"))
    }

    /// The requests served so far, oldest first (empty unless started with
    /// [`start_logging_requests`](Self::start_logging_requests)).
    pub fn served_requests(&self) -> Vec<ServedRequest> {
        self.workspace
            .as_ref()
            .map(|w| crate::request_log::read(&w.join(DEBUG_LOG)))
            .unwrap_or_default()
    }

    fn start_in_memory(extra: &[&[&str]]) -> Result<Azurite, AzuriteError> {
        let dir = install_dir();
        let bin = ensure_installed(&dir)?;
        let workspace = std::env::temp_dir().join(format!("azurite-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&workspace)
            .map_err(|e| AzuriteError::MissingTool("a temporary folder", e.to_string()))?;
        // The wrapper stops Azurite when our end of its stdin closes, i.e. when this process
        // exits for any reason (a static handle is never dropped), then removes the folder.
        let script = "\"$0\" \"$@\" & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; \
                      wait $pid; cd / && rm -rf \"$AZURITE_WORKSPACE\"";
        let mut args = vec!["--inMemoryPersistence"];
        args.extend(COMMON_ARGS);
        args.extend(["--blobPort", "0", "--queuePort", "0", "--tablePort", "0"]);
        for more in extra {
            args.extend(more.iter().copied());
        }
        let (child, ports, _) = launch(script, &bin, &args, &workspace)?;
        Ok(Azurite {
            child,
            workspace: Some(workspace),
            ports,
            persistent: None,
        })
    }

    /// Installs Azurite if needed and starts it with its data in `dir` (created if missing,
    /// kept on drop), on `ports`, or on ports it picks when `None`. Such an instance can be
    /// [killed](Self::kill) and [restarted](Self::restart).
    pub fn start_persistent(dir: &Path, ports: Option<Ports>) -> Result<Azurite, AzuriteError> {
        let bin = ensure_installed(&install_dir())?;
        std::fs::create_dir_all(dir)
            .map_err(|e| AzuriteError::MissingTool("a data folder", e.to_string()))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| AzuriteError::MissingTool("a data folder", e.to_string()))?;
        let (child, ports, pid) = launch_persistent(&bin, &dir, ports.unwrap_or_default())?;
        Ok(Azurite {
            child,
            workspace: None,
            ports,
            persistent: Some(Persistent { bin, dir, pid }),
        })
    }

    /// Kills a persistent Azurite with SIGKILL, as a crash would, and waits until it is gone
    /// and its ports are free. It stays down until [`restart`](Self::restart). Does nothing
    /// to an instance that is not persistent or is already down.
    pub fn kill(&mut self) {
        let Some(pid) = self.persistent.as_mut().and_then(|p| p.pid.take()) else {
            return;
        };
        kill_pid(pid);
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }

    /// Kills a persistent Azurite (SIGKILL) if it is running and starts it again on the same
    /// ports with the same data folder, returning once it listens. Data written within
    /// [`AUTOSAVE_INTERVAL`] before the kill may be lost. An instance started with
    /// [`start`](Self::start) cannot be restarted: that is an error.
    pub fn restart(&mut self) -> Result<(), AzuriteError> {
        if self.persistent.is_none() {
            return Err(AzuriteError::Start {
                reason: "only an Azurite from start_persistent can be restarted".to_owned(),
                output: String::new(),
            });
        }
        self.kill();
        let persistent = self.persistent.as_mut().expect("checked above");
        let (child, _, pid) = launch_persistent(&persistent.bin, &persistent.dir, self.ports)?;
        persistent.pid = pid;
        self.child = child;
        Ok(())
    }

    /// Stops a persistent Azurite as an orderly service restart would (SIGTERM: it closes its
    /// servers and saves its data, so nothing it acknowledged is lost) and starts it again on
    /// the same ports with the same data folder, returning once it listens. An Azurite that
    /// has not stopped after 10 s is killed.
    pub fn restart_gracefully(&mut self) -> Result<(), AzuriteError> {
        if let Some(pid) = self.persistent.as_mut().and_then(|p| p.pid.take()) {
            signal_azurite(pid, libc::SIGTERM);
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while std::path::Path::new(&format!("/proc/{pid}")).exists()
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            kill_pid(pid);
            drop(self.child.stdin.take());
            let _ = self.child.wait();
        }
        self.restart()
    }

    /// This instance's ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The data folder of a persistent instance.
    pub fn data_dir(&self) -> Option<&Path> {
        self.persistent.as_ref().map(|p| p.dir.as_path())
    }

    /// The emulator's account on this instance's ports.
    pub fn account(&self) -> StorageAccount {
        StorageAccount::development(self.ports.blob, self.ports.queue, self.ports.table)
    }

    /// The process id of the wrapper that runs Azurite (Azurite is its child): for tools
    /// that measure the emulator, e.g. its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A full connection string for this instance (explicit endpoints).
    pub fn connection_string(&self) -> String {
        let account = self.account();
        format!(
            "DefaultEndpointsProtocol=http;AccountName={DEVELOPMENT_ACCOUNT};\
             AccountKey={DEVELOPMENT_KEY};BlobEndpoint={};QueueEndpoint={};TableEndpoint={};",
            account.blob_endpoint, account.queue_endpoint, account.table_endpoint
        )
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        // Closing stdin makes the wrapper stop Azurite; killing the wrapper alone would not.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        if let Some(workspace) = &self.workspace {
            let _ = std::fs::remove_dir_all(workspace);
        }
    }
}

/// Sends SIGKILL to Azurite itself, a child of our wrapper, if that process id is still
/// Azurite's (it may have died on its own and its id been reused).
fn kill_pid(pid: u32) {
    signal_azurite(pid, libc::SIGKILL);
}

/// Sends `signal` to Azurite's process `pid`, if that id is still Azurite's.
fn signal_azurite(pid: u32, signal: libc::c_int) {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if !String::from_utf8_lossy(&cmdline).contains("azurite") {
        return;
    }
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) touches no memory of ours.
        unsafe { libc::kill(pid, signal) };
    }
}

/// Starts a persistent Azurite on `ports` with its data in `dir`. The wrapper prints
/// Azurite's process id (for [`Azurite::kill`]) and, unlike the in-memory one, removes
/// nothing.
fn launch_persistent(bin: &Path, dir: &Path, ports: Ports) -> Result<Launch, AzuriteError> {
    let script = "\"$0\" \"$@\" & pid=$!; echo \"azurite pid $pid\"; cat >/dev/null; \
                  kill $pid 2>/dev/null; wait $pid";
    let location = dir.to_string_lossy();
    let [blob, queue, table] = [ports.blob, ports.queue, ports.table].map(|p| p.to_string());
    let mut args = vec!["--location", &location];
    args.extend(COMMON_ARGS);
    args.extend([
        "--blobPort",
        &blob,
        "--queuePort",
        &queue,
        "--tablePort",
        &table,
    ]);
    launch(script, bin, &args, dir)
}

/// The wrapper, Azurite's ports and, if the wrapper printed it, Azurite's process id.
type Launch = (Child, Ports, Option<u32>);

/// Runs `script` (Azurite `bin` with `args` as `$0 $@`) in `workspace` and waits until
/// Azurite reports its three ports.
fn launch(
    script: &str,
    bin: &Path,
    args: &[&str],
    workspace: &Path,
) -> Result<Launch, AzuriteError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(bin)
        .args(args)
        .current_dir(workspace)
        .env("AZURITE_WORKSPACE", workspace)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| AzuriteError::MissingTool("sh", e.to_string()))?;
    let (tx, rx) = mpsc::channel();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        // Keeps draining after start-up so Azurite never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);
    let mut output = String::new();
    let mut ports = [None, None, None];
    let mut pid = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while ports.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                output.push_str(&line);
                output.push('\n');
                for (i, service) in ["Blob", "Queue", "Table"].iter().enumerate() {
                    if let Some(port) = listening_port(&line, service) {
                        ports[i] = Some(port);
                    }
                }
                if let Some(n) = line.strip_prefix("azurite pid ") {
                    pid = n.trim().parse().ok();
                }
            }
            Err(e) => {
                if let Some(pid) = pid {
                    kill_pid(pid);
                }
                let _ = child.kill();
                let reason = match e {
                    mpsc::RecvTimeoutError::Timeout => "no ports after 60 s".to_owned(),
                    mpsc::RecvTimeoutError::Disconnected => {
                        format!("it exited ({:?})", child.wait().ok())
                    }
                };
                return Err(AzuriteError::Start { reason, output });
            }
        }
    }
    let [Some(blob), Some(queue), Some(table)] = ports else {
        unreachable!("the loop ends when every port is known")
    };
    Ok((child, Ports { blob, queue, table }, pid))
}

/// The port in "Azurite Blob service is successfully listening at http://127.0.0.1:PORT".
fn listening_port(line: &str, service: &str) -> Option<u16> {
    let marker = format!("{service} service is successfully listening at ");
    let url = &line[line.find(&marker)? + marker.len()..];
    url.trim()
        .rsplit(':')
        .next()?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// The `azurite` launcher in `dir`, installing the pinned package first if it is missing.
fn ensure_installed(dir: &Path) -> Result<PathBuf, AzuriteError> {
    let bin = dir.join("node_modules/.bin/azurite");
    let version = Command::new("node").arg("--version").output();
    match version {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stderr).into_owned();
            return Err(AzuriteError::MissingTool("node", text));
        }
        Err(e) => return Err(AzuriteError::MissingTool("node", e.to_string())),
    }
    if bin.exists() {
        return Ok(bin);
    }
    // Install beside the target and rename, so two test binaries never see half an install.
    let staging = dir.with_extension(format!("installing-{}", std::process::id()));
    let output = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&staging)
        .arg(PACKAGE)
        .output()
        .map_err(|e| AzuriteError::MissingTool("npm", e.to_string()))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(AzuriteError::Install {
            dir: dir.display().to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    if std::fs::rename(&staging, dir).is_err() {
        // Another process finished first; its install is as good as ours.
        let _ = std::fs::remove_dir_all(&staging);
    }
    if bin.exists() {
        Ok(bin)
    } else {
        Err(AzuriteError::Install {
            dir: dir.display().to_string(),
            output: format!("npm succeeded but {} is missing", bin.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::listening_port;

    #[test]
    fn reads_ports_from_output() {
        let line = "Azurite Queue service is successfully listening at http://127.0.0.1:46473";
        assert_eq!(listening_port(line, "Queue"), Some(46473));
        let line = "Azurite Table service is successfully listening at https://127.0.0.1:4647";
        assert_eq!(listening_port(line, "Table"), Some(4647));
        assert_eq!(listening_port(line, "Blob"), None);
    }
}
