//! The start-up banner: the task hub, the mode, and every function with its trigger and URL,
//! as `func start` prints them.

use std::fmt::Write;
use std::net::SocketAddr;

use super::config::{HostConfig, StorageConfig, LOCAL_DEVELOPMENT, REPLAY_CHECK};
use super::requests::route_of;
use crate::app::FunctionApp;
use crate::http_api::WEBHOOK_PATH;

/// The line that tells scripts and tests where the host listens; always the banner's last.
pub const LISTENING_PREFIX: &str = "Listening on http://";

/// Renders the banner for a host listening on `addr` (and for the Durable Task protocol on
/// `grpc`, when it is on).
pub fn render(
    config: &HostConfig,
    app: &FunctionApp,
    addr: SocketAddr,
    grpc: Option<SocketAddr>,
) -> String {
    let mut out = String::new();
    let host = if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    let base = format!("http://{host}:{}", addr.port());
    let _ = writeln!(out, "Durable Functions host {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out);
    let store = match &config.storage {
        StorageConfig::Sqlite { path } => format!("SQLite {}", path.display()),
        StorageConfig::AzureStorage { setting, account } => match account {
            Some(account) => format!("Azure Storage ({setting}: {account})"),
            None => format!("Azure Storage ({setting})"),
        },
    };
    let _ = writeln!(out, "Task hub: {} ({store})", config.hub_name);
    if config.local_development {
        let _ = writeln!(
            out,
            "Local development mode: on. The management API {base}{WEBHOOK_PATH} needs no key; \
             set {LOCAL_DEVELOPMENT}=false for deployment."
        );
    } else {
        let _ = writeln!(
            out,
            "Local development mode: off. The management API {base}{WEBHOOK_PATH} needs the \
             durabletask system key or the master key."
        );
    }
    if config.replay_check {
        let _ = writeln!(
            out,
            "Replay check: on. Every orchestration episode also replays from history, and a \
             non-deterministic orchestrator fails at once ({REPLAY_CHECK}=false turns it off)."
        );
    }
    let _ = writeln!(out, "Dashboard: {base}/dashboard/");
    if let Some(grpc) = grpc {
        let _ = writeln!(
            out,
            "Durable Task gRPC: {grpc} (Durable Task SDK workers and clients; no \
             authentication, keep it private)"
        );
    }
    if config.keys.is_some() {
        let _ = writeln!(
            out,
            "Keys: from the settings DurableMasterKey, DurableFunctionKey and DurableSystemKey"
        );
    } else {
        let _ = writeln!(out, "Keys: {}", config.secrets_path.display());
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Functions:");
    if app.functions.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "        (none registered)");
    }
    for (name, trigger) in &app.functions {
        let _ = writeln!(out);
        match app.http_function(name) {
            Some(f) => {
                let methods = if f.methods.is_empty() {
                    "*".to_string()
                } else {
                    f.methods
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let prefix = if config.route_prefix.is_empty() {
                    String::new()
                } else {
                    format!("/{}", config.route_prefix)
                };
                let route = route_of(name, f);
                let _ = writeln!(out, "        {name}: [{methods}] {base}{prefix}/{route}");
            }
            None => {
                let versions = app.registry.orchestrator_versions(name);
                let versions = if versions.iter().any(Option::is_some) {
                    let listed: Vec<&str> = versions
                        .iter()
                        .map(|v| v.as_deref().unwrap_or("unversioned"))
                        .collect();
                    format!(" (versions {})", listed.join(", "))
                } else {
                    String::new()
                };
                let limits = activity_limits(app, config, name);
                let _ = writeln!(out, "        {name}: {trigger}{versions}{limits}");
            }
        }
    }
    let _ = writeln!(out);
    let _ = write!(out, "{LISTENING_PREFIX}{addr}");
    out
}

/// An activity's limits on this host, as ` (at most 5 at once, 100/s)`, or nothing.
fn activity_limits(app: &FunctionApp, config: &HostConfig, name: &str) -> String {
    let key = name.to_lowercase();
    let registered = app.registry.activity_limits(name).unwrap_or_default();
    let limits = match config.activities.limits.get(&key) {
        Some(over) => registered.overridden_by(*over),
        None => registered,
    };
    if limits.is_limited() {
        format!(" ({})", limits.describe())
    } else {
        String::new()
    }
}

/// The banner for log collectors: each non-empty line as one JSON object, shaped like the
/// JSON log events (`timestamp`, `level`, `target`, `message`), so that a container's whole
/// output parses line by line. The last object's message is the listening line.
pub fn as_json_lines(banner: &str) -> String {
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    banner
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::json!({
                "timestamp": timestamp,
                "level": "INFO",
                "target": module_path!(),
                "message": line,
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use http::Method;

    use super::*;
    use crate::app::{AuthLevel, FunctionKind, HttpFunction};
    use durable_http::{HttpResponse, StatusCode};

    fn config(local_development: bool) -> HostConfig {
        HostConfig {
            dir: PathBuf::from("/app"),
            hub_name: "SampleHub".into(),
            storage: StorageConfig::Sqlite {
                path: "/app/.durable/SampleHub.db".into(),
            },
            port: 7071,
            bind_address: "127.0.0.1".parse().unwrap(),
            local_development,
            replay_check: local_development,
            max_request_body: 1,
            request_body_timeout: Duration::from_secs(1),
            max_connections: 1,
            cache_max_bytes: 1,
            function_timeout: None,
            max_concurrent_activities: None,
            max_concurrent_orchestrations: None,
            route_prefix: "api".into(),
            shutdown_deadline: Duration::from_secs(1),
            secrets_path: "/app/.durable/secrets.json".into(),
            keys: None,
            drain_delay: std::time::Duration::ZERO,
            storage_triggers: Default::default(),
            storage_provider: Default::default(),
            singleton: Default::default(),
            worker_id: None,
            entities: Default::default(),
            versioning: Default::default(),
            activities: Default::default(),
            overridable_states: Default::default(),
            http: Default::default(),
            grpc_port: None,
        }
    }

    #[test]
    fn json_banner_is_one_object_per_line_ending_with_the_address() {
        let text = render(
            &config(true),
            &FunctionApp::default(),
            "0.0.0.0:7071".parse().unwrap(),
            None,
        );
        let json = as_json_lines(&text);
        let lines: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            text.lines().filter(|l| !l.trim().is_empty()).count()
        );
        assert!(lines
            .iter()
            .all(|l| l["level"] == "INFO" && l["timestamp"].is_string()));
        assert_eq!(
            lines.last().unwrap()["message"],
            format!("{LISTENING_PREFIX}0.0.0.0:7071")
        );
    }

    #[test]
    fn lists_functions_with_triggers_and_urls() {
        let mut app = FunctionApp::default();
        app.add(
            "echo",
            FunctionKind::Http(HttpFunction {
                methods: vec![Method::GET, Method::POST],
                route: "echo/{name}".into(),
                auth_level: AuthLevel::Anonymous,
                operation: Default::default(),
                handler: Arc::new(|_, _| Box::pin(async { HttpResponse::new(StatusCode::OK) })),
            }),
        )
        .unwrap();
        let addr: SocketAddr = "127.0.0.1:7071".parse().unwrap();
        let text = render(&config(true), &app, addr, None);
        assert!(!text.contains("gRPC"), "{text}");
        assert!(
            text.contains("        echo: [GET,POST] http://localhost:7071/api/echo/{name}"),
            "{text}"
        );
        assert!(text.contains("Task hub: SampleHub (SQLite /app/.durable/SampleHub.db)"));
        assert!(text.contains("Local development mode: on"));
        assert!(text.contains("Replay check: on"));
        assert!(text.ends_with("Listening on http://127.0.0.1:7071"));
        let text = render(&config(false), &app, addr, None);
        assert!(text.contains("Local development mode: off"));
    }

    #[test]
    fn names_the_durable_task_endpoint_when_it_is_on() {
        let addr: SocketAddr = "127.0.0.1:7071".parse().unwrap();
        let grpc: SocketAddr = "127.0.0.1:4001".parse().unwrap();
        let text = render(&config(true), &FunctionApp::default(), addr, Some(grpc));
        assert!(
            text.contains("Durable Task gRPC: 127.0.0.1:4001 (Durable Task SDK workers"),
            "{text}"
        );
        assert!(text.ends_with("Listening on http://127.0.0.1:7071"));
    }
}
