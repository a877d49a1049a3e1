//! Reading `local.settings.json` and `host.json` into typed settings.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::storage_provider::StorageProviderSettings;
use super::triggers::{blob_options, queue_options};
use super::{invalid, parse_function_timeout, parse_port, ConfigError};
use crate::triggers::options::{BlobOptions, QueueOptions};

/// `local.settings.json`, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalSettings {
    /// `Values`: app settings.
    pub values: BTreeMap<String, String>,
    /// `Host.LocalHttpPort`.
    pub local_http_port: Option<u16>,
}

/// The parts of `host.json` the host uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostJson {
    /// `functionTimeout`, parsed; `None` when absent or unlimited.
    pub function_timeout: Option<Duration>,
    /// `extensions.durableTask.hubName`, as written (may be a `%Setting%` reference).
    pub hub_name: Option<String>,
    /// `extensions.durableTask.maxConcurrentActivityFunctions`.
    pub max_concurrent_activities: Option<usize>,
    /// `extensions.durableTask.maxConcurrentOrchestratorFunctions`.
    pub max_concurrent_orchestrations: Option<usize>,
    /// `extensions.durableTask.maxEntityOperationBatchSize`.
    pub max_entity_operation_batch_size: Option<usize>,
    /// `extensions.durableTask.entityMessageReorderWindowInMinutes`.
    pub entity_message_reorder_window_minutes: Option<usize>,
    /// `extensions.durableTask.storageProvider.connectionStringName`.
    pub connection_name: Option<String>,
    /// `extensions.http.routePrefix`.
    pub route_prefix: Option<String>,
    /// `extensions.queues`.
    pub queues: QueueOptions,
    /// `extensions.blobs`.
    pub blobs: BlobOptions,
    /// `extensions.durableTask.storageProvider`: partitions, leases, visibility timeouts.
    pub storage_provider: StorageProviderSettings,
    /// `singleton`: the timer functions' lock timing.
    pub singleton: crate::triggers::timer::SingletonSettings,
    /// `extensions.durableTask` versioning settings.
    pub versioning: super::VersioningSettings,
    /// `extensions.durableTask.activities`: timeouts and limits by activity.
    pub activities: super::ActivitySettings,
    /// `extensions.durableTask.overridableExistingInstanceStates`: what a start does to an
    /// existing instance of its id (`NonRunningStates`, the default, or `AnyState`).
    pub overridable_states: durable_client::IfExists,
    /// `extensions.durableTask.httpSettings`: how durable HTTP requests poll.
    pub http: durable_engine::durable_http::HttpOptions,
    /// `extensions.durableTask.grpc.port`: where the Durable Task protocol is served.
    pub grpc_port: Option<u16>,
}

impl LocalSettings {
    /// Reads the file; a missing file gives empty settings.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match read_json(path)? {
            Some(v) => Self::from_json(path, &v),
            None => {
                tracing::warn!(path = %path.display(), "no local.settings.json; using defaults");
                Ok(Self::default())
            }
        }
    }

    /// Interprets the parsed file (`path` is for error messages).
    pub fn from_json(path: &Path, v: &Value) -> Result<Self, ConfigError> {
        let shape = |message: String| ConfigError::Shape {
            path: path.to_path_buf(),
            message,
        };
        if !v.is_object() {
            return Err(shape("the top level must be a JSON object".into()));
        }
        if get_ci(v, "IsEncrypted").and_then(Value::as_bool) == Some(true) {
            return Err(shape(
                "IsEncrypted is true; encrypted settings are not supported, decrypt them first"
                    .into(),
            ));
        }
        let mut values = BTreeMap::new();
        match get_ci(v, "Values") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, val) in map {
                    let text = match val {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => {
                            return Err(shape(format!(
                                "Values.{k} must be a string, number or boolean"
                            )))
                        }
                    };
                    values.insert(k.clone(), text);
                }
            }
            Some(_) => return Err(shape("Values must be an object of settings".into())),
        }
        let local_http_port = match get_ci(v, "Host").and_then(|h| get_ci(h, "LocalHttpPort")) {
            None | Some(Value::Null) => None,
            Some(p) => Some(parse_port("Host.LocalHttpPort", &json_text(p))?),
        };
        Ok(Self {
            values,
            local_http_port,
        })
    }

    /// Exports every value to the process environment unless a variable of that name is set.
    pub fn export_to_environment(&self) {
        for (k, v) in &self.values {
            // Names the OS cannot hold are skipped rather than panicking in set_var.
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                tracing::warn!(setting = %k, "setting name or value cannot be exported");
                continue;
            }
            if std::env::var_os(k).is_none() {
                // Safe in edition 2021; the host does this at start-up before other threads
                // read the environment.
                std::env::set_var(k, v);
            }
        }
    }
}

/// The prefix of settings that override host.json values, as in Azure Functions: the rest of
/// the name is the value's path with `__` between keys, e.g.
/// `AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions=4`.
pub const HOST_JSON_OVERRIDE_PREFIX: &str = "AzureFunctionsJobHost__";

