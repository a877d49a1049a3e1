//! The Durable Task gRPC endpoint of a test host (the worker tests).

use crate::app_host::TestHost;

/// The host's Durable Task gRPC address (`127.0.0.1:PORT`), from its banner.
pub fn address(host: &TestHost) -> String {
    let line = host
        .banner
        .lines()
        .find(|l| l.contains("gRPC"))
        .unwrap_or_else(|| panic!("no gRPC line in the banner:\n{}", host.banner));
    let at = line
        .find("127.0.0.1:")
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    line[at..]
        .split(|c: char| c.is_whitespace() || c == '/' || c == ')')
        .next()
        .unwrap_or_default()
        .to_string()
}
