//! moto, the S3 and SQS emulator, as a child process: installed from PyPI into `target/moto`
//! (a virtualenv with the pinned `moto-requirements.txt`) on first use, started on a free
//! port, and stopped when this process exits. A test that needs it and cannot have it fails
//! with the reason; it never skips.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The pinned requirements.
const REQUIREMENTS: &str = include_str!("../moto-requirements.txt");

/// A running moto server.
pub struct Moto {
    _child: Child,
    port: u16,
}

/// Where the virtualenv lives: `$DURABLE_MOTO_DIR`, else `target/moto` of this workspace.
pub fn install_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DURABLE_MOTO_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/moto")
}

/// One moto for the whole test process, started on first use.
pub fn shared() -> Result<&'static Moto, String> {
    static SHARED: OnceLock<Result<Moto, String>> = OnceLock::new();
    SHARED
        .get_or_init(Moto::start)
        .as_ref()
        .map_err(Clone::clone)
}

impl Moto {
    /// Installs moto if needed and starts it on a free port.
    pub fn start() -> Result<Moto, String> {
        let server = ensure_installed(&install_dir())?;
        // The wrapper stops moto when our end of its stdin closes, i.e. when this process
        // exits for any reason (a static handle is never dropped).
        let script = "\"$0\" \"$@\" & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid";
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&server)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the port from moto's banner, then keeps draining its log so it never blocks.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.trim().trim_end_matches('/').parse::<u16>().ok())
                {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Ok(port));
                    }
                } else if let Some(tx) = &tx {
                    let _ = tx.send(Err(line));
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut said = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Ok(port)) => {
                    return Ok(Moto {
                        _child: child,
                        port,
                    })
                }
                Ok(Err(line)) => said.push(line),
                Err(_) => {
                    let _ = child.kill();
                    return Err(format!(
                        "moto did not say its port within 60 s; it said:\n{}",
                        said.join("\n")
                    ));
                }
            }
        }
    }

    /// The server's URL (S3 and SQS both answer on it).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// An S3 connection setting for the host (`Provider=S3;...`), with an event queue if
    /// given.
    pub fn connection(&self, event_queue_url: Option<&str>) -> String {
        let mut s = format!(
            "Provider=S3;ServiceUrl={};Region=us-east-1;ForcePathStyle=true;\
             AccessKeyId=testing;SecretAccessKey=testing",
            self.url()
        );
        if let Some(q) = event_queue_url {
            s.push_str(";EventQueueUrl=");
            s.push_str(q);
        }
        s
    }
}

/// Creates the virtualenv with the pinned requirements unless it is there already; returns
/// the `moto_server` path.
fn ensure_installed(dir: &Path) -> Result<PathBuf, String> {
    let server = dir.join("bin/moto_server");
    let stamp = dir.join(".requirements");
    if server.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(REQUIREMENTS) {
        return Ok(server);
    }
    // One installation at a time: test processes may ask at once.
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let lock_path = dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a file descriptor we own.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock {}", lock_path.display()));
    }
    if server.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(REQUIREMENTS) {
        return Ok(server);
    }
    let _ = std::fs::remove_dir_all(dir);
    let run = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd.output().map_err(|e| {
            format!("{what}: cannot run it: {e} (python3 with venv and pip is needed)")
        })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    run(
        Command::new("python3").arg("-m").arg("venv").arg(dir),
        "python3 -m venv",
    )?;
    let requirements = dir.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS).map_err(|e| e.to_string())?;
    run(
        Command::new(dir.join("bin/pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--requirement",
            ])
            .arg(&requirements),
        "pip install moto",
    )?;
    if !server.exists() {
        return Err(format!(
            "pip installed moto but {} is missing",
            server.display()
        ));
    }
    std::fs::write(&stamp, REQUIREMENTS).map_err(|e| e.to_string())?;
    Ok(server)
}
