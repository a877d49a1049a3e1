//! File system faults for a child process, through an `LD_PRELOAD` shim (Linux, glibc).
//!
//! The shim, `fs_faults.c` beside this file, interposes `fsync`, `fdatasync`, the `open`
//! family (`open`, `open64`, `openat`, `openat64` and glibc's fortified `__open*_2`),
//! `write`, `pwrite` and `pwrite64`, and fails the calls that the rules of a control file
//! select: `EIO` on sync, `EMFILE` on open, `ENOSPC` on write, `EROFS` on write and on open for
//! writing (see [`FsFault`]). Rust's std and SQLite (bundled by rusqlite or the system's)
//! make these calls through glibc, so both are affected; stdio (`fopen`), `writev` and
//! `mmap` writes are not.
//!
//! [`library`] compiles the shim with `cc` on first use into `target/fs-faults/<hash>/`,
//! keyed by a hash of its source, so it compiles once per change. [`FsFaults`] owns a control
//! file, replaces it atomically, and gives the environment to put on a child
//! [`Command`]:
//!
//! ```no_run
//! # use durable_testing::fs_faults::{FsFault, FsFaults};
//! let faults = FsFaults::new("/tmp/faults.txt").unwrap();
//! faults.set(&[FsFault::FsyncEio { path: "store.db".into(), count: 1 }]).unwrap();
//! let out = std::process::Command::new("my-host").envs(faults.env()).output().unwrap();
//! let stderr = String::from_utf8_lossy(&out.stderr);
//! assert_eq!(durable_testing::fs_faults::injections(&stderr).count(), 1);
//! ```
//!
//! The shim looks at the control file at most every [`RELOAD`]: a change is seen that much
//! later by a running process. Reading a changed file restores every count; counts are per
//! process. Each injected fault is reported on the child's stderr as
//! `durable-fs-faults: injected EIO on fdatasync(/path/to/file)`.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The shim's source.
const SOURCE: &str = include_str!("fs_faults.c");

/// The start of the line the shim writes to stderr for each injected fault.
pub const LOG_PREFIX: &str = "durable-fs-faults: injected ";

/// How often, at most, the shim looks at its control file.
pub const RELOAD: Duration = Duration::from_millis(50);

/// One rule of the control file. `path` is a substring of the absolute path of the file
/// (for an fd, as `/proc/self/fd/N` names it); it may not be empty nor contain whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsFault {
    /// The next `count` `fsync`/`fdatasync` calls on matching files fail with `EIO`.
    FsyncEio {
        /// A substring of the path.
        path: String,
        /// How many calls fail.
        count: u32,
    },
    /// The next `count` opens of matching paths fail with `EMFILE`.
    OpenEmfile {
        /// A substring of the path.
        path: String,
        /// How many calls fail.
        count: u32,
    },
    /// While the rule is present, writes to matching files fail with `ENOSPC`.
    WriteEnospc {
        /// A substring of the path.
        path: String,
    },
    /// While the rule is present, writes to matching files and opens of them for writing
    /// (write access, `O_CREAT` or `O_TRUNC`) fail with `EROFS`.
    WriteErofs {
        /// A substring of the path.
        path: String,
    },
}

impl FsFault {
    fn path(&self) -> &str {
        match self {
            FsFault::FsyncEio { path, .. }
            | FsFault::OpenEmfile { path, .. }
            | FsFault::WriteEnospc { path }
            | FsFault::WriteErofs { path } => path,
        }
    }
}

/// The rule's line in the control file, without the newline.
impl fmt::Display for FsFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsFault::FsyncEio { path, count } => write!(f, "fsync_eio {path} {count}"),
            FsFault::OpenEmfile { path, count } => write!(f, "open_emfile {path} {count}"),
            FsFault::WriteEnospc { path } => write!(f, "write_enospc {path}"),
            FsFault::WriteErofs { path } => write!(f, "write_erofs {path}"),
        }
    }
}

/// A control file for the shim; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct FsFaults {
    control: PathBuf,
    library: PathBuf,
}

impl FsFaults {
    /// Compiles the shim if needed ([`library`]) and creates an empty control file at
    /// `control` (its folder must exist): no faults until [`set`](Self::set).
    pub fn new(control: impl Into<PathBuf>) -> io::Result<FsFaults> {
        let library = library()?.to_path_buf();
        let faults = FsFaults {
            control: control.into(),
            library,
        };
        faults.clear()?;
        Ok(faults)
    }

