//! Host configuration: `local.settings.json` and `host.json` from the app directory, with
//! environment variables taking precedence, as `func start` does.
//!
//! Every `Values` entry of `local.settings.json` is exported to the process environment unless
//! a variable of that name is already set; settings are then read from the environment. So an
//! environment variable always overrides the file.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::triggers::StorageTriggerConfig;

mod activities;
mod durable_http;
mod files;
mod grpc;
mod singleton;
mod storage_provider;
mod triggers;
mod versioning;

pub use activities::ActivitySettings;
pub use files::{HostJson, LocalSettings, HOST_JSON_OVERRIDE_PREFIX};
pub use grpc::GRPC_PORT;
pub use storage_provider::StorageProviderSettings;
pub use versioning::VersioningSettings;

/// The file with app settings and local host options.
pub const LOCAL_SETTINGS_FILE: &str = "local.settings.json";
/// The file with host options.
pub const HOST_JSON_FILE: &str = "host.json";
/// The folder under the app directory that holds the embedded task hub and the secrets.
pub const DATA_DIR: &str = ".durable";

/// Setting: where the host keeps its files (the embedded task hub, the secrets file);
/// absolute, or relative to the app directory. Default [`DATA_DIR`].
pub const DATA_DIR_SETTING: &str = "DurableDataDir";
/// Setting: the master key, instead of the secrets file (with the two below).
pub const MASTER_KEY: &str = "DurableMasterKey";
/// Setting: the default function key (with [`MASTER_KEY`]).
pub const FUNCTION_KEY: &str = "DurableFunctionKey";
/// Setting: the durabletask system key (with [`MASTER_KEY`]).
pub const SYSTEM_KEY: &str = "DurableSystemKey";
/// Setting: the task hub name (overridden by host.json `extensions.durableTask.hubName`).
pub const TASK_HUB_NAME: &str = "TaskHubName";
/// Setting: the storage connection the task hub lives in (empty: embedded SQLite).
pub const AZURE_WEB_JOBS_STORAGE: &str = "AzureWebJobsStorage";
/// Setting: the HTTP port (overrides `Host.LocalHttpPort`; `--port` overrides it).
pub const HTTP_PORT: &str = "FUNCTIONS_HTTP_PORT";
/// Setting: the largest request body accepted, in bytes.
pub const REQUEST_BODY_SIZE_LIMIT: &str = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT";
/// Setting: how long a client may take to send a request body (seconds or `hh:mm:ss`).
pub const REQUEST_BODY_TIMEOUT: &str = "DurableRequestBodyTimeout";
/// Setting: the most HTTP connections open at once; more wait to be accepted.
pub const MAX_CONNECTIONS: &str = "DurableMaxConnections";
/// Setting: the most memory, in MiB, the live orchestration cache may hold.
pub const CACHE_MEGABYTES: &str = "DurableCacheMegabytes";
/// Setting: `false` turns local development mode off (the management API then needs a key).
pub const LOCAL_DEVELOPMENT: &str = "DurableLocalDevelopment";
/// Setting: `true` or `false` turns the replay check on or off (every episode also run on an
/// execution replayed from history, failing non-deterministic orchestrators at once); on by
/// default in local development mode.
pub const REPLAY_CHECK: &str = "DurableReplayCheck";
/// Setting: the address the HTTP server binds to.
pub const BIND_ADDRESS: &str = "DurableBindAddress";
/// Setting: how long shutdown waits for in-flight work (`hh:mm:ss` or seconds).
pub const SHUTDOWN_DEADLINE: &str = "DurableShutdownDeadline";
/// Setting: how long the host keeps serving after SIGTERM with readiness answering 503, before
/// it stops taking connections (so that load balancers stop routing to it first). Default 0.
pub const DRAIN_DELAY: &str = "DurableDrainDelay";
/// Setting: this process's worker id in the partition lease blobs (default `{hostname}-{pid}`).
pub const WORKER_ID: &str = "DurableWorkerId";
/// Setting: the host id that names blob trigger receipts (default: the task hub name in
/// lower case), as in Azure Functions.
pub const HOST_ID: &str = "AzureFunctionsWebHost__hostid";
/// Environment variable that overrides host.json `extensions.durableTask.hubName`, as in
/// Azure Functions.
pub const HUB_NAME_OVERRIDE: &str = "AzureFunctionsJobHost__extensions__durableTask__hubName";