impl HostJson {
    /// Reads the file; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with(path, std::iter::empty())
    }

    /// Reads the file (a missing one counts as `{}`) and applies the `settings` (name, value)
    /// whose names start with [`HOST_JSON_OVERRIDE_PREFIX`] (case-insensitively) over it.
    pub fn load_with(
        path: &Path,
        settings: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut v = read_json(path)?.unwrap_or_else(|| Value::Object(Default::default()));
        let prefix = HOST_JSON_OVERRIDE_PREFIX;
        for (name, value) in settings {
            let Some(head) = name.get(..prefix.len()) else {
                continue;
            };
            if head.eq_ignore_ascii_case(prefix) {
                let keys: Vec<&str> = name[prefix.len()..].split("__").collect();
                if keys.iter().all(|k| !k.is_empty()) {
                    set_ci(&mut v, &keys, Value::String(value));
                }
            }
        }
        Self::from_json(path, &v)
    }

    /// Interprets the parsed file (`path` is for error messages). Keys match
    /// case-insensitively, as in Azure Functions.
    pub fn from_json(path: &Path, v: &Value) -> Result<Self, ConfigError> {
        if !v.is_object() {
            return Err(ConfigError::Shape {
                path: path.to_path_buf(),
                message: "the top level must be a JSON object".into(),
            });
        }
        if let Some(version) = get_ci(v, "version").and_then(Value::as_str) {
            if version != "2.0" {
                tracing::warn!(version, "host.json version is not \"2.0\"");
            }
        }
        let function_timeout = match get_ci(v, "functionTimeout") {
            None | Some(Value::Null) => None,
            Some(t) => {
                let text = json_text(t);
                parse_function_timeout(&text).ok_or_else(|| {
                    invalid(
                        "host.json functionTimeout",
                        &text,
                        "hh:mm:ss, d.hh:mm:ss or -1",
                    )
                })?
            }
        };
        let durable = get_ci(v, "extensions").and_then(|e| get_ci(e, "durableTask"));
        let durable_str = |key: &str| {
            durable
                .and_then(|d| get_ci(d, key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let durable_count = |key: &'static str| -> Result<Option<usize>, ConfigError> {
            match durable.and_then(|d| get_ci(d, key)) {
                None | Some(Value::Null) => Ok(None),
                Some(n) => {
                    let text = json_text(n);
                    match text.trim().parse::<usize>() {
                        Ok(n) if n > 0 => Ok(Some(n)),
                        _ => Err(invalid(
                            &format!("host.json extensions.durableTask.{key}"),
                            &text,
                            "a positive whole number",
                        )),
                    }
                }
            }
        };
        let provider = durable.and_then(|d| get_ci(d, "storageProvider"));
        let storage_provider = StorageProviderSettings::from_json(provider)?;
        let connection_name = provider
            .and_then(|s| get_ci(s, "connectionStringName"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let route_prefix = get_ci(v, "extensions")
            .and_then(|e| get_ci(e, "http"))
            .and_then(|h| get_ci(h, "routePrefix"))
            .and_then(Value::as_str)
            .map(|p| p.trim_matches('/').to_string());
        Ok(Self {
            function_timeout,
            hub_name: durable_str("hubName").filter(|s| !s.is_empty()),
            max_concurrent_activities: durable_count("maxConcurrentActivityFunctions")?,
            max_concurrent_orchestrations: durable_count("maxConcurrentOrchestratorFunctions")?,
            max_entity_operation_batch_size: durable_count("maxEntityOperationBatchSize")?,
            entity_message_reorder_window_minutes: durable_count(
                "entityMessageReorderWindowInMinutes",
            )?,
            connection_name,
            route_prefix,
            queues: queue_options(v)?,
            blobs: blob_options(v)?,
            storage_provider,
            singleton: super::singleton::singleton_settings(v)?,
            versioning: super::versioning::versioning_settings(durable)?,
            activities: super::activities::activity_settings(durable)?,
            overridable_states: match durable_str("overridableExistingInstanceStates") {
                None => durable_client::IfExists::ReplaceEnded,
                Some(text) => {
                    durable_client::IfExists::from_overridable_states(&text).ok_or_else(|| {
                        invalid(
                            "host.json extensions.durableTask.overridableExistingInstanceStates",
                            &text,
                            "NonRunningStates or AnyState",
                        )
                    })?
                }
            },
            http: super::durable_http::http_options(durable)?,
            grpc_port: super::grpc::grpc_port(durable)?,
        })
    }
}

/// Reads and parses a JSON file; `None` if it does not exist.
fn read_json(path: &Path) -> Result<Option<Value>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    // Editors on Windows may leave a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| ConfigError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
}

/// Sets the value at `keys` (matched case-insensitively, created when missing; a value that
/// is not an object on the way is replaced by one).
fn set_ci(v: &mut Value, keys: &[&str], value: Value) {
    let Some((first, rest)) = keys.split_first() else {
        *v = value;
        return;
    };
    if !v.is_object() {
        *v = Value::Object(Default::default());
    }
    let Value::Object(map) = v else { return };
    let key = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case(first))
        .cloned()
        .unwrap_or_else(|| (*first).to_string());
    set_ci(map.entry(key).or_insert(Value::Null), rest, value);
}

/// A key of a JSON object, matched case-insensitively (exact match first).
pub(super) fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let map = v.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

pub(super) fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
