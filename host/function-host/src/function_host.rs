//! A running function host: the task hub, the durable runtime, the HTTP server and the
//! triggers, started together and stopped together.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::banner;
use super::config::{HostConfig, StorageConfig};
use super::keys::HostKeys;
use super::requests::{RequestHandler, RequestOptions};
use super::server::{self, InFlight};
use super::HostError;
use crate::app::FunctionApp;
use crate::telemetry::{MetricsSource, Telemetry};
use durable_client::{DurableClient, ManagementConfig};
use durable_runtime::{Runtime, RuntimeOptions};
use durable_store::TaskHub;

/// The least time the spans still queued at shutdown get to be exported.
const SPAN_FLUSH_MINIMUM: std::time::Duration = std::time::Duration::from_secs(2);

/// The metrics the OTLP export sends: what `/admin/metrics` answers.
fn metrics_source(
    metrics: &Arc<crate::metrics::HostMetrics>,
    client: &DurableClient,
    scale: crate::scale::ScaleTargets,
) -> MetricsSource {
    let (metrics, store) = (Arc::clone(metrics), Arc::clone(client.store()));
    Arc::new(move || {
        let (metrics, store) = (Arc::clone(&metrics), Arc::clone(&store));
        Box::pin(async move { metrics.text(&*store, scale).await })
    })
}

/// The service name traces carry unless `OTEL_SERVICE_NAME` says otherwise: the
/// executable's name.
fn service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "durable-functions".to_owned())
}

/// The OpenAPI document's title and version: the app settings `OpenApi__DocTitle` and
/// `OpenApi__DocVersion` (as the Azure Functions OpenAPI extension names them), else the
/// executable's name and `1.0.0`.
fn document_info() -> crate::openapi::DocumentInfo {
    let setting = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    crate::openapi::DocumentInfo {
        title: setting("OpenApi__DocTitle").unwrap_or_else(service_name),
        version: setting("OpenApi__DocVersion").unwrap_or_else(|| "1.0.0".to_string()),
    }
}

/// The connection name management URLs carry (`connection=Storage`), as Azure Functions does.
const CONNECTION_NAME: &str = "Storage";

/// A started host.
///
/// Stop it with [`FunctionHost::shutdown`]; dropping it stops the server and the listeners
/// without waiting.
pub struct FunctionHost {
    config: HostConfig,
    app: Arc<FunctionApp>,
    addr: SocketAddr,
    keys: HostKeys,
    runtime: Runtime,
    client: DurableClient,
    /// Span export (off unless the `OTEL_*` settings ask for it).
    telemetry: Telemetry,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    /// Timer, queue and blob listeners.
    listeners: Vec<JoinHandle<()>>,
    /// The Durable Task gRPC endpoint, when configured.
    grpc: Option<crate::grpc_endpoint::Endpoint>,
    in_flight: InFlight,
    /// Set when shutdown starts: readiness answers 503 from then on.
    draining: Arc<std::sync::atomic::AtomicBool>,
}