/// The hub name when nothing configures one (the Durable Functions default for local runs).
pub const DEFAULT_HUB_NAME: &str = "TestHubName";
/// The port `func start` uses.
pub const DEFAULT_PORT: u16 = 7071;
/// Azure Functions' request body limit: 100 MB.
pub const DEFAULT_REQUEST_BODY_LIMIT: u64 = 100 * 1024 * 1024;
/// How long a request body may take to arrive by default (as long as its head may).
pub const DEFAULT_REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// The most HTTP connections open at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
/// How long shutdown waits for in-flight work by default.
pub const DEFAULT_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(30);

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A configuration file is not valid JSON.
    #[error("{} is not valid JSON (line {line}, column {column}): {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser says.
        message: String,
    },
    /// A configuration file is JSON of the wrong shape.
    #[error("{}: {message}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting has a value that cannot be used.
    #[error("setting {name} = {value:?} is invalid: expected {expected}")]
    InvalidSetting {
        /// The setting (or host.json path).
        name: String,
        /// Its value.
        value: String,
        /// What it should look like.
        expected: &'static str,
    },
    /// The task hub name breaks the naming rules.
    #[error("task hub name {name:?} is invalid: {reason}")]
    InvalidHubName {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Where the task hub lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// The embedded SQLite file.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// An Azure Storage account (or the Azurite emulator).
    AzureStorage {
        /// The setting that holds the connection string (the string itself is a secret and
        /// is not kept here), or the name of the identity-based connection.
        setting: String,
        /// The account, when the connection names one.
        account: Option<String>,
    },
}

/// The resolved host configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// The app directory (where the configuration files are read from).
    pub dir: PathBuf,
    /// The task hub name.
    pub hub_name: String,
    /// Where the task hub lives.
    pub storage: StorageConfig,
    /// The HTTP port (0: any free port).
    pub port: u16,
    /// The address the HTTP server binds to.
    pub bind_address: IpAddr,
    /// Local development mode: the management API needs no key.
    pub local_development: bool,
    /// The replay check (`DurableReplayCheck`; default: local development mode).
    pub replay_check: bool,
    /// The largest request body accepted, in bytes.
    pub max_request_body: u64,
    /// How long a client may take to send a request body.
    pub request_body_timeout: Duration,
    /// The most HTTP connections open at once.
    pub max_connections: usize,
    /// The most memory the live orchestration cache may hold, in bytes.
    pub cache_max_bytes: usize,
    /// host.json `functionTimeout`; `None` is unlimited.
    pub function_timeout: Option<Duration>,
    /// host.json `extensions.durableTask.maxConcurrentActivityFunctions`.
    pub max_concurrent_activities: Option<usize>,
    /// host.json `extensions.durableTask.maxConcurrentOrchestratorFunctions`.
    pub max_concurrent_orchestrations: Option<usize>,
    /// host.json `extensions.http.routePrefix` (default `api`; may be empty).
    pub route_prefix: String,
    /// How long shutdown waits for in-flight work.
    pub shutdown_deadline: Duration,
    /// How long shutdown keeps serving with readiness at 503 before it stops taking
    /// connections (`DurableDrainDelay`).
    pub drain_delay: Duration,
    /// The secrets file (function, master and system keys).
    pub secrets_path: PathBuf,
    /// Keys given by the settings `DurableMasterKey`, `DurableFunctionKey` and
    /// `DurableSystemKey` (so that every replica has the same ones); the secrets file is then
    /// neither read nor written.
    pub keys: Option<crate::keys::HostKeys>,
    /// The queue and blob triggers' settings (host.json `extensions.queues`/`blobs`).
    pub storage_triggers: StorageTriggerConfig,
    /// host.json `extensions.durableTask.storageProvider` (Azure Storage tuning).
    pub storage_provider: StorageProviderSettings,
    /// host.json `singleton`: the timer functions' lock timing.
    pub singleton: crate::triggers::timer::SingletonSettings,
    /// The `DurableWorkerId` setting.
    pub worker_id: Option<String>,
    /// host.json `extensions.durableTask.maxEntityOperationBatchSize` and
    /// `entityMessageReorderWindowInMinutes`.
    pub entities: durable_engine::entity::EntityOptions,
    /// host.json `extensions.durableTask` `defaultVersion`, `versionMatchStrategy`,
    /// `versionFailureStrategy` and `missingFunctionTimeout`.
    pub versioning: VersioningSettings,
    /// host.json `extensions.durableTask.activities`: timeouts and limits by lower-cased name.
    pub activities: ActivitySettings,
    /// host.json `extensions.durableTask.overridableExistingInstanceStates`.
    pub overridable_states: durable_client::IfExists,
    /// host.json `extensions.durableTask.httpSettings`: how durable HTTP requests poll.
    pub http: durable_engine::durable_http::HttpOptions,
    /// The Durable Task gRPC port (`DURABLE_GRPC_PORT`, else host.json
    /// `extensions.durableTask.grpc.port`); `None` is off.
    pub grpc_port: Option<u16>,
}

