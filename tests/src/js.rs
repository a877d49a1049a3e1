//! Workers in JavaScript: Node scripts in `tests/js/` use the official Durable Task SDK for
//! JavaScript (`@microsoft/durabletask-js`, pinned by `tests/js/package-lock.json`).
//! `tests/js/setup.sh` installs it into `tests/js/node_modules` first; when it cannot, the test
//! fails with its reason (it never skips).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The folder of the Node scripts and their `node_modules`.
pub fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Installs the SDK when missing (`tests/js/setup.sh`), once per process; panics with the
/// script's reason when it cannot.
pub fn set_up() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        crate::run_setup_script(
            &js_dir().join("setup.sh"),
            "the JavaScript worker tests require Node.js and @microsoft/durabletask-js",
        );
    });
}

/// Runs `node tests/js/<script> <args>` in `tests/js` (after [`set_up`]) to its end and returns
/// its output; kills it and panics with its output so far when it runs longer than `limit`.
pub fn run(script: &str, args: &[&str], limit: Duration) -> Output {
    set_up();
    let mut cmd = Command::new("node");
    cmd.arg(js_dir().join(script))
        .args(args)
        .current_dir(js_dir());
    crate::bounded::run_to_end(cmd, &format!("node {script} {args:?}"), limit)
}
