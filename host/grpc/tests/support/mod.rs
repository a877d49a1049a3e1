//! What the protocol tests share: a runtime on a SQLite task hub with the server on a local
//! port, and a client of the generated stubs. Each test file uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use durable_grpc::proto::task_hub_sidecar_service_client::TaskHubSidecarServiceClient;
use durable_grpc::WorkerHub;
use durable_runtime::remote::Workers;
use durable_runtime::{Registry, Runtime, RuntimeOptions};
use durable_sqlite::SqliteTaskHub;
use durable_store::TaskHub;

/// A client of the service, as an SDK's client or worker holds one.
pub type Client = TaskHubSidecarServiceClient<Channel>;

/// The longest any step of a test waits.
pub const WAIT: Duration = Duration::from_secs(30);

/// A runtime with `registry` on a fresh SQLite task hub, routing to the workers of `hub`, and
/// the server on `addr`.
pub struct Sidecar {
    pub runtime: Runtime,
    pub hub: Arc<WorkerHub>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    _dir: tempfile::TempDir,
}

impl Sidecar {
    /// Starts the runtime and the server.
    pub async fn start(registry: Registry) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(path).unwrap());
        let hub = Arc::new(WorkerHub::new());
        let options = RuntimeOptions {
            workers: Some(Workers(hub.clone())),
            idle_poll_interval: Duration::from_millis(50),
            ..RuntimeOptions::default()
        };
        let runtime = Runtime::start(store, registry, options).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(durable_grpc::serve(
            listener,
            hub.clone(),
            runtime.client(),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            runtime,
            hub,
            addr,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        }
    }

    /// A new connection to the server.
    pub async fn connect(&self) -> Client {
        connect(self.addr).await
    }

    /// Waits until at least one worker is connected.
    pub async fn worker_connected(&self) {
        tokio::time::timeout(WAIT, async {
            while self.hub.worker_count() == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("a worker connects");
    }

    /// Stops the server; it must stop in time. The runtime keeps running.
    pub async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(WAIT, server)
                .await
                .expect("the server stops")
                .unwrap()
                .unwrap();
        }
    }

    /// Stops the server, then the runtime.
    pub async fn shutdown(mut self) {
        self.stop_server().await;
        self.runtime.shutdown().await;
    }
}

/// A new connection to the server at `addr`.
pub async fn connect(addr: SocketAddr) -> Client {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    TaskHubSidecarServiceClient::new(channel)
}
