//! Workers in JavaScript: Node scripts in `tests/js/` use the official Durable Task SDK for
//! JavaScript (`@microsoft/durabletask-js`, pinned by `tests/js/package-lock.json`).
//! `tests/js/setup.sh` installs it into `tests/js/node_modules` first; when it cannot, the test
//! fails with its reason (it never skips).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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
    let mut child = Command::new("node")
        .arg(js_dir().join(script))
        .args(args)
        .current_dir(js_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node {script} cannot run: {e}"));
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("node can be waited for") {
            break Some(status);
        }
        if Instant::now() >= deadline {
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
            "node {script} {args:?} took longer than {limit:?} and was killed:\n{}\n{}",
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
