//! Serving the protocol on a listener: HTTP/2 without TLS (h2c), as the SDKs connect to a
//! local backend.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::hub::WorkerHub;
use crate::proto::task_hub_sidecar_service_server::TaskHubSidecarServiceServer;
use crate::service::Sidecar;
use durable_client::DurableClient;

/// The largest message accepted from a peer (a worker's answer with its payloads, a start's
/// input): 16 MiB, four times the gRPC default.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Serves the Durable Task protocol on `listener` until `shutdown` resolves: worker calls go
/// to `hub`, client calls to `client`. When `shutdown` resolves the hub is closed (work-item
/// streams end, unanswered work goes back to the task hub, waiting calls answer
/// `UNAVAILABLE`) and the server stops once the calls in flight have ended.
///
/// The service has no authentication: anyone who reaches the port can manage instances and
/// run work. Bind it where only trusted workers and clients reach it.
pub async fn serve(
    listener: TcpListener,
    hub: Arc<WorkerHub>,
    client: DurableClient,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let service = TaskHubSidecarServiceServer::new(Sidecar::new(Arc::clone(&hub), client))
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let stop = async move {
        shutdown.await;
        hub.close();
    };
    tonic::transport::Server::builder()
        .serve_with_incoming_shutdown(service, incoming, stop)
        .await
}