    /// Replaces the rules with `faults` (write beside, then rename: a reader never sees half
    /// a file). Counts start afresh.
    pub fn set(&self, faults: &[FsFault]) -> io::Result<()> {
        let mut text = String::new();
        for fault in faults {
            let path = fault.path();
            if path.is_empty() || path.chars().any(char::is_whitespace) || path.len() > 511 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("not a usable path substring: {path:?}"),
                ));
            }
            text.push_str(&fault.to_string());
            text.push('\n');
        }
        let mut staging = self.control.clone().into_os_string();
        staging.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        std::fs::write(&staging, text)?;
        std::fs::rename(&staging, &self.control)
    }

    /// Removes every rule.
    pub fn clear(&self) -> io::Result<()> {
        self.set(&[])
    }

    /// The control file.
    pub fn control(&self) -> &Path {
        &self.control
    }

    /// The compiled shim.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// `LD_PRELOAD` and `DURABLE_FS_FAULTS` for a child, e.g. [`Command::envs`]. Replaces any
    /// `LD_PRELOAD` the child would inherit.
    pub fn env(&self) -> [(&'static str, OsString); 2] {
        [
            ("LD_PRELOAD", self.library.clone().into_os_string()),
            ("DURABLE_FS_FAULTS", self.control.clone().into_os_string()),
        ]
    }
}

/// The lines of a child's stderr that report an injected fault, without [`LOG_PREFIX`]:
/// e.g. `EIO on fdatasync(/tmp/x/store.db)`.
pub fn injections(stderr: &str) -> impl Iterator<Item = &str> {
    stderr.lines().filter_map(|l| l.strip_prefix(LOG_PREFIX))
}

/// The compiled shim, `target/fs-faults/<hash>/libdurable_fs_faults.so` of this workspace,
/// compiling it with `cc` the first time. A missing `cc` or a failed compile is an error that
/// carries the compiler's output.
pub fn library() -> io::Result<&'static Path> {
    static LIBRARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    LIBRARY
        .get_or_init(|| compile().map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|e| io::Error::other(e.clone()))
}

fn compile() -> io::Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fs-faults")
        .join(format!("{:016x}", fnv1a(SOURCE.as_bytes())));
    build("cc", &dir)
}

/// Compiles the shim with `cc` into `dir` unless it is there already.
fn build(cc: &str, dir: &Path) -> io::Result<PathBuf> {
    let library = dir.join("libdurable_fs_faults.so");
    if library.exists() {
        return Ok(library);
    }
    std::fs::create_dir_all(dir)?;
    let source = dir.join("fs_faults.c");
    std::fs::write(&source, SOURCE)?;
    // Compile beside the target and rename, so a concurrent test binary never loads half
    // a library.
    let staging = dir.join(format!("lib.{}.so.tmp", uuid::Uuid::new_v4().simple()));
    let mut command = Command::new(cc);
    command
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&staging)
        .arg(&source)
        .arg("-ldl");
    let output = command.output().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run {cc} to compile the fs-faults shim ({command:?}): {e}"),
        )
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&staging);
        return Err(io::Error::other(format!(
            "compiling the fs-faults shim failed ({}): {command:?}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    std::fs::rename(&staging, &library)?;
    Ok(library)
}

/// FNV-1a, 64 bits: a content key for the cache, not a defence.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_lines() {
        let fault = FsFault::FsyncEio {
            path: "a.db".into(),
            count: 2,
        };
        assert_eq!(fault.to_string(), "fsync_eio a.db 2");
        let fault = FsFault::WriteErofs {
            path: "/ro/".into(),
        };
        assert_eq!(fault.to_string(), "write_erofs /ro/");
        let lines = "x\ndurable-fs-faults: injected EIO on fsync(/a)\ny";
        assert_eq!(injections(lines).collect::<Vec<_>>(), ["EIO on fsync(/a)"]);
    }

    #[test]
    fn a_missing_or_failing_compiler_is_a_loud_error() {
        let dir = std::env::temp_dir().join(format!("fs-faults-cc-{}", uuid::Uuid::new_v4()));
        let missing = build("no-such-compiler-here", &dir)
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("cannot run no-such-compiler-here"),
            "{missing}"
        );
        let failing = build("false", &dir).unwrap_err().to_string();
        assert!(
            failing.contains("compiling the fs-faults shim failed"),
            "{failing}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
