//! A TCP proxy that injects network faults between a client under test and its upstream
//! (Azurite, an HTTP host, anything that speaks TCP).
//!
//! [`FaultProxy::start`] listens on `127.0.0.1` on a free port and forwards every connection
//! to the upstream address (a client whose upstream connection fails is reset). It runs on a thread of its own with its own Tokio runtime, so
//! synchronous tests can use it and a test whose runtime is blocked does not stop it. Faults
//! can be changed at any time from any thread:
//!
//! - [`set_delay`](FaultProxy::set_delay): every forwarded chunk, in each direction, waits a
//!   random time in a range before it is written on;
//! - [`set_reset_probability`](FaultProxy::set_reset_probability): instead of forwarding a
//!   chunk, the connection is torn down with a TCP RST on both sides (`SO_LINGER` 0), so the
//!   client sees `ECONNRESET`, not a clean end of stream;
//! - [`blackhole`](FaultProxy::blackhole): a network partition. New connections are accepted
//!   but not connected upstream, and bytes that arrive are held: not delivered, not dropped.
//!   When the partition ends, every connection held by it (accepted during it, or with bytes
//!   sent during it) is reset, as a real timeout would end it; the others carry on;
//! - [`reset_all`](FaultProxy::reset_all) resets every open connection now.
//!
//! The random choices come from a seeded generator ([`FaultProxy::with_seed`]); the sequence
//! of draws is reproducible, though which connection makes which draw depends on timing.
//! Dropping the proxy closes every connection and stops its thread.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// How many bytes one read forwards at most: a "chunk".
const CHUNK: usize = 16 * 1024;

/// The faults in force; connections watch it.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    delay: (Duration, Duration),
    reset_probability: f64,
    blackhole: bool,
    /// Bumped by [`FaultProxy::reset_all`].
    reset_generation: u64,
}

/// Counters since the proxy started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Client connections accepted.
    pub connections: u64,
    /// Chunks passed on, both directions counted (counted as their write starts).
    pub chunks_forwarded: u64,
    /// Connections torn down with a reset by a fault (probability, partition end or
    /// [`FaultProxy::reset_all`]); not counted when the client or upstream reset first.
    pub resets_injected: u64,
}

/// State shared by the handle and the proxy thread.
#[derive(Debug)]
struct Shared {
    faults: watch::Sender<Faults>,
    rng: Mutex<SplitMix64>,
    connections: AtomicU64,
    chunks: AtomicU64,
    resets: AtomicU64,
}

