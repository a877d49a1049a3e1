//! A worker's work-item stream: connecting, health pings, and noticing that it ended.

use std::sync::Arc;

use futures::stream::BoxStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::registry::{Serves, Worker};
use super::{Shared, WorkerHub};
use crate::proto;

/// How many work items may wait in a stream's buffer before sending waits.
const STREAM_BUFFER: usize = 64;

/// A work-item stream as the server hands it to the transport.
pub(crate) type WorkItemStream = BoxStream<'static, Result<proto::WorkItem, tonic::Status>>;

impl WorkerHub {
    /// Connects a worker: registers it with what it asked for and returns its work-item
    /// stream. The worker stays until the stream ends (it disconnects, or the hub closes).
    pub(crate) fn connect(
        &self,
        request: proto::GetWorkItemsRequest,
    ) -> Result<WorkItemStream, tonic::Status> {
        let (items, stream) = mpsc::channel(STREAM_BUFFER);
        let limit = |n: i32| usize::try_from(n).unwrap_or(0);
        let id = {
            let mut registry = self.shared.registry.lock();
            if registry.closed {
                return Err(tonic::Status::unavailable("the host is shutting down"));
            }
            registry.next_id += 1;
            let id = registry.next_id;
            registry.workers.push(Worker {
                id,
                items: items.clone(),
                serves: Serves::from_filters(request.work_item_filters),
                limits: [
                    limit(request.max_concurrent_orchestration_work_items),
                    limit(request.max_concurrent_activity_work_items),
                    limit(request.max_concurrent_entity_work_items),
                ],
                running: [0; 3],
            });
            id
        };
        tracing::info!(
            worker = id,
            worker_instance_id = %request.worker_instance_id,
            "a Durable Task worker connected"
        );
        self.shared.changed.notify_waiters();
        tokio::spawn(keep_alive(Arc::clone(&self.shared), id, items));
        Ok(Box::pin(ReceiverStream::new(stream)))
    }
}

/// Pings the stream while it is open; removes the worker once it has ended or the hub closed.
async fn keep_alive(shared: Arc<Shared>, id: u64, items: super::registry::ItemSender) {
    let mut closing = shared.closing.subscribe();
    let period = shared.ping_interval;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = items.closed() => break,
            _ = closing.wait_for(|c| *c) => break,
            _ = ticks.tick() => {
                let ping = proto::WorkItem {
                    request: Some(proto::work_item::Request::HealthPing(proto::HealthPing {})),
                    completion_token: String::new(),
                };
                // A full buffer means the stream is not idle: no ping needed.
                if let Err(mpsc::error::TrySendError::Closed(_)) = items.try_send(Ok(ping)) {
                    break;
                }
            }
        }
    }
    drop(items);
    shared.remove_worker(id);
    tracing::info!(worker = id, "a Durable Task worker disconnected");
}