impl FunctionHost {
    /// Opens the task hub, starts the runtime, the HTTP server and the timer, queue and blob
    /// listeners, and returns once the server accepts connections.
    pub async fn start(config: HostConfig, app: FunctionApp) -> Result<Self, HostError> {
        let store = open_store(&config)?;
        let keys = match &config.keys {
            Some(given) => given.clone(),
            None => HostKeys::load_or_create(&config.secrets_path)?,
        };
        let addr = SocketAddr::new(config.bind_address, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| HostError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| HostError::Bind { addr, source })?;
        let grpc = crate::grpc_endpoint::bind(&config).await?;

        let mut telemetry = Telemetry::from_env(&service_name())?;
        let defaults = RuntimeOptions::default();
        let options = RuntimeOptions {
            max_concurrent_orchestrations: config
                .max_concurrent_orchestrations
                .unwrap_or(defaults.max_concurrent_orchestrations),
            max_concurrent_activities: config
                .max_concurrent_activities
                .unwrap_or(defaults.max_concurrent_activities),
            shutdown_deadline: config.shutdown_deadline,
            cache_max_bytes: config.cache_max_bytes,
            entities: config.entities,
            tracer: telemetry.tracer(),
            versioning: config.versioning.versioning.clone(),
            missing_function_timeout: config.versioning.missing_function_timeout,
            replay_check: config.replay_check,
            activity_timeouts: config.activities.timeouts.clone(),
            activity_limits: config.activities.limits.clone(),
            http: config.http,
            workers: grpc.as_ref().map(|g| g.workers()),
            ..defaults
        };
        if config.function_timeout.is_some() {
            tracing::info!(
                "functionTimeout applies to HTTP functions; activities take \
                 extensions.durableTask.activities.<name>.timeout"
            );
        }
        let scale = crate::scale::ScaleTargets {
            activities_per_worker: options.max_concurrent_activities,
            orchestrations_per_worker: options.max_concurrent_orchestrations,
        };
        let runtime = Runtime::start(store, app.registry.clone(), options).await?;
        let client = runtime
            .client()
            .with_if_exists(config.overridable_states)
            .with_management(ManagementConfig {
                hub_name: config.hub_name.clone(),
                connection: CONNECTION_NAME.to_string(),
                system_key: (!config.local_development)
                    .then(|| keys.durable_system_key().to_string()),
            });

        let metrics = Arc::new(crate::metrics::HostMetrics::new(runtime.metrics()));
        if let Err(e) = telemetry.export_metrics(metrics_source(&metrics, &client, scale)) {
            runtime.shutdown().await;
            return Err(e.into());
        }
        let app = Arc::new(app);
        let in_flight = InFlight::default();
        let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let requests = RequestHandler::new(
            app.clone(),
            keys.clone(),
            client.clone(),
            RequestOptions {
                route_prefix: config.route_prefix.clone(),
                max_request_body: config.max_request_body,
                body_timeout: config.request_body_timeout,
                function_timeout: config.function_timeout,
                local_development: config.local_development,
                scale,
                metrics,
                openapi: document_info(),
            },
            in_flight.clone(),
            Arc::clone(&draining),
        );
        let requests = match requests {
            Ok(d) => Arc::new(d),
            Err(e) => {
                runtime.shutdown().await;
                return Err(e.into());
            }
        };
        let (stop, stopped) = watch::channel(false);
        let mut listeners = match crate::triggers::timer::start(
            app.timers.clone(),
            client.clone(),
            config.singleton,
            stopped.clone(),
        ) {
            Ok(t) => t,
            Err(e) => {
                runtime.shutdown().await;
                return Err(e.into());
            }
        };
        match crate::triggers::storage::start(&app, &config.storage_triggers, &client, &stopped) {
            Ok(storage) => listeners.extend(storage),
            Err(e) => {
                let _ = stop.send(true);
                listeners.iter().for_each(|t| t.abort());
                runtime.shutdown().await;
                return Err(e.into());
            }
        }
        let open_files = crate::fd_limit::raise();
        let max_connections = crate::fd_limit::connection_cap(config.max_connections, open_files);
        if max_connections < config.max_connections {
            tracing::warn!(
                configured = config.max_connections,
                max_connections,
                open_files,
                "the open-files limit leaves room for fewer connections than configured"
            );
        }
        let grpc = grpc.map(|g| g.start(client.clone()));
        let server = tokio::spawn(server::serve(
            listener,
            requests,
            stopped,
            in_flight.clone(),
            max_connections,
        ));
        tracing::info!(
            %addr,
            hub = %config.hub_name,
            local_development = config.local_development,
            functions = app.functions.len(),
            "host started"
        );
        Ok(Self {
            config,
            app,
            addr,
            keys,
            runtime,
            client,
            telemetry,
            stop,
            server,
            listeners,
            grpc,
            in_flight,
            draining,
        })
    }

