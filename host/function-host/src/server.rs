//! The HTTP/1.1 server: accepts connections, serves them with hyper, and on shutdown stops
//! accepting, lets requests in flight finish and closes idle connections.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};

use super::requests::RequestHandler;

/// How long a client may take to send the request head; slow clients cannot hold a
/// connection (and a place in the shutdown wait) forever.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Counts work in flight (connections and function invocations) so shutdown can wait for it.
#[derive(Clone, Default)]
pub struct InFlight {
    inner: Arc<InFlightInner>,
}

#[derive(Default)]
struct InFlightInner {
    count: AtomicUsize,
    idle: Notify,
}

/// Held while a piece of work is in flight.
pub struct InFlightGuard {
    inner: Arc<InFlightInner>,
}

impl InFlight {
    /// Marks the start of a piece of work; it ends when the guard drops.
    pub fn enter(&self) -> InFlightGuard {
        self.inner.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard {
            inner: self.inner.clone(),
        }
    }

    /// How much work is in flight.
    pub fn count(&self) -> usize {
        self.inner.count.load(Ordering::SeqCst)
    }

    /// Returns when no work is in flight.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.inner.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

/// Accepts connections on `listener` until `shutdown` turns true, then drops the listener so
/// new connections are refused. Each connection finishes its request in flight and closes.
/// At most `max_connections` are open at once: beyond that, connections wait in the listen
/// backlog until one closes, instead of each taking a file descriptor.
pub async fn serve(
    listener: TcpListener,
    requests: Arc<RequestHandler>,
    mut shutdown: watch::Receiver<bool>,
    in_flight: InFlight,
    max_connections: usize,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    loop {
        let slot = tokio::select! {
            _ = stopping(&mut shutdown) => break,
            slot = Arc::clone(&slots).acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            _ = stopping(&mut shutdown) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let guard = in_flight.enter();
        let requests = requests.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            serve_connection(stream, requests, shutdown).await;
            tracing::trace!(%peer, "connection closed");
            drop(guard);
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("HTTP server stopped accepting connections");
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    requests: Arc<RequestHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let requests = requests.clone();
        async move { Ok::<hyper::Response<Full<Bytes>>, Infallible>(requests.handle(req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let finished = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = stopping(&mut shutdown) => None,
    };
    let result = match finished {
        Some(r) => r,
        None => {
            // Finishes the response in flight (if any), then closes; an idle keep-alive
            // connection closes at once.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Client hang-ups and malformed requests (hyper answers those with 400 itself).
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Returns once shutdown has been asked for (or its sender is gone).
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_idle_returns_when_the_last_guard_drops() {
        let f = InFlight::default();
        f.wait_idle().await;
        let a = f.enter();
        let b = f.enter();
        let waiter = tokio::spawn({
            let f = f.clone();
            async move { f.wait_idle().await }
        });
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
