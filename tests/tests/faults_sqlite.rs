//! Faults under the embedded store: real host processes run "Hello cities" on their SQLite
//! task hub with the project's LD_PRELOAD shim (`durable_testing::fs_faults`) failing its file
//! operations on cue: a failed fsync of the log, a full disk, a read-only file system, a
//! read-only hub file at start, and a flood of connections under a low open-files limit.
//! After each: every acknowledged instance completed exactly once with the right output and a
//! well-formed history, no start was falsely refused, and the host either recovered by itself
//! or exited non-zero for a supervisor to restart it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use durable::client::DurableClient;
use durable::store::sqlite::SqliteTaskHub;
use durable_testing::fs_faults::{self, FsFault, FsFaults};
use serde_json::json;
use tests::app_host::{AppDir, TestHost};
use tests::faults::{self, FaultReport, Starts};

const HUB: &str = "FaultHub";

fn app_dir() -> AppDir {
    AppDir::new(
        env!("CARGO_BIN_EXE_scale-out-app"),
        json!({ "TaskHubName": HUB }),
        None,
    )
}

fn hub_file(dir: &AppDir) -> PathBuf {
    dir.path().join(".durable").join(format!("{HUB}.db"))
}

/// A client on the host's hub file, from this process (SQLite in WAL mode shares the file
/// between processes).
fn client(dir: &AppDir) -> DurableClient {
    DurableClient::new(Arc::new(SqliteTaskHub::open(hub_file(dir)).unwrap()))
}

/// The shim and its control file, in a temporary folder.
fn shim() -> (tempfile::TempDir, FsFaults) {
    let control = tempfile::tempdir().unwrap();
    let faults = FsFaults::new(control.path().join("faults")).unwrap_or_else(|e| {
        panic!("the file-system fault shim is required (a C compiler builds it): {e}")
    });
    (control, faults)
}

