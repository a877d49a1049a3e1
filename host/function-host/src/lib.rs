//! The function host of Durable Functions for Rust: what `func start` is for Azure Functions.
//!
//! [`main`] (or [`run`]) reads `local.settings.json` and `host.json` from the working
//! directory, collects the app's functions, opens the task hub (embedded SQLite under
//! `./.durable/` by default), starts the durable runtime and the HTTP server (port 7071:
//! `/api/...` for HTTP functions, `/runtime/webhooks/durabletask/...` for the management API),
//! prints a banner, and on SIGINT/SIGTERM stops taking work, lets work in flight finish
//! within a deadline and exits. A function app's `main` can be just:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     durable_host::main() // `durable::host::main()` through the `durable` crate
//! }
//! ```
//!
//! See `docs/host.md` for the configuration reference.

#![warn(missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

pub mod app;
mod args;
pub mod banner;
pub mod config;
mod dashboard;
pub mod export;
mod fd_limit;
mod function_host;
mod grpc_endpoint;
mod health;
mod http_api;
pub mod keys;
pub mod metrics;
pub mod openapi;
mod request_body;
mod request_span;
mod requests;
pub mod router;
pub mod scale;
mod server;
#[cfg(feature = "azure")]
mod storage_connection;
pub mod telemetry;
pub mod triggers;

pub use args::{ArgsError, HostArgs, USAGE};
pub use config::{ConfigError, HostConfig, StorageConfig};
pub use function_host::FunctionHost;
pub use keys::{HostKeys, KeyError};
pub use requests::{BadRoute, PING_PATH, READY_PATH, STATUS_PATH};

use crate::app::{AppError, FunctionApp};
use durable_store::StoreError;

/// Why the host could not start (or run).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Bad command-line arguments.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// Bad configuration.
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    /// The secrets file cannot be used.
    #[error("host keys: {0}")]
    Keys(#[from] KeyError),
    /// The registered functions conflict.
    #[error("function app: {0}")]
    App(#[from] AppError),
    /// An HTTP function's route cannot be used.
    #[error(transparent)]
    Route(#[from] BadRoute),
    /// The working directory cannot be determined.
    #[error("cannot determine the working directory: {0}")]
    CurrentDir(std::io::Error),
    /// The data directory cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The Azure Storage connection string cannot be used.
    #[error("{setting} cannot be used for an Azure Storage task hub: {reason}")]
    AzureStorage {
        /// The setting holding the connection string.
        setting: String,
        /// What is wrong.
        reason: String,
    },
    /// The storage setting names Azure Storage, but this build has no `azure` feature.
    #[error(
        "{setting} points at Azure Storage{}: Azure Storage task hubs are not built into this binary (cargo feature `azure`). \
         Leave {setting} empty (or remove it) to use the embedded SQLite task hub.",
        account.as_deref().map(|a| format!(" (account {a})")).unwrap_or_default()
    )]
    AzureStorageNotBuilt {
        /// The setting holding the connection string.
        setting: String,
        /// The account it names, if any.
        account: Option<String>,
    },
    /// The embedded task hub needs the `sqlite` feature.
    #[error("the embedded SQLite task hub needs the `sqlite` feature of the durable crate")]
    SqliteNotBuilt,
    /// The task hub file cannot be opened.
    #[error("cannot open the task hub {}: {source}", path.display())]
    OpenStore {
        /// The database file.
        path: PathBuf,
        /// The store error.
        source: StoreError,
    },
    /// A timer function's schedule cannot be used.
    #[error(transparent)]
    Timer(#[from] crate::triggers::TimerStartError),
    /// A queue or blob function cannot be started.
    #[error(transparent)]
    StorageTrigger(#[from] crate::triggers::StorageTriggerError),
    /// The OpenTelemetry settings cannot be used.
    #[error(transparent)]
    Telemetry(#[from] crate::telemetry::TelemetryError),
    /// The task hub failed while the runtime started.
    #[error("task hub: {0}")]
    Store(#[from] StoreError),
    /// The HTTP port cannot be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another host running? choose another with --port)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The Durable Task gRPC port cannot be bound.
    #[error(
        "cannot listen for Durable Task gRPC on {addr}: {source} (choose another port with \
         DURABLE_GRPC_PORT or extensions.durableTask.grpc.port)"
    )]
    GrpcBind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A Durable Task gRPC port is configured, but this build has no `grpc` feature.
    #[error(
        "the Durable Task gRPC endpoint (port {port}, from DURABLE_GRPC_PORT or \
         extensions.durableTask.grpc.port) is not built into this binary: build with the \
         cargo feature `grpc` of the durable crate, or remove the setting"
    )]
    GrpcNotBuilt {
        /// The configured port.
        port: u16,
    },
    /// The async runtime cannot be built.
    #[error("cannot start the tokio runtime: {0}")]
    TokioRuntime(std::io::Error),
    /// `health`: the running host is not ready (or cannot be reached).
    #[error("not ready: {0}")]
    NotReady(String),
    /// The task hub failed while the host ran; a restart recovers it.
    #[error("the task hub failed and the host must be restarted: {0}")]
    StoreFailed(String),
    /// Signal handlers cannot be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// `export-history` cannot export what it was asked for.
    #[error("export-history: {0}")]
    Export(String),
}