    /// Where the HTTP server listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the Durable Task gRPC endpoint listens, when it is on.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().map(|g| g.addr())
    }

    /// The client bound to the task hub.
    pub fn client(&self) -> &DurableClient {
        &self.client
    }

    /// Waits until the task hub fails for good (see [`durable_store::StoreFailure`]); returns
    /// the reason. The host should then shut down and exit non-zero.
    pub async fn failed(&self) -> String {
        self.client
            .store()
            .signals()
            .failure
            .raised()
            .await
            .to_string()
    }

    /// The host keys.
    pub fn keys(&self) -> &HostKeys {
        &self.keys
    }

    /// The start-up banner.
    pub fn banner(&self) -> String {
        banner::render(&self.config, &self.app, self.addr, self.grpc_addr())
    }

    /// Stops taking work (new connections are refused, triggers stop), lets requests and
    /// functions in flight finish within the shutdown deadline, then stops the runtime.
    /// Whatever is still running then is left to recovery (lock expiry) on the next start.
    pub async fn shutdown(self) {
        let deadline = self.config.shutdown_deadline;
        tracing::info!(
            in_flight = self.in_flight.count(),
            deadline_ms = deadline.as_millis() as u64,
            "stopping: no new work; waiting for work in flight"
        );
        self.draining
            .store(true, std::sync::atomic::Ordering::Release);
        let drain = self.config.drain_delay;
        if !drain.is_zero() {
            tracing::info!(
                delay_ms = drain.as_millis() as u64,
                "draining: readiness answers 503 before the host stops taking connections"
            );
            tokio::time::sleep(drain).await;
        }
        // Everything from here on, the runtime and the store included, ends by this time.
        let end = tokio::time::Instant::now() + deadline;
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let aborts: Vec<_> = self.listeners.iter().map(|t| t.abort_handle()).collect();
        let listeners = futures::future::join_all(self.listeners);
        let work = async { tokio::join!(self.in_flight.wait_idle(), listeners) };
        if tokio::time::timeout_at(end, work).await.is_err() {
            // An aborted timer run is run again, past due, at the next start; an abandoned
            // queue message or blob version is received again once its lock or lease runs
            // out; an abandoned request's orchestrations carry on from their last commit.
            aborts.iter().for_each(|a| a.abort());
            tracing::warn!(
                in_flight = self.in_flight.count(),
                "shutdown deadline passed; abandoning work in flight"
            );
        }
        if tokio::time::timeout_at(end, self.runtime.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                "shutdown deadline passed while the runtime stopped; its locks and partition \
                 leases expire by themselves"
            );
        }
        // Workers stay connected until the runtime has stopped, so that the episodes and
        // activities they run can still answer.
        if let Some(grpc) = self.grpc {
            grpc.stop(end).await;
        }
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        self.telemetry.shutdown(left.max(SPAN_FLUSH_MINIMUM)).await;
        tracing::info!("host stopped");
    }
}

pub(crate) fn open_store(config: &HostConfig) -> Result<Arc<dyn TaskHub>, HostError> {
    match &config.storage {
        #[cfg(not(feature = "sqlite"))]
        StorageConfig::Sqlite { .. } => Err(HostError::SqliteNotBuilt),
        #[cfg(feature = "sqlite")]
        StorageConfig::Sqlite { path } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|source| HostError::DataDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            let hub = durable_sqlite::SqliteTaskHub::open(path).map_err(|source| {
                HostError::OpenStore {
                    path: path.clone(),
                    source,
                }
            })?;
            Ok(Arc::new(hub))
        }
        #[cfg(not(feature = "azure"))]
        StorageConfig::AzureStorage { setting, account } => Err(HostError::AzureStorageNotBuilt {
            setting: setting.clone(),
            account: account.clone(),
        }),
        #[cfg(feature = "azure")]
        StorageConfig::AzureStorage { setting, .. } => {
            use durable_azure::AzureTaskHub;
            use durable_azure_storage::StorageService::{Blob, Queue, Table};
            // The configuration keeps only the setting's name: the string is a secret, and the
            // environment holds it (local.settings.json values are exported into it).
            let failed = |reason: String| HostError::AzureStorage {
                setting: setting.clone(),
                reason,
            };
            let account =
                crate::storage_connection::storage_account(setting, &[Blob, Queue, Table])
                    .map_err(failed)?
                    .ok_or_else(|| failed("it is not set".into()))?;
            let hub = AzureTaskHub::with_options(account, &config.hub_name, azure_options(config))
                .map_err(|e| failed(e.to_string()))?;
            Ok(Arc::new(hub))
        }
    }
}

/// The Azure Storage tuning of host.json and the settings, over the store's defaults.
#[cfg(feature = "azure")]
fn azure_options(config: &HostConfig) -> durable_azure::AzureOptions {
    let provider = &config.storage_provider;
    let mut options = durable_azure::AzureOptions::default();
    if let Some(n) = provider.partition_count {
        options.partition_count = n;
    }
    if let Some(d) = provider.control_queue_visibility {
        options.control_queue_visibility = d;
    }
    if let Some(d) = provider.work_item_visibility {
        options.work_item_visibility = d;
    }
    if let Some(d) = provider.max_queue_polling_interval {
        options.max_queue_polling_interval = d;
    }
    if let Some(d) = provider.lease_interval {
        options.leases.lease_interval = d;
    }
    if let Some(d) = provider.lease_renew_interval {
        options.leases.renew_interval = d;
    }
    if let Some(d) = provider.lease_acquire_interval {
        options.leases.acquire_interval = d;
    }
    if let Some(id) = &config.worker_id {
        options.worker_id = id.clone();
    }
    options
}
