//! The app's container image, built from the repository's `Dockerfile` with podman, and
//! containers of it, for the end-to-end deployment tests. `tests/containers/setup.sh`
//! installs podman and makes the base image first; when it cannot, the test fails with its
//! reason (it never skips).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::app_host::try_request;

/// The workspace root: the `Dockerfile` and the build context.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// A podman command with the engine settings this kind of machine needs.
fn podman(args: &[&str]) -> Command {
    let mut cmd = Command::new("podman");
    cmd.args(args).env(
        "CONTAINERS_CONF",
        workspace().join("tests/containers/containers.conf"),
    );
    cmd
}

/// Runs podman and returns its stdout; panics with its output when it fails.
fn run(args: &[&str]) -> String {
    let out = podman(args)
        .output()
        .unwrap_or_else(|e| panic!("podman {args:?} cannot run: {e}"));
    check(args, &out);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn check(args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "podman {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Installs podman and makes the base image when missing (`tests/containers/setup.sh`).
pub fn set_up() {
    crate::run_setup_script(
        &workspace().join("tests/containers/setup.sh"),
        "the container tests require podman and a base image",
    );
}

/// An image built from the `Dockerfile`; removed on drop.
pub struct Image {
    /// Its name.
    pub name: String,
}

impl Image {
    /// Builds the `runtime-prebuilt` target around `binary` (stripped first, as a release
    /// image would have it), so the test does not compile the app a second time.
    pub fn build_prebuilt(binary: &Path) -> Image {
        let context = tempfile::tempdir().unwrap();
        let status = Command::new("strip")
            .arg("-o")
            .arg(context.path().join("functions"))
            .arg(binary)
            .status()
            .expect("strip runs");
        assert!(status.success(), "strip {} failed", binary.display());
        let name = format!("localhost/functions-e2e:{}", std::process::id());
        let prebuilt = format!("prebuilt={}", context.path().display());
        let root = workspace();
        let args = [
            "build",
            "--pull=never",
            "--format",
            "docker",
            "--target",
            "runtime-prebuilt",
            "--build-context",
            &prebuilt,
            "--tag",
            &name,
            root.to_str().unwrap(),
        ];
        let out = podman(&args).output().expect("podman runs");
        check(&args, &out);
        Image { name }
    }

    /// The image's size in bytes, as podman reports it.
    pub fn size(&self) -> u64 {
        run(&["image", "inspect", "--format", "{{.Size}}", &self.name])
            .parse()
            .expect("a size")
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = podman(&["rmi", "--force", &self.name]).output();
    }
}

/// A running container; removed (killed if need be) on drop.
pub struct Container {
    /// Its name.
    pub name: String,
    /// The host port its HTTP port 7071 is published on (on 127.0.0.1).
    pub port: u16,
}

impl Container {
    /// Starts a container of `image` named `name` with these environment variables, its
    /// port 7071 published on a free port of 127.0.0.1, and the host's loopback reachable
    /// as 10.0.2.2 (where the test's Azurite listens).
    pub fn start(image: &Image, name: &str, env: &[(&str, String)]) -> Container {
        let _ = podman(&["rm", "--force", name]).output();
        let mut args: Vec<String> = [
            "run",
            "--detach",
            "--name",
            name,
            "--network",
            "slirp4netns:allow_host_loopback=true",
            "--publish",
            "127.0.0.1::7071",
        ]
        .map(String::from)
        .to_vec();
        for (key, value) in env {
            args.push("--env".into());
            args.push(format!("{key}={value}"));
        }
        args.push(image.name.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args);
        let published = run(&["port", name, "7071"]);
        let port = published
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("podman port {name}: {published:?}"));
        Container {
            name: name.to_owned(),
            port,
        }
    }

    /// Waits until `/admin/host/ready` answers 200; returns how long that took, or panics
    /// with the container's log after `limit`.
    pub fn wait_ready(&self, limit: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(r) = try_request(self.port, "GET", "/admin/host/ready") {
                if r.status == 200 {
                    return started.elapsed();
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} not ready after {limit:?}; log:\n{}",
            self.name,
            self.logs()
        );
    }

    /// Its output (stdout and stderr) so far.
    pub fn logs(&self) -> String {
        let out = podman(&["logs", &self.name]).output().expect("podman runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Sends `signal` (e.g. `TERM`) to the container's main process.
    pub fn signal(&self, signal: &str) {
        run(&["kill", "--signal", signal, &self.name]);
    }

    /// Whether it still runs.
    pub fn is_running(&self) -> bool {
        run(&["inspect", "--format", "{{.State.Running}}", &self.name]) == "true"
    }

    /// Waits until it has exited (at most `limit`); returns its exit code, or `None` if it
    /// still runs.
    pub fn wait_exit(&self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        while self.is_running() {
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(
            run(&["inspect", "--format", "{{.State.ExitCode}}", &self.name])
                .parse()
                .expect("an exit code"),
        )
    }

    /// Runs the image's `HEALTHCHECK` now; true when it passed.
    pub fn healthcheck(&self) -> bool {
        podman(&["healthcheck", "run", &self.name])
            .output()
            .expect("podman runs")
            .status
            .success()
    }

    /// The resident memory of its main process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let pid = run(&["inspect", "--format", "{{.State.Pid}}", &self.name]);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "--force", "--time", "0", &self.name]).output();
    }
}