/// Runs the function app in the working directory until SIGINT or SIGTERM, on a fresh tokio
/// runtime; returns the process exit code. Configuration is loaded (and `Values` exported to
/// the environment) before any other thread starts.
pub fn main() -> ExitCode {
    init_tracing();
    return_large_buffers_to_the_os();
    let args = match HostArgs::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "bad arguments");
            if !json_logs() {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = std::env::current_dir()
        .map_err(HostError::CurrentDir)
        .and_then(|dir| Ok(HostConfig::load(&dir)?));
    if let Some(rest) = &args.export {
        return export::main(config, rest);
    }
    if args.health {
        let checked = config
            .map_err(|e| e.to_string())
            .and_then(|config| health::check(&config, args.port));
        return match checked {
            Ok(()) => {
                println!("ready");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("not ready: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = config.and_then(|config| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(HostError::TokioRuntime)?
            .block_on(run_with(config, args))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the host failed");
            // Said once more, plainly, for a person at a terminal; a log collector has the
            // event above and wants nothing but JSON lines.
            if !json_logs() {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs the function app in the working directory until SIGINT or SIGTERM (for an app whose
/// `main` is already async: `#[tokio::main] async fn main() -> anyhow::Result<()> {
/// Ok(durable::host::run().await?) }`).
pub async fn run() -> Result<(), HostError> {
    init_tracing();
    let args = HostArgs::parse(std::env::args().skip(1))?;
    if args.help {
        println!("{USAGE}");
        return Ok(());
    }
    let dir = std::env::current_dir().map_err(HostError::CurrentDir)?;
    let config = HostConfig::load(&dir)?;
    if args.health {
        health::check(&config, args.port).map_err(HostError::NotReady)?;
        println!("ready");
        return Ok(());
    }
    run_with(config, args).await
}

/// Runs the functions registered in this binary with `config` until SIGINT or SIGTERM.
pub async fn run_with(mut config: HostConfig, args: HostArgs) -> Result<(), HostError> {
    if let Some(port) = args.port {
        config.port = port;
    }
    let app = FunctionApp::collect()?;
    if app.functions.is_empty() {
        warn_no_functions();
    }
    // Installed before the banner, so a signal sent as soon as the host is up is not lost.
    let mut signals = Signals::install().map_err(HostError::Signals)?;
    let host = FunctionHost::start(config, app).await?;
    if json_logs() {
        println!("{}", banner::as_json_lines(&host.banner()));
    } else {
        println!("{}", host.banner());
    }
    let failure = tokio::select! {
        signal = signals.recv() => {
            tracing::info!(signal, "shutting down");
            None
        }
        reason = host.failed() => {
            tracing::error!(%reason, "the task hub failed; shutting down for a restart");
            Some(reason)
        }
    };
    tokio::select! {
        _ = host.shutdown() => {}
        signal = signals.recv() => {
            tracing::warn!(signal, "second signal: exiting without waiting for work in flight");
        }
    }
    match failure {
        Some(reason) => Err(HostError::StoreFailed(reason)),
        None => Ok(()),
    }
}

/// Says loudly that this binary has no functions: the usual cause is functions defined in a
/// library crate that the binary never links.
fn warn_no_functions() {
    let fix = "no functions are registered in this binary. If your functions live in a library \
               crate, link it from main.rs with `use your_functions_crate as _;`";
    tracing::warn!("{fix}");
    if !json_logs() {
        eprintln!("WARNING: {fix}");
    }
}

/// The environment variable choosing the log format: `text` (default) or `json`.
pub const LOG_FORMAT: &str = "DurableLogFormat";

/// Whether `DurableLogFormat=json` is set: logs, and the banner too, are JSON lines.
fn json_logs() -> bool {
    std::env::var(LOG_FORMAT).is_ok_and(|f| f.eq_ignore_ascii_case("json"))
}

/// Installs a `tracing` subscriber writing to stderr (filter from `RUST_LOG`, default
/// `info`), unless one is installed already. Stdout is kept for the banner (JSON lines too
/// when the logs are).
///
/// With `DurableLogFormat=json` in the environment each event is one JSON object per line
/// (`timestamp`, `level`, `target`, `message` and the event's fields at the top level, the
/// current span under `span` and its parents under `spans`), for log collectors. It is read
/// from the environment, not `local.settings.json`, because logging starts before the
/// configuration is loaded (container platforms set the environment anyway).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = std::env::var(LOG_FORMAT).unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json_logs() {
        let _ = builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init();
        return;
    }
    let _ = builder
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if !format.is_empty() && !format.eq_ignore_ascii_case("text") {
        tracing::warn!(value = %format, "{LOG_FORMAT} is neither text nor json; logging text");
    }
}

/// SIGINT and SIGTERM.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl+C"
        }
    }
}

/// Keeps glibc from holding on to freed large buffers. By default glibc raises its mmap
/// threshold each time a large block is freed, so later large payloads (inputs of hundreds of
/// KB) come from the heap arenas and their memory stays with the process after they are
/// freed: 400 waiting orchestrations with 512 KB inputs left 987 MB resident. A fixed
/// threshold of 128 KB serves such buffers from their own mappings, given back on free
/// (246 MB in the same run; docs/reliability.md). An explicit `MALLOC_MMAP_THRESHOLD_` wins.
fn return_large_buffers_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only changes allocator tuning; it is called before other threads
        // start allocating large buffers.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}
