//! `<app> health`: asks the host running from the same directory whether it is ready, and
//! exits 0 if it is, 1 if not. A container's `HEALTHCHECK` runs it, so the image needs no curl.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use super::config::HostConfig;
use super::requests::READY_PATH;

/// How long the probe waits for the host.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Asks the host on `config`'s address (or `port`) for its readiness; `Err` says why it is
/// not ready or cannot be asked.
pub fn check(config: &HostConfig, port: Option<u16>) -> Result<(), String> {
    let ip = match config.bind_address {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    let addr = SocketAddr::new(ip, port.unwrap_or(config.port));
    let io = |e: std::io::Error| format!("{addr}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(io)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    write!(
        stream,
        "GET {READY_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(io)?;
    let response = String::from_utf8_lossy(&response);
    let status = response.split(' ').nth(1).unwrap_or("");
    if status == "200" {
        return Ok(());
    }
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").trim();
    Err(format!("{addr}{READY_PATH} answered {status}: {body}"))
}