/// The shim's environment as `TestHost` takes it.
fn env_of(faults: &FsFaults) -> Vec<(&'static str, String)> {
    faults
        .env()
        .into_iter()
        .map(|(k, v): (&'static str, OsString)| (k, v.into_string().unwrap()))
        .collect()
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Waits for the shim to read a changed control file.
fn let_the_shim_reload() {
    std::thread::sleep(fs_faults::RELOAD * 4);
}

fn report_and_check(
    fault: &'static str,
    injected: String,
    starts: &Starts,
    client: &DurableClient,
    fault_end: chrono::DateTime<chrono::Utc>,
    log: &str,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let done = rt.block_on(faults::wait_completed(
        client,
        &starts.acknowledged,
        Duration::from_secs(120),
    ));
    let lost = done.as_ref().err().cloned().unwrap_or_default();
    let problems = rt.block_on(faults::check_all(client, starts));
    let (recovery, last) = faults::recovery(fault_end, &done);
    let report = FaultReport {
        fault,
        instances: starts.acknowledged.len(),
        unanswered: starts.unanswered.len(),
        injected,
        lost: lost.len(),
        duplicated: problems.len(),
        falsely_refused: starts.refused.len(),
        recovery,
        last,
    };
    eprintln!("{report}");
    assert!(
        lost.is_empty() && problems.is_empty() && starts.refused.is_empty(),
        "{report}\nnot completed: {lost:?}\nproblems: {problems:#?}\nrefused: {:?}\nhost log:\n{log}",
        starts.refused
    );
}

#[test]
fn a_failed_fsync_stops_the_host_and_a_restart_completes_every_instance() {
    let (_control, shim) = shim();
    let env = env_of(&shim);
    let dir = app_dir();
    let mut host = TestHost::start(&dir, &borrowed(&env));
    let port = host.port;
    // Starts keep coming while the fsync fails, so work is in flight when it does.
    let (starts, ()) = faults::start_while(port, "fsync", || {
        std::thread::sleep(Duration::from_millis(500));
        shim.set(&[FsFault::FsyncEio {
            path: ".db-wal".into(),
            count: 1,
        }])
        .unwrap();
        let_the_shim_reload();
        std::thread::sleep(Duration::from_millis(500));
    });

    // The host does not stay half-alive: it stops and exits non-zero.
    let status = host.wait_exit(Duration::from_secs(60));
    let log = host.log();
    assert!(
        !status.success(),
        "the host exited 0 after a failed fsync:\n{log}"
    );
    assert!(
        log.contains("the task hub failed"),
        "no word of the failure:\n{log}"
    );
    let injected = fs_faults::injections(&log).count();
    assert_eq!(injected, 1, "{log}");

    // A supervisor restarts it (here: the test, without the shim); the store recovers from
    // its log, and every acknowledged instance completes exactly once.
    shim.clear().unwrap();
    let restarted = chrono::Utc::now();
    let host = TestHost::start(&dir, &[]);
    report_and_check(
        "SQLite: one failed fsync of the log",
        format!("{injected} fdatasync EIO"),
        &starts,
        &client(&dir),
        restarted,
        &host.log(),
    );
    host.stop();
}

#[test]
fn full_disk_and_read_only_bursts_pass_and_the_host_recovers_by_itself() {
    let (_control, shim) = shim();
    let env = env_of(&shim);
    let dir = app_dir();
    let mut host = TestHost::start(&dir, &borrowed(&env));
    let port = host.port;
    let (mut starts, fault_end) = faults::start_while(port, "burst", || {
        std::thread::sleep(Duration::from_millis(300));
        for fault in [
            FsFault::WriteEnospc {
                path: ".db-wal".into(),
            },
            FsFault::WriteErofs {
                path: ".db-wal".into(),
            },
        ] {
            shim.set(&[fault]).unwrap();
            std::thread::sleep(Duration::from_secs(2));
            shim.clear().unwrap();
            let_the_shim_reload();
        }
        chrono::Utc::now()
    });
    starts.extend(faults::start_all(host.port, &faults::ids("after", 20), 4));
    let log = host.log();
    let injected = fs_faults::injections(&log).count();
    assert!(
        injected > 0,
        "nothing was injected; the test proves nothing:\n{log}"
    );
    assert!(
        host.is_running(),
        "the host exited after a transient fault:\n{log}"
    );
    let status = host.get("/admin/host/status");
    assert_eq!(status.status, 200, "{status:?}");
    report_and_check(
        "SQLite: 2 s of a full disk, then 2 s of a read-only file system",
        format!("{injected} failed writes"),
        &starts,
        &client(&dir),
        fault_end,
        &host.log(),
    );
    host.stop();
}

#[test]
fn a_read_only_hub_file_is_refused_at_start() {
    let dir = app_dir();
    // A hub that exists (so that SQLite can open it for reading).
    TestHost::start(&dir, &[]).stop();
    let (_control, shim) = shim();
    shim.set(&[FsFault::WriteErofs {
        path: format!("{HUB}.db"),
    }])
    .unwrap();
    let env = env_of(&shim);
    let out = dir.run_to_exit(&[], &borrowed(&env));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a read-only hub was accepted:\n{stderr}"
    );
    assert!(
        stderr.contains("is read-only"),
        "the error does not say why:\n{stderr}"
    );
    assert!(
        stderr.contains(hub_file(&dir).to_str().unwrap()) || stderr.contains(&format!("{HUB}.db")),
        "the error does not name the file:\n{stderr}"
    );
}

/// A wrapper that runs `binary` with an open-files limit of `limit` (soft and hard).
fn limited(binary: &Path, limit: u32, dir: &Path) -> PathBuf {
    let script = dir.join("limited.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec prlimit --nofile={limit}:{limit} -- {} \"$@\"\n",
            binary.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_flood_of_connections_cannot_take_the_stores_file_descriptors() {
    let wrapper_dir = tempfile::tempdir().unwrap();
    let binary = limited(
        Path::new(env!("CARGO_BIN_EXE_scale-out-app")),
        256,
        wrapper_dir.path(),
    );
    let dir = AppDir::new(&binary, json!({ "TaskHubName": HUB }), None);
    let host = TestHost::start(&dir, &[]);
    assert!(
        host.log().contains("fewer connections than configured"),
        "the connection cap was not lowered to the open-files limit:\n{}",
        host.log()
    );
    let starts = faults::start_all(host.port, &faults::ids("flood", 30), 8);
    // 400 connections that send half a request and wait: more than the process may open.
    let flood: Vec<std::net::TcpStream> = (0..400)
        .filter_map(|_| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", host.port)).ok()?;
            std::io::Write::write_all(&mut s, b"GET /admin/host/status HTTP/1.1\r\n").ok()?;
            Some(s)
        })
        .collect();
    assert!(
        flood.len() > 256,
        "the flood did not happen: {}",
        flood.len()
    );
    std::thread::sleep(Duration::from_secs(3));
    drop(flood);
    let fault_end = chrono::Utc::now();
    let status = host.get("/admin/host/status");
    assert_eq!(status.status, 200, "{status:?}\n{}", host.log());
    let log = host.log();
    assert!(
        !log.contains("Too many open files") || !log.contains("task hub"),
        "the store ran out of descriptors:\n{log}"
    );
    report_and_check(
        "SQLite: 400 idle connections under an open-files limit of 256",
        "400 connections".into(),
        &starts,
        &client(&dir),
        fault_end,
        &log,
    );
    host.stop();
}

/// A file system of `size` mounted at `at` for as long as it lives.
struct SmallVolume(PathBuf);

impl SmallVolume {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "mounting a small tmpfs needs root (CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(at.to_path_buf())
    }

    /// Bytes in use.
    fn used(&self) -> u64 {
        let out = std::process::Command::new("df")
            .args(["--output=used", "-B1"])
            .arg(&self.0)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for SmallVolume {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["--lazy"])
            .arg(&self.0)
            .status();
    }
}

/// The hub and its log fit a 20 MB volume: the log is truncated when the store goes idle and
/// when the disk fills, instead of growing to the ~32 MB at which SQLite would checkpoint by
/// itself (a 20 MB volume used to fill after ~300 instances).
#[test]
fn a_twenty_megabyte_volume_holds_a_thousand_instances() {
    let dir = app_dir();
    let volume = SmallVolume::mount(&dir.path().join(".durable"), "20m");
    let mut host = TestHost::start(&dir, &[]);
    let port = host.port;
    let mut starts = Starts::default();
    for round in 0..10 {
        starts.extend(faults::start_all(
            port,
            &faults::ids(&format!("volume{round}"), 100),
            8,
        ));
    }
    let fault_end = chrono::Utc::now();
    assert!(host.is_running(), "the host died:\n{}", host.log());
    report_and_check(
        "SQLite: a 20 MB volume, 1,000 instances",
        format!(
            "no fault ({:.1} MB of the volume in use at the end)",
            volume.used() as f64 / 1e6
        ),
        &starts,
        &client(&dir),
        fault_end,
        &host.log(),
    );
    assert!(
        starts.acknowledged.len() >= 900,
        "{} of 1000 starts acknowledged:\n{}",
        starts.acknowledged.len(),
        host.log()
    );
    host.stop();
    drop(volume);
}