/// The keys given by settings: none, or all three (a partial set is an error that names the
/// missing setting, never a value).
fn given_keys(
    given: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::keys::HostKeys>, ConfigError> {
    let [master, function, system] = [MASTER_KEY, FUNCTION_KEY, SYSTEM_KEY].map(given);
    if master.is_none() && function.is_none() && system.is_none() {
        return Ok(None);
    }
    let missing = |name: &str| ConfigError::InvalidSetting {
        name: name.to_string(),
        value: String::new(),
        expected: "set as well: DurableMasterKey, DurableFunctionKey and DurableSystemKey \
                   are given together or not at all",
    };
    Ok(Some(crate::keys::HostKeys::given(
        master.ok_or_else(|| missing(MASTER_KEY))?,
        function.ok_or_else(|| missing(FUNCTION_KEY))?,
        system.ok_or_else(|| missing(SYSTEM_KEY))?,
    )))
}

impl HostConfig {
    /// Loads the configuration of the app in `dir`, exporting `Values` to the environment.
    /// Call it before other threads read the environment (see [`crate::main`]).
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let local = LocalSettings::load(&dir.join(LOCAL_SETTINGS_FILE))?;
        local.export_to_environment();
        // `AzureFunctionsJobHost__...` settings (environment or Values) override host.json.
        let settings = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let host = HostJson::load_with(&dir.join(HOST_JSON_FILE), settings)?;
        Self::resolve(dir, &local, &host, &|name| std::env::var(name).ok())
    }

    /// Resolves the configuration from parsed files and a settings lookup (the environment,
    /// with `Values` already exported into it).
    pub fn resolve(
        dir: &Path,
        local: &LocalSettings,
        host: &HostJson,
        setting: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        // An environment variable that is set but empty counts as set (empty is meaningful for
        // AzureWebJobsStorage); for the other settings empty means "not given".
        let given = |name: &str| setting(name).filter(|v| !v.trim().is_empty());
        let data_dir = dir.join(given(DATA_DIR_SETTING).unwrap_or_else(|| DATA_DIR.to_string()));
        let keys = given_keys(&given)?;

        let hub_name = resolve_hub_name(host, &given)?;
        let connection_name = host
            .connection_name
            .clone()
            .unwrap_or_else(|| AZURE_WEB_JOBS_STORAGE.to_string());
        let storage = storage_from_connection(&connection_name, setting, &data_dir, &hub_name);

        let port = match given(HTTP_PORT) {
            Some(v) => parse_port(HTTP_PORT, &v)?,
            None => local.local_http_port.unwrap_or(DEFAULT_PORT),
        };
        let local_development = match given(LOCAL_DEVELOPMENT) {
            Some(v) => parse_bool(LOCAL_DEVELOPMENT, &v)?,
            None => true,
        };
        let replay_check = match given(REPLAY_CHECK) {
            Some(v) => parse_bool(REPLAY_CHECK, &v)?,
            None => local_development,
        };
        let bind_address = match given(BIND_ADDRESS) {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid(BIND_ADDRESS, &v, "an IP address"))?,
            // Local development mode lets anyone reach the management API without a key, so it
            // stays on the loopback interface; a deployment (keys required) listens everywhere.
            None if local_development => IpAddr::V4(Ipv4Addr::LOCALHOST),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let max_request_body = match given(REQUEST_BODY_SIZE_LIMIT) {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(invalid(
                        REQUEST_BODY_SIZE_LIMIT,
                        &v,
                        "a positive number of bytes",
                    ))
                }
            },
            None => DEFAULT_REQUEST_BODY_LIMIT,
        };
        let request_body_timeout = match given(REQUEST_BODY_TIMEOUT) {
            Some(v) => parse_seconds_or_timespan(&v)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| invalid(REQUEST_BODY_TIMEOUT, &v, "seconds or hh:mm:ss"))?,
            None => DEFAULT_REQUEST_BODY_TIMEOUT,
        };
        let max_connections = match given(MAX_CONNECTIONS) {
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => return Err(invalid(MAX_CONNECTIONS, &v, "a positive number")),
            },
            None => DEFAULT_MAX_CONNECTIONS,
        };
        let cache_max_bytes = match given(CACHE_MEGABYTES) {
            Some(v) => match v.trim().parse::<usize>() {
                Ok(mb) => mb.saturating_mul(1024 * 1024),
                _ => return Err(invalid(CACHE_MEGABYTES, &v, "a number of MiB")),
            },
            None => durable_runtime::DEFAULT_CACHE_MAX_BYTES,
        };
        let shutdown_deadline = match given(SHUTDOWN_DEADLINE) {
            Some(v) => parse_seconds_or_timespan(&v)
                .ok_or_else(|| invalid(SHUTDOWN_DEADLINE, &v, "seconds or hh:mm:ss"))?,
            None => DEFAULT_SHUTDOWN_DEADLINE,
        };
        let drain_delay = match given(DRAIN_DELAY) {
            Some(v) => parse_seconds_or_timespan(&v)
                .ok_or_else(|| invalid(DRAIN_DELAY, &v, "seconds or hh:mm:ss"))?,
            None => Duration::ZERO,
        };

        let host_id = given(HOST_ID)
            .map(|id| id.trim().to_ascii_lowercase())
            .unwrap_or_else(|| hub_name.to_ascii_lowercase());

        Ok(HostConfig {
            dir: dir.to_path_buf(),
            hub_name,
            storage,
            port,
            bind_address,
            local_development,
            replay_check,
            max_request_body,
            request_body_timeout,
            max_connections,
            cache_max_bytes,
            function_timeout: host.function_timeout,
            max_concurrent_activities: host.max_concurrent_activities,
            max_concurrent_orchestrations: host.max_concurrent_orchestrations,
            route_prefix: host.route_prefix.clone().unwrap_or_else(|| "api".into()),
            shutdown_deadline,
            drain_delay,
            secrets_path: data_dir.join("secrets.json"),
            keys,
            storage_triggers: StorageTriggerConfig {
                queues: host.queues.clone(),
                blobs: host.blobs.clone(),
                host_id,
            },
            storage_provider: host.storage_provider.clone(),
            singleton: host.singleton,
            worker_id: given(WORKER_ID).map(|w| w.trim().to_owned()),
            entities: entity_options(host),
            versioning: host.versioning.clone(),
            activities: host.activities.clone(),
            overridable_states: host.overridable_states,
            http: host.http,
            grpc_port: grpc::resolve(host.grpc_port, &given)?,
        })
    }
}

