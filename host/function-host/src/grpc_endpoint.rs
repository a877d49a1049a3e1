//! The Durable Task protocol endpoint (cargo feature `grpc`): workers of the Durable Task
//! SDKs connect to it to run the orchestrators and activities the app has no Rust function
//! for, and the SDKs' clients manage instances through it (docs/workers.md).
//!
//! It listens on the HTTP server's bind address at `extensions.durableTask.grpc.port` (or
//! `DURABLE_GRPC_PORT`), and has no authentication: the bind address and the port are the
//! only control of who reaches it.

#[cfg(feature = "grpc")]
pub(crate) use built::{Endpoint, Prepared};
#[cfg(not(feature = "grpc"))]
pub(crate) use missing::{Endpoint, Prepared};

use super::config::HostConfig;
use super::HostError;

/// Binds the endpoint's port when the configuration asks for one.
pub(crate) async fn bind(config: &HostConfig) -> Result<Option<Prepared>, HostError> {
    match config.grpc_port {
        None => Ok(None),
        Some(port) => Prepared::bind(config, port).await.map(Some),
    }
}

#[cfg(feature = "grpc")]
mod built {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use tokio::net::TcpListener;
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    use crate::config::HostConfig;
    use crate::HostError;
    use durable_client::DurableClient;
    use durable_grpc::WorkerHub;
    use durable_runtime::remote::Workers;

    /// The endpoint's bound port and its hub, before it serves.
    pub(crate) struct Prepared {
        listener: TcpListener,
        hub: Arc<WorkerHub>,
        addr: SocketAddr,
    }

    impl Prepared {
        pub(super) async fn bind(config: &HostConfig, port: u16) -> Result<Self, HostError> {
            let addr = SocketAddr::new(config.bind_address, port);
            let bound = TcpListener::bind(addr).await;
            let listener = bound.map_err(|source| HostError::GrpcBind { addr, source })?;
            let addr = listener
                .local_addr()
                .map_err(|source| HostError::GrpcBind { addr, source })?;
            Ok(Self {
                listener,
                hub: Arc::new(WorkerHub::new()),
                addr,
            })
        }

        /// The workers the runtime routes to.
        pub(crate) fn workers(&self) -> Workers {
            Workers(self.hub.clone())
        }

        /// Starts serving, with management calls on `client`.
        pub(crate) fn start(self, client: DurableClient) -> Endpoint {
            let (stop, stopped) = oneshot::channel::<()>();
            let addr = self.addr;
            let shutdown = async move {
                let _ = stopped.await;
            };
            let task = tokio::spawn(async move {
                if let Err(e) = durable_grpc::serve(self.listener, self.hub, client, shutdown).await
                {
                    tracing::error!(error = %e, "the Durable Task gRPC endpoint stopped");
                }
            });
            tracing::info!(%addr, "Durable Task gRPC endpoint listening");
            Endpoint { addr, stop, task }
        }
    }

    /// The serving endpoint.
    pub(crate) struct Endpoint {
        addr: SocketAddr,
        stop: oneshot::Sender<()>,
        task: JoinHandle<()>,
    }

    impl Endpoint {
        /// Where it listens.
        pub(crate) fn addr(&self) -> SocketAddr {
            self.addr
        }

        /// Stops it: work-item streams end, waiting calls answer UNAVAILABLE, and the server
        /// waits for the calls in flight until `end`, then drops them.
        pub(crate) async fn stop(self, end: tokio::time::Instant) {
            let _ = self.stop.send(());
            let abort = self.task.abort_handle();
            if tokio::time::timeout_at(end, self.task).await.is_err() {
                abort.abort();
                tracing::warn!("shutdown deadline passed; gRPC calls in flight were dropped");
            }
        }
    }
}

#[cfg(not(feature = "grpc"))]
mod missing {
    use std::net::SocketAddr;

    use crate::config::HostConfig;
    use crate::HostError;
    use durable_client::DurableClient;
    use durable_runtime::remote::Workers;

    /// Never made: without the feature a configured port is an error.
    pub(crate) enum Prepared {}

    impl Prepared {
        pub(super) async fn bind(_: &HostConfig, port: u16) -> Result<Self, HostError> {
            Err(HostError::GrpcNotBuilt { port })
        }

        pub(crate) fn workers(&self) -> Workers {
            match *self {}
        }

        pub(crate) fn start(self, _: DurableClient) -> Endpoint {
            match self {}
        }
    }

    /// Never made.
    pub(crate) enum Endpoint {}

    impl Endpoint {
        pub(crate) fn addr(&self) -> SocketAddr {
            match *self {}
        }

        pub(crate) async fn stop(self, _: tokio::time::Instant) {
            match self {}
        }
    }
}
