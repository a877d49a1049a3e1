//! The fault proxy against a local echo server, with plain blocking sockets: data passes
//! unchanged, injected resets are resets (not a clean end of stream), a partition holds bytes
//! and then resets, and delays add latency.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use durable_testing::fault_proxy::FaultProxy;

/// An echo server on a free port: every connection gets its bytes back, then an end of
/// stream after the client's.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut read = stream.try_clone().unwrap();
                let mut write = stream;
                let _ = std::io::copy(&mut read, &mut write);
                let _ = write.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

fn connect(proxy: &FaultProxy) -> TcpStream {
    let stream = TcpStream::connect(proxy.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Writes `data` and reads it back whole.
fn round_trip(stream: &mut TcpStream, data: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(data)?;
    let mut back = vec![0; data.len()];
    stream.read_exact(&mut back)?;
    Ok(back)
}

#[test]
fn data_passes_through_unchanged() {
    let proxy = FaultProxy::with_seed(echo_server(), 1).unwrap();
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut stream = connect(&proxy);
    let mut writer = stream.try_clone().unwrap();
    let sent = data.clone();
    let send = std::thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    stream
        .read_to_end(&mut back)
        .expect("a clean end of stream");
    send.join().unwrap();
    assert!(back == data, "{} bytes back of {}", back.len(), data.len());

    // More connections, one after another and at once.
    let threads: Vec<_> = (0..4u8)
        .map(|i| {
            let mut stream = connect(&proxy);
            std::thread::spawn(move || {
                for j in 0..20u8 {
                    let msg = [i, j, 42];
                    assert_eq!(round_trip(&mut stream, &msg).unwrap(), msg);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = proxy.stats();
    assert_eq!(stats.connections, 5);
    assert_eq!(stats.resets_injected, 0);
    assert!(stats.chunks_forwarded >= 4 * 20 * 2 + 2, "{stats:?}");
}

#[test]
fn reset_probability_one_resets_the_client() {
    let proxy = FaultProxy::with_seed(echo_server(), 2).unwrap();
    let mut stream = connect(&proxy);
    assert_eq!(round_trip(&mut stream, b"before").unwrap(), b"before");

    proxy.set_reset_probability(1.0);
    let err = round_trip(&mut stream, b"hello").expect_err("the connection is reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert_eq!(proxy.stats().resets_injected, 1);

    // A new connection is reset on its first chunk too; after clear() all is well again.
    let mut stream = connect(&proxy);
    let err = round_trip(&mut stream, b"again").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    proxy.clear();
    let mut stream = connect(&proxy);
    assert_eq!(round_trip(&mut stream, b"after").unwrap(), b"after");
    assert_eq!(proxy.stats().resets_injected, 2);
}

#[test]
fn reset_all_resets_open_connections_only() {
    let proxy = FaultProxy::start(echo_server()).unwrap();
    let mut a = connect(&proxy);
    let mut b = connect(&proxy);
    assert_eq!(round_trip(&mut a, b"a").unwrap(), b"a");
    assert_eq!(round_trip(&mut b, b"b").unwrap(), b"b");
    proxy.reset_all();
    for stream in [&mut a, &mut b] {
        let mut buf = [0; 1];
        let err = stream.read(&mut buf).expect_err("reset, not end of stream");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    }
    let mut c = connect(&proxy);
    assert_eq!(round_trip(&mut c, b"c").unwrap(), b"c");
    assert_eq!(proxy.stats().resets_injected, 2);
}

#[test]
fn a_blackhole_holds_bytes_then_resets() {
    let proxy = FaultProxy::start(echo_server()).unwrap();
    let mut old = connect(&proxy);
    let mut idle = connect(&proxy);
    assert_eq!(round_trip(&mut old, b"1").unwrap(), b"1");
    assert_eq!(round_trip(&mut idle, b"2").unwrap(), b"2");

    proxy.blackhole(true);
    let mut new = TcpStream::connect(proxy.addr()).expect("accepted during the partition");
    for stream in [&mut old, &mut new] {
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        stream.write_all(b"held").unwrap();
        let mut buf = [0; 4];
        let err = stream.read(&mut buf).expect_err("nothing comes back");
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{err}"
        );
    }

    proxy.blackhole(false);
    for stream in [&mut old, &mut new] {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0; 4];
        let err = stream
            .read(&mut buf)
            .expect_err("held connections are reset");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    }
    // A connection that sent nothing during the partition carries on.
    assert_eq!(round_trip(&mut idle, b"3").unwrap(), b"3");
    let mut fresh = connect(&proxy);
    assert_eq!(round_trip(&mut fresh, b"4").unwrap(), b"4");
    assert_eq!(proxy.stats().resets_injected, 2);
}

#[test]
fn delay_adds_latency_in_each_direction() {
    let proxy = FaultProxy::start(echo_server()).unwrap();
    let mut stream = connect(&proxy);
    assert_eq!(round_trip(&mut stream, b"warm").unwrap(), b"warm");
    proxy.set_delay(Duration::from_millis(150), Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(round_trip(&mut stream, b"slow").unwrap(), b"slow");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

/// The proxy runs on its own thread: a test whose runtime thread blocks still gets through.
#[tokio::test(flavor = "current_thread")]
async fn works_while_the_test_runtime_is_blocked() {
    let proxy = FaultProxy::start(echo_server()).unwrap();
    let mut stream = connect(&proxy);
    assert_eq!(round_trip(&mut stream, b"blocking").unwrap(), b"blocking");
    drop(proxy);
    let mut buf = [0; 1];
    let n = stream.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "dropping the proxy closes its connections");
}