/// The entity settings of host.json, defaults where absent.
fn entity_options(host: &HostJson) -> durable_engine::entity::EntityOptions {
    let defaults = durable_engine::entity::EntityOptions::default();
    durable_engine::entity::EntityOptions {
        max_operation_batch_size: host
            .max_entity_operation_batch_size
            .unwrap_or(defaults.max_operation_batch_size),
        reorder_window: host
            .entity_message_reorder_window_minutes
            .map_or(defaults.reorder_window, |m| {
                Duration::from_secs(60 * m as u64)
            }),
    }
}

fn resolve_hub_name(
    host: &HostJson,
    given: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let from_host_json = given(HUB_NAME_OVERRIDE).or_else(|| host.hub_name.clone());
    let name = match from_host_json {
        // `"hubName": "%MyHubSetting%"` names an app setting, as in Azure Functions.
        Some(h) if h.len() > 2 && h.starts_with('%') && h.ends_with('%') => {
            let setting = &h[1..h.len() - 1];
            given(setting).ok_or_else(|| {
                invalid(
                    "extensions.durableTask.hubName",
                    &h,
                    "a %Setting% reference to a setting that is set",
                )
            })?
        }
        Some(h) => h,
        None => given(TASK_HUB_NAME).unwrap_or_else(|| DEFAULT_HUB_NAME.to_string()),
    };
    let name = name.trim().to_string();
    validate_hub_name(&name)?;
    Ok(name)
}

