//! The fs-faults shim on a child process: this test binary again, run with
//! `FS_FAULTS_CHILD_OPS` set, where [`child_process`] performs file operations through std
//! and libc and prints one result line for each. Every fault fires exactly as configured,
//! on the functions named, and an empty control file injects nothing.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_testing::fs_faults::{injections, FsFault, FsFaults, RELOAD};

const OPS: &str = "FS_FAULTS_CHILD_OPS";
const DIR: &str = "FS_FAULTS_CHILD_DIR";

/// The child: runs the operations in `$FS_FAULTS_CHILD_OPS` (`verb:file`, space-separated,
/// files in `$FS_FAULTS_CHILD_DIR`), printing `fsop <op> ok` or `fsop <op> err <errno>`.
/// Does nothing in a normal test run.
#[test]
fn child_process() {
    let Ok(ops) = std::env::var(OPS) else { return };
    let dir = PathBuf::from(std::env::var(DIR).unwrap());
    let mut files: HashMap<String, Arc<File>> = HashMap::new();
    for op in ops.split_whitespace() {
        let (verb, name) = op.split_once(':').unwrap();
        let path = dir.join(name);
        let file = || files.get(name).cloned().expect("opened before");
        let result = match verb {
            "create" => OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .map(|f| files.insert(name.to_owned(), Arc::new(f)))
                .map(drop),
            "read" => File::open(&path).map(drop),
            "write" => (&*file()).write(b"data").map(drop),
            "pwrite" => file().write_at(b"data", 0).map(drop),
            "libc-pwrite" => {
                // SAFETY: a valid fd and a 4-byte buffer.
                let n = unsafe { libc::pwrite(file().as_raw_fd(), b"data".as_ptr().cast(), 4, 0) };
                os_result(n as i32)
            }
            "fsync" => file().sync_all(),
            "fdatasync" => file().sync_data(),
            "open" => raw_open(&path, None, libc::O_RDONLY),
            "openat" | "openat64" | "openat-w" => {
                let at = File::open(&dir).unwrap();
                let flags = match verb {
                    "openat-w" => libc::O_WRONLY | libc::O_CREAT,
                    _ => libc::O_RDONLY,
                };
                raw_open(
                    Path::new(name),
                    Some((at.as_raw_fd(), verb == "openat64")),
                    flags,
                )
            }
            "fdatasync-threads" => {
                let f = file();
                let threads: Vec<_> = (0..8)
                    .map(|_| {
                        let f = f.clone();
                        std::thread::spawn(move || {
                            (0..25).filter(|_| f.sync_data().is_err()).count()
                        })
                    })
                    .collect();
                let failed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
                println!("fsop {op} failed {failed}");
                continue;
            }
            "wait" => {
                let deadline = Instant::now() + Duration::from_secs(30);
                while !path.exists() {
                    assert!(Instant::now() < deadline, "{op}: the parent never went on");
                    std::thread::sleep(Duration::from_millis(5));
                }
                // The parent changed the rules before it created the file: let them load.
                std::thread::sleep(RELOAD * 3);
                Ok(())
            }
            _ => panic!("unknown op {op}"),
        };
        match result {
            Ok(()) => println!("fsop {op} ok"),
            Err(e) => println!("fsop {op} err {}", e.raw_os_error().unwrap_or(-1)),
        }
        io::stdout().flush().unwrap();
    }
}

fn os_result(n: i32) -> io::Result<()> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `open`, or `openat`/`openat64` relative to a directory fd, through libc; closes the fd.
fn raw_open(path: &Path, at: Option<(i32, bool)>, flags: i32) -> io::Result<()> {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string and, for openat, a valid directory fd.
    let fd = unsafe {
        match at {
            None => libc::open(c.as_ptr(), flags, 0o644),
            Some((dir, false)) => libc::openat(dir, c.as_ptr(), flags, 0o644),
            Some((dir, true)) => libc::openat64(dir, c.as_ptr(), flags, 0o644),
        }
    };
    os_result(fd)?;
    // SAFETY: fd was just opened and is ours.
    unsafe { libc::close(fd) };
    Ok(())
}

