//! Page tests in headless Chromium: Node scripts in `tests/browser/` drive Debian's
//! `/usr/bin/chromium` with playwright-core. `tests/browser/setup.sh` installs both first;
//! when it cannot, the test fails with its reason (it never skips).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a script may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// The folder of the Node scripts and their `node_modules`.
fn scripts() -> PathBuf {
    workspace().join("tests/browser")
}

/// Where the scripts save screenshots (`BROWSER_ARTIFACTS`): `<workspace>/target/browser-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    workspace().join("target/browser-artifacts")
}

/// Installs Chromium and playwright-core when missing (`tests/browser/setup.sh`), once per
/// process; panics with the script's reason when it cannot.
pub fn set_up() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        crate::run_setup_script(
            &scripts().join("setup.sh"),
            "the browser tests require Chromium and playwright-core",
        );
    });
}

/// Runs `node tests/browser/<script> <args>` in `tests/browser` with `BROWSER_ARTIFACTS` set
/// to [`artifacts_dir`] (created) and then `env` (which may override it). Kills it and panics
/// with its output so far when it takes longer than two minutes.
pub fn run(script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let artifacts = artifacts_dir();
    std::fs::create_dir_all(&artifacts)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", artifacts.display()));
    let mut child = Command::new("node")
        .arg(scripts().join(script))
        .args(args)
        .current_dir(scripts())
        .env("BROWSER_ARTIFACTS", &artifacts)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node {script} cannot run: {e}"));
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("node can be waited for") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // Chromium exits by itself when its pipe to Playwright closes.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().expect("the stdout reader does not panic");
    let stderr = stderr.join().expect("the stderr reader does not panic");
    let Some(status) = status else {
        panic!(
            "node {script} {args:?} took longer than {TIMEOUT:?} and was killed:\n{}\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Reads a pipe to its end on a thread of its own (so neither pipe can fill up and block).
fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}
