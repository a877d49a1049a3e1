//! Support for the end-to-end tests: workloads shared between test processes and the tests
//! that drive them.

pub mod app_host;
pub mod bounded;
pub mod browser;
pub mod containers;
pub mod crash;
pub mod faults;
pub mod grpc;
pub mod http_server;
pub mod js;
pub mod python;
pub mod s3;
pub mod sample_app;

/// Runs a machine set-up script of the tests (`bash <script>`), which installs what they need
/// or fails with its reason; panics with that reason, saying what `needs` it.
pub fn run_setup_script(script: &std::path::Path, needs: &str) {
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", script.display()));
    assert!(
        out.status.success(),
        "{needs}, and {} could not prepare them:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