/// A folder of its own (canonical, as /proc/self/fd names files), removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("fs-faults-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir.canonicalize().unwrap())
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }

    fn faults(&self) -> FsFaults {
        FsFaults::new(self.0.join("control")).unwrap_or_else(|e| panic!("the shim: {e}"))
    }

    /// The child, started on `ops` under `faults`.
    fn spawn(&self, faults: &FsFaults, ops: &str) -> Command {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "child_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(OPS, ops)
            .env(DIR, &self.0)
            .envs(faults.env());
        command
    }

    /// Runs the child to the end: its result lines and its injection reports.
    fn run(&self, faults: &FsFaults, ops: &str) -> (Vec<String>, Vec<String>) {
        let out = self.spawn(faults, ops).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let results = stdout.lines().filter_map(result_line).map(String::from);
        let injected = injections(&stderr).map(String::from).collect();
        (results.collect(), injected)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The child's result on this line of its output (libtest starts the first line).
fn result_line(line: &str) -> Option<&str> {
    line.split_once("fsop ").map(|(_, result)| result)
}

/// `op result` lines.
fn lines(expected: &[(&str, &str)]) -> Vec<String> {
    expected.iter().map(|(op, r)| format!("{op} {r}")).collect()
}

const EIO: &str = "err 5";
const EMFILE: &str = "err 24";
const ENOSPC: &str = "err 28";
const EROFS: &str = "err 30";

#[test]
fn nothing_is_injected_with_an_empty_control_file() {
    let dir = Scratch::new();
    let faults = dir.faults();
    let ops = "create:a.db write:a.db pwrite:a.db libc-pwrite:a.db fsync:a.db fdatasync:a.db \
               read:a.db open:a.db openat:a.db openat64:a.db openat-w:b.db";
    let (results, injected) = dir.run(&faults, ops);
    let expected: Vec<_> = ops
        .split(' ')
        .filter(|o| !o.is_empty())
        .map(|o| (o, "ok"))
        .collect();
    assert_eq!(results, lines(&expected));
    assert!(injected.is_empty(), "{injected:?}");
}

#[test]
fn fsync_eio_fails_exactly_count_syncs_of_matching_files() {
    let dir = Scratch::new();
    let faults = dir.faults();
    let a = dir.path("a.db");
    faults
        .set(&[FsFault::FsyncEio {
            path: a.clone(),
            count: 2,
        }])
        .unwrap();
    let ops = "create:a.db create:b.db fsync:b.db fdatasync:a.db fsync:a.db fdatasync:a.db \
               fsync:a.db";
    let (results, injected) = dir.run(&faults, ops);
    assert_eq!(
        results,
        lines(&[
            ("create:a.db", "ok"),
            ("create:b.db", "ok"),
            ("fsync:b.db", "ok"),
            ("fdatasync:a.db", EIO),
            ("fsync:a.db", EIO),
            ("fdatasync:a.db", "ok"),
            ("fsync:a.db", "ok"),
        ])
    );
    assert_eq!(
        injected,
        [
            format!("EIO on fdatasync({a})"),
            format!("EIO on fsync({a})")
        ]
    );
}

#[test]
fn counts_are_exact_across_threads() {
    let dir = Scratch::new();
    let faults = dir.faults();
    let path = dir.path("a.db");
    faults
        .set(&[FsFault::FsyncEio { path, count: 60 }])
        .unwrap();
    let (results, injected) = dir.run(&faults, "create:a.db fdatasync-threads:a.db");
    assert_eq!(
        results,
        ["create:a.db ok", "fdatasync-threads:a.db failed 60"]
    );
    assert_eq!(injected.len(), 60);
}

#[test]
fn open_emfile_fails_exactly_count_opens_through_each_function() {
    let dir = Scratch::new();
    let faults = dir.faults();
    for name in ["c.txt", "d.txt"] {
        std::fs::write(dir.path(name), "x").unwrap();
    }
    let c = dir.path("c.txt");
    faults
        .set(&[FsFault::OpenEmfile {
            path: c.clone(),
            count: 4,
        }])
        .unwrap();
    let (results, injected) = dir.run(
        &faults,
        "read:d.txt read:c.txt open:c.txt openat:c.txt openat64:c.txt read:c.txt openat:c.txt",
    );
    assert_eq!(
        results,
        lines(&[
            ("read:d.txt", "ok"),
            ("read:c.txt", EMFILE),
            ("open:c.txt", EMFILE),
            ("openat:c.txt", EMFILE),
            ("openat64:c.txt", EMFILE),
            ("read:c.txt", "ok"),
            ("openat:c.txt", "ok"),
        ])
    );
    // std opens with open64; openat's relative name is found through its directory fd.
    let functions = ["open64", "open", "openat", "openat64"];
    let expected: Vec<_> = functions
        .iter()
        .map(|f| format!("EMFILE on {f}({c})"))
        .collect();
    assert_eq!(injected, expected);
}

#[test]
fn write_enospc_fails_writes_while_present() {
    let dir = Scratch::new();
    let faults = dir.faults();
    let full = dir.path("full.db");
    faults
        .set(&[FsFault::WriteEnospc { path: full.clone() }])
        .unwrap();
    let (results, injected) = dir.run(
        &faults,
        "create:full.db write:full.db pwrite:full.db libc-pwrite:full.db create:other.db \
         write:other.db fsync:full.db write:full.db",
    );
    assert_eq!(
        results,
        lines(&[
            ("create:full.db", "ok"),
            ("write:full.db", ENOSPC),
            ("pwrite:full.db", ENOSPC),
            ("libc-pwrite:full.db", ENOSPC),
            ("create:other.db", "ok"),
            ("write:other.db", "ok"),
            ("fsync:full.db", "ok"),
            ("write:full.db", ENOSPC),
        ])
    );
    let functions = ["write", "pwrite64", "pwrite", "write"];
    let expected: Vec<_> = functions
        .iter()
        .map(|f| format!("ENOSPC on {f}({full})"))
        .collect();
    assert_eq!(injected, expected);
}

/// EROFS, set and cleared while the child runs: opens for reading still work.
#[test]
fn write_erofs_comes_and_goes_while_the_child_runs() {
    let dir = Scratch::new();
    let faults = dir.faults();
    let mut child = dir
        .spawn(
            &faults,
            "create:ro-x write:ro-x wait:go write:ro-x create:ro-y openat-w:ro-z read:ro-x \
             wait:go2 write:ro-x create:ro-y",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut results = Vec::new();
    let mut next = |results: &mut Vec<String>, n: usize| {
        while results.len() < n {
            let line = stdout.next().expect("the child's output").unwrap();
            results.extend(result_line(&line).map(String::from));
        }
    };
    next(&mut results, 2);
    faults
        .set(&[FsFault::WriteErofs {
            path: dir.path("ro-"),
        }])
        .unwrap();
    std::fs::write(dir.path("go"), "").unwrap();
    next(&mut results, 7);
    faults.clear().unwrap();
    std::fs::write(dir.path("go2"), "").unwrap();
    next(&mut results, 10);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        results,
        lines(&[
            ("create:ro-x", "ok"),
            ("write:ro-x", "ok"),
            ("wait:go", "ok"),
            ("write:ro-x", EROFS),
            ("create:ro-y", EROFS),
            ("openat-w:ro-z", EROFS),
            ("read:ro-x", "ok"),
            ("wait:go2", "ok"),
            ("write:ro-x", "ok"),
            ("create:ro-y", "ok"),
        ])
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let injected: Vec<_> = injections(&stderr).collect();
    let expected = [
        format!("EROFS on write({})", dir.path("ro-x")),
        format!("EROFS on open64({})", dir.path("ro-y")),
        format!("EROFS on openat({})", dir.path("ro-z")),
    ];
    assert_eq!(injected, expected);
}