/// A running fault proxy; see the [module documentation](self).
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    seed: u64,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` with a seed taken from the clock (see [`seed`](Self::seed)).
    pub fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::with_seed(upstream, nanos ^ u64::from(std::process::id()))
    }

    /// Starts a proxy to `upstream` whose random choices are drawn from `seed`.
    pub fn with_seed(upstream: SocketAddr, seed: u64) -> io::Result<FaultProxy> {
        let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared {
            faults: watch::Sender::new(Faults::default()),
            rng: Mutex::new(SplitMix64(seed)),
            connections: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
            resets: AtomicU64::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("inside a runtime");
                    tokio::select! {
                        _ = stopped => {}
                        () = accept_loop(listener, upstream, state) => {}
                    }
                });
                // Dropping the runtime drops every connection task and closes its sockets.
                drop(runtime);
            })?;
        Ok(FaultProxy {
            addr,
            seed,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The seed of the random choices, to log for a reproduction.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Delays every forwarded chunk, in each direction, by a uniform random time in
    /// `min..=max` (`max` below `min` counts as `min`). Zero for both turns delays off.
    pub fn set_delay(&self, min: Duration, max: Duration) {
        self.shared
            .faults
            .send_modify(|f| f.delay = (min, max.max(min)));
    }

    /// Resets the connection, instead of forwarding, for each chunk with probability `p`
    /// (clamped to `0.0..=1.0`).
    pub fn set_reset_probability(&self, p: f64) {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.shared.faults.send_modify(|f| f.reset_probability = p);
    }

    /// Starts (`true`) or ends (`false`) a partition: see the [module documentation](self).
    pub fn blackhole(&self, on: bool) {
        self.shared.faults.send_modify(|f| f.blackhole = on);
    }

    /// Resets every connection open now; later connections are not affected.
    pub fn reset_all(&self) {
        self.shared
            .faults
            .send_modify(|f| f.reset_generation = f.reset_generation.wrapping_add(1));
    }

    /// Removes every fault: no delay, no resets, no partition. Connections held by a
    /// partition are reset, as when it ends.
    pub fn clear(&self) {
        self.shared.faults.send_modify(|f| {
            *f = Faults {
                reset_generation: f.reset_generation,
                ..Faults::default()
            }
        });
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            connections: self.shared.connections.load(Ordering::Relaxed),
            chunks_forwarded: self.shared.chunks.load(Ordering::Relaxed),
            resets_injected: self.shared.resets.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                shared.connections.fetch_add(1, Ordering::Relaxed);
                let _ = client.set_nodelay(true);
                tokio::spawn(serve(client, upstream, shared.clone()));
            }
            // Out of descriptors and the like: try again shortly rather than stop.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Why a connection ends.
enum End {
    /// Both directions reached end of stream.
    Closed,
    /// A fault: reset both sides and count it.
    Inject,
    /// An I/O error on one side: reset the other, do not count it.
    Broken,
}

/// Forwards one client connection until it ends.
async fn serve(mut client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut faults = shared.faults.subscribe();
    let generation = faults.borrow().reset_generation;
    let reset_all = async {
        let mut rx = shared.faults.subscribe();
        let _ = rx.wait_for(|f| f.reset_generation != generation).await;
    };
    tokio::pin!(reset_all);

    let connect = async {
        if faults.borrow().blackhole {
            // Partitioned: the connection could not have reached upstream.
            return match held(&mut faults).await {
                End::Inject => Err(End::Inject),
                _ => Err(End::Broken),
            };
        }
        TcpStream::connect(upstream).await.map_err(|_| End::Broken)
    };
    let connected = tokio::select! {
        c = connect => c,
        () = &mut reset_all => Err(End::Inject),
    };
    let mut server = match connected {
        Ok(server) => server,
        Err(end) => return finish(end, &shared, client, None),
    };
    let _ = server.set_nodelay(true);

    let end = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let up = pump(client_read, server_write, &shared);
        let down = pump(server_read, client_write, &shared);
        tokio::select! {
            r = async { tokio::try_join!(up, down) } => match r {
                Ok(_) => End::Closed,
                Err(end) => end,
            },
            () = &mut reset_all => End::Inject,
        }
    };
    finish(end, &shared, client, Some(server));
}

/// Closes (or resets) both sides and counts an injected reset.
fn finish(end: End, shared: &Shared, client: TcpStream, server: Option<TcpStream>) {
    if matches!(end, End::Closed) {
        return;
    }
    if matches!(end, End::Inject) {
        shared.resets.fetch_add(1, Ordering::Relaxed);
    }
    for stream in std::iter::once(client).chain(server) {
        // A close with a zero linger time sends RST instead of FIN.
        let _ = stream.set_zero_linger();
        drop(stream);
    }
}

/// Holds the connection while the partition lasts, then asks for a reset.
async fn held(faults: &mut watch::Receiver<Faults>) -> End {
    match faults.wait_for(|f| !f.blackhole).await {
        Ok(_) => End::Inject,
        Err(_) => End::Broken,
    }
}

/// Copies one direction, chunk by chunk, applying the faults in force for each chunk.
async fn pump<R, W>(mut from: R, mut to: W, shared: &Shared) -> Result<(), End>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut faults = shared.faults.subscribe();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = from.read(&mut buf).await.map_err(|_| End::Broken)?;
        if n == 0 {
            // Half-close: pass the end of stream on, keep the other direction going.
            let _ = to.shutdown().await;
            return Ok(());
        }
        let now = *faults.borrow_and_update();
        if now.blackhole {
            return Err(held(&mut faults).await);
        }
        let (reset, delay) = {
            let mut rng = shared.rng.lock().unwrap_or_else(|e| e.into_inner());
            let reset = now.reset_probability > 0.0 && rng.unit() < now.reset_probability;
            let (min, max) = now.delay;
            let span = (max - min).as_nanos() as u64;
            let extra = if span == 0 {
                0
            } else {
                rng.next() % (span + 1)
            };
            (reset, min + Duration::from_nanos(extra))
        };
        if reset {
            return Err(End::Inject);
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
            if faults.borrow_and_update().blackhole {
                return Err(held(&mut faults).await);
            }
        }
        // Counted first, so a client that has the bytes also sees them counted.
        shared.chunks.fetch_add(1, Ordering::Relaxed);
        to.write_all(&buf[..n]).await.map_err(|_| End::Broken)?;
    }
}

/// SplitMix64: small, fast, and good enough to decide faults.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn the_generator_is_reproducible_and_spread() {
        let mut r = SplitMix64(7);
        let a: Vec<u64> = (0..4).map(|_| r.next()).collect();
        let mut r = SplitMix64(7);
        assert_eq!(a, (0..4).map(|_| r.next()).collect::<Vec<_>>());
        let mut r = SplitMix64(1);
        let below = (0..10_000).filter(|_| r.unit() < 0.25).count();
        assert!((2_000..3_000).contains(&below), "{below}");
    }
}
