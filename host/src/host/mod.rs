//! The function host: what `func start` is for Azure Functions.
//!
//! The host reads `local.settings.json` and `host.json` from the working
//! directory, collects the app's functions, opens the task hub (embedded SQLite under
//! `./.durable/` by default), starts the durable runtime and the HTTP server (port 7071:
//! `/api/...` for HTTP functions, `/runtime/webhooks/durabletask/...` for the management API),
//! prints a banner, and on SIGINT/SIGTERM stops taking work, lets work in flight finish
//! within a deadline and exits.
//!
//! See `docs/host.md` for the configuration reference.

pub mod config;
pub mod keys;
pub mod router;

pub use config::{ConfigError, HostConfig, StorageConfig};
pub use keys::{HostKeys, KeyError};
