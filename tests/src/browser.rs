//! Page tests in headless Chromium: Node scripts in `tests/browser/` drive Debian's
//! `/usr/bin/chromium` with playwright-core. `tests/browser/setup.sh` installs both first;
//! when it cannot, the test fails with its reason (it never skips).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

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
    let mut cmd = Command::new("node");
    cmd.arg(scripts().join(script))
        .args(args)
        .current_dir(scripts())
        .env("BROWSER_ARTIFACTS", &artifacts)
        .envs(env.iter().copied());
    // Chromium exits by itself when its pipe to Playwright closes.
    crate::bounded::run_to_end(cmd, &format!("node {script} {args:?}"), TIMEOUT)
}