/// Checks the Azure Storage task hub naming rules (3–45 letters and digits, starting with a
/// letter); they also keep the SQLite file name safe.
pub fn validate_hub_name(name: &str) -> Result<(), ConfigError> {
    let bad = |reason| {
        Err(ConfigError::InvalidHubName {
            name: name.to_string(),
            reason,
        })
    };
    if !(3..=45).contains(&name.len()) {
        return bad("it must be 3 to 45 characters long");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("it must start with a letter");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return bad("it may contain only letters and digits");
    }
    Ok(())
}

/// Where the task hub lives: the connection string in the `connection` setting; else the
/// identity-based connection of that name (`{connection}__accountName`, ...); else, also for an
/// empty string or `UseDevelopmentStorage=false`, the embedded SQLite file.
fn storage_from_connection(
    connection: &str,
    setting: &dyn Fn(&str) -> Option<String>,
    data_dir: &Path,
    hub_name: &str,
) -> StorageConfig {
    let value = setting(connection).unwrap_or_default();
    let value = value.trim();
    let dev_storage_off = value
        .replace(' ', "")
        .eq_ignore_ascii_case("UseDevelopmentStorage=false");
    if value.is_empty() || dev_storage_off {
        if let Some(account) = identity_connection_account(connection, setting) {
            return StorageConfig::AzureStorage {
                setting: connection.to_string(),
                account: Some(account),
            };
        }
        return StorageConfig::Sqlite {
            path: data_dir.join(format!("{hub_name}.db")),
        };
    }
    let account = value.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("AccountName")
            .then(|| v.trim().to_string())
    });
    let account = account.or_else(|| {
        value
            .to_ascii_lowercase()
            .contains("usedevelopmentstorage=true")
            .then(|| "devstoreaccount1 (Azurite)".to_string())
    });
    StorageConfig::AzureStorage {
        setting: connection.to_string(),
        account,
    }
}

/// For an identity-based connection named `connection`, how to name its account: the
/// account name, else the first service URI given.
fn identity_connection_account(
    connection: &str,
    setting: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let located_by = [
        "accountName",
        "tableServiceUri",
        "queueServiceUri",
        "blobServiceUri",
        "serviceUri",
    ];
    located_by.iter().find_map(|name| {
        let value = setting(&format!("{connection}__{name}"))?;
        let value = value.trim();
        (!value.is_empty()).then(|| format!("{value} (identity-based)"))
    })
}

pub(super) fn invalid(name: &str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::InvalidSetting {
        name: name.to_string(),
        value: value.to_string(),
        expected,
    }
}

/// Parses a port number (0 picks a free port).
pub fn parse_port(name: &str, value: &str) -> Result<u16, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "a port number from 0 to 65535"))
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(invalid(name, value, "true or false")),
    }
}

/// `functionTimeout`: `-1` (or `"-1"`) is unlimited; otherwise a .NET TimeSpan.
pub(super) fn parse_function_timeout(text: &str) -> Option<Option<Duration>> {
    if text.trim() == "-1" {
        return Some(None);
    }
    parse_timespan(text).map(Some)
}

fn parse_seconds_or_timespan(text: &str) -> Option<Duration> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
        _ => parse_timespan(text),
    }
}

/// Parses a .NET TimeSpan `[d.]hh:mm[:ss[.fff]]`.
pub fn parse_timespan(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (days, rest) = match text.split_once('.') {
        // A dot before the first colon separates days; after it, fractions of a second.
        Some((d, rest)) if !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, text),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let hours: u64 = parts[0].parse().ok()?;
    let minutes: u64 = parts[1].parse().ok()?;
    let seconds: f64 = match parts.get(2) {
        Some(s) if s.chars().all(|c| c.is_ascii_digit() || c == '.') => s.parse().ok()?,
        Some(_) => return None,
        None => 0.0,
    };
    if hours > 23 && days > 0 || minutes > 59 || seconds >= 60.0 {
        return None;
    }
    let whole = days * 86_400 + hours * 3_600 + minutes * 60;
    Some(Duration::from_secs(whole) + Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests;
