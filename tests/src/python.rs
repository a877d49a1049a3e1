//! The test virtualenv: `tests/python/setup.sh` creates it under `target/pyenv` with the pinned
//! `tests/python/requirements.txt` on first use (seconds with PyPI reachable) and is instant
//! afterwards. A failing set-up fails the test with the script's output; it never skips.

use std::path::PathBuf;
use std::process::Command;

/// The folder of the Python helpers and the requirements.
pub fn python_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// Runs the set-up script once per process; returns the venv's python.
pub fn set_up() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(run_setup).clone()
}

fn run_setup() -> PathBuf {
    let out = Command::new("bash")
        .arg(python_dir().join("setup.sh"))
        .output()
        .expect("run tests/python/setup.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/python/setup.sh failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    let python = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        python.exists(),
        "setup.sh did not print the venv's python (got {python:?}):\n{stdout}\n{stderr}"
    );
    python
}
