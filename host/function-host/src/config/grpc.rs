//! Where the Durable Task protocol is served (the `grpc` feature): host.json
//! `extensions.durableTask.grpc.port`, overridden by the setting `DURABLE_GRPC_PORT`.
//!
//! ```json
//! { "extensions": { "durableTask": { "grpc": { "port": 4001 } } } }
//! ```
//!
//! Absent, the endpoint is off. It listens on the HTTP server's bind address
//! (`DurableBindAddress`); `0` picks a free port.

use serde_json::Value;

use super::files::{get_ci, json_text};
use super::{invalid, ConfigError};

/// Setting: the Durable Task gRPC port; overrides host.json
/// `extensions.durableTask.grpc.port` (so that a container or a test can set it).
pub const GRPC_PORT: &str = "DURABLE_GRPC_PORT";

const WHAT: &str = "a port number from 0 to 65535";

/// The port of host.json's `grpc` section of `extensions.durableTask`, if it has one.
pub(super) fn grpc_port(durable: Option<&Value>) -> Result<Option<u16>, ConfigError> {
    let name = "host.json extensions.durableTask.grpc";
    let Some(section) = durable.and_then(|d| get_ci(d, "grpc")) else {
        return Ok(None);
    };
    match section {
        Value::Null => return Ok(None),
        Value::Object(_) => {}
        other => return Err(invalid(name, &json_text(other), "an object of settings")),
    }
    match get_ci(section, "port") {
        None | Some(Value::Null) => Ok(None),
        // A number, or its text when it comes from an `AzureFunctionsJobHost__` setting.
        Some(v) => {
            let text = json_text(v);
            let port = text
                .trim()
                .parse::<u16>()
                .map_err(|_| invalid(&format!("{name}.port"), &text, WHAT))?;
            Ok(Some(port))
        }
    }
}

/// The port: the setting's when it is given, else host.json's.
pub(super) fn resolve(
    from_host_json: Option<u16>,
    given: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<u16>, ConfigError> {
    match given(GRPC_PORT) {
        Some(v) => v
            .trim()
            .parse::<u16>()
            .map(Some)
            .map_err(|_| invalid(GRPC_PORT, &v, WHAT)),
        None => Ok(from_host_json),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_port_and_is_off_without_one() {
        let v = json!({"grpc": {"port": 4001}});
        assert_eq!(grpc_port(Some(&v)).unwrap(), Some(4001));
        let text = json!({"Grpc": {"Port": "0"}});
        assert_eq!(grpc_port(Some(&text)).unwrap(), Some(0));
        assert_eq!(grpc_port(None).unwrap(), None);
        assert_eq!(grpc_port(Some(&json!({"grpc": {}}))).unwrap(), None);
        assert_eq!(grpc_port(Some(&json!({"grpc": null}))).unwrap(), None);
    }

    #[test]
    fn bad_ports_name_the_setting() {
        for bad in [
            json!({"grpc": {"port": 70000}}),
            json!({"grpc": {"port": -1}}),
            json!({"grpc": {"port": "soon"}}),
            json!({"grpc": {"port": 1.5}}),
            json!({"grpc": 4001}),
        ] {
            let e = grpc_port(Some(&bad)).unwrap_err().to_string();
            assert!(e.contains("extensions.durableTask.grpc"), "{e}");
        }
    }

    #[test]
    fn the_setting_overrides_host_json() {
        let given = |v: &'static str| move |name: &str| (name == GRPC_PORT).then(|| v.to_string());
        assert_eq!(resolve(Some(1), &given("4002")).unwrap(), Some(4002));
        assert_eq!(resolve(Some(1), &|_: &str| None).unwrap(), Some(1));
        let e = resolve(None, &given("x")).unwrap_err().to_string();
        assert!(e.contains(GRPC_PORT), "{e}");
    }
}
