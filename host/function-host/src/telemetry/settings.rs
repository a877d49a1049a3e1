//! The OTLP exporter settings of one signal (traces or metrics), as OpenTelemetry defines
//! them: the signal's own variable (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) over the general
//! one (`OTEL_EXPORTER_OTLP_ENDPOINT`).

use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use percent_encoding::percent_decode_str;

use super::TelemetryError;
use durable_engine::trace::Sampler;

/// The transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    /// OTLP over gRPC.
    Grpc,
    /// OTLP over HTTP with protobuf bodies (the default).
    HttpProtobuf,
}

impl Protocol {
    /// The setting's value naming it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// One signal's exporter settings.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub protocol: Protocol,
    /// Where to send: for gRPC the collector's address, for HTTP the full URL.
    pub endpoint: String,
    /// Which setting gave the endpoint (for errors).
    pub endpoint_setting: String,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub gzip: bool,
}

impl Settings {
    /// The settings of `signal` (`TRACES` or `METRICS`).
    pub fn read(
        set: &dyn Fn(&str) -> Option<String>,
        signal: &str,
    ) -> Result<Self, TelemetryError> {
        let own = |key: &str| format!("OTEL_EXPORTER_OTLP_{signal}_{key}");
        let general = |key: &str| format!("OTEL_EXPORTER_OTLP_{key}");
        let either = |key: &str| {
            set(&own(key))
                .map(|v| (own(key), v))
                .or_else(|| set(&general(key)).map(|v| (general(key), v)))
        };
        let protocol = match either("PROTOCOL") {
            None => Protocol::HttpProtobuf,
            Some((setting, v)) => match v.trim() {
                "grpc" => Protocol::Grpc,
                "http/protobuf" => Protocol::HttpProtobuf,
                other => {
                    return Err(TelemetryError {
                        setting,
                        reason: format!(
                            "{other:?} is not supported; use \"http/protobuf\" or \"grpc\""
                        ),
                    })
                }
            },
        };
        let (endpoint_setting, endpoint) = match (set(&own("ENDPOINT")), set(&general("ENDPOINT")))
        {
            (Some(e), _) => (own("ENDPOINT"), e.trim().to_owned()),
            (None, Some(e)) => {
                let e = e.trim().trim_end_matches('/').to_owned();
                let e = match protocol {
                    Protocol::Grpc => e,
                    Protocol::HttpProtobuf => format!("{e}/v1/{}", signal.to_ascii_lowercase()),
                };
                (general("ENDPOINT"), e)
            }
            (None, None) => (
                general("ENDPOINT"),
                match protocol {
                    Protocol::Grpc => "http://localhost:4317".to_owned(),
                    Protocol::HttpProtobuf => {
                        format!("http://localhost:4318/v1/{}", signal.to_ascii_lowercase())
                    }
                },
            ),
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(TelemetryError {
                setting: endpoint_setting,
                reason: format!("{endpoint:?} is not an http:// or https:// URL"),
            });
        }
        let mut headers = Vec::new();
        for name in [general("HEADERS"), own("HEADERS")] {
            if let Some(v) = set(&name) {
                for (k, v) in parse_pairs(&v).map_err(|reason| TelemetryError {
                    setting: name.clone(),
                    reason,
                })? {
                    headers.retain(|(key, _): &(String, String)| !key.eq_ignore_ascii_case(&k));
                    headers.push((k.to_ascii_lowercase(), v));
                }
            }
        }
        let timeout = match either("TIMEOUT") {
            None => Duration::from_secs(10),
            Some((setting, _)) => millis_setting(set, &setting, Duration::from_secs(10))?,
        };
        let gzip = match either("COMPRESSION") {
            None => false,
            Some((setting, v)) => match v.trim() {
                "gzip" => true,
                "none" | "" => false,
                other => {
                    return Err(TelemetryError {
                        setting,
                        reason: format!("{other:?} is not supported; use \"gzip\" or \"none\""),
                    })
                }
            },
        };
        Ok(Self {
            protocol,
            endpoint,
            endpoint_setting,
            headers,
            timeout,
            gzip,
        })
    }

    /// The error of a header the transport refuses.
    pub fn bad_header(&self, key: &str, e: impl std::fmt::Display) -> TelemetryError {
        TelemetryError {
            setting: "OTEL_EXPORTER_OTLP_HEADERS".to_owned(),
            reason: format!("header {key:?} cannot be sent: {e}"),
        }
    }

    /// The error of an endpoint the transport refuses.
    pub fn bad_endpoint(&self, e: impl std::fmt::Display) -> TelemetryError {
        TelemetryError {
            setting: self.endpoint_setting.clone(),
            reason: format!("{:?} cannot be used: {e}", self.endpoint),
        }
    }
}

/// The sampler `OTEL_TRACES_SAMPLER` names (`parentbased_always_on` by default), with the
/// ratio of `OTEL_TRACES_SAMPLER_ARG` for the `traceidratio` ones.
pub(super) fn sampler(set: &dyn Fn(&str) -> Option<String>) -> Result<Sampler, TelemetryError> {
    let name = set("OTEL_TRACES_SAMPLER").unwrap_or_else(|| "parentbased_always_on".into());
    let ratio = || match set("OTEL_TRACES_SAMPLER_ARG") {
        None => Ok(1.0),
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| TelemetryError {
                setting: "OTEL_TRACES_SAMPLER_ARG".into(),
                reason: format!("{v:?} is not a ratio from 0 to 1"),
            }),
    };
    let (ratio, parent_based) = match name.trim() {
        "always_on" => (1.0, false),
        "always_off" => (0.0, false),
        "traceidratio" => (ratio()?, false),
        "parentbased_always_on" => (1.0, true),
        "parentbased_always_off" => (0.0, true),
        "parentbased_traceidratio" => (ratio()?, true),
        other => {
            return Err(TelemetryError {
                setting: "OTEL_TRACES_SAMPLER".into(),
                reason: format!(
                    "{other:?} is not one of always_on, always_off, traceidratio, \
                     parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                ),
            })
        }
    };
    Ok(Sampler {
        ratio,
        parent_based,
    })
}

/// `key1=value1,key2=value2` with percent-encoded values (`OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_RESOURCE_ATTRIBUTES`).
pub(super) fn parse_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not key=value"))?;
            let v = percent_decode_str(v.trim())
                .decode_utf8()
                .map_err(|_| format!("the value of {k:?} does not decode to UTF-8"))?;
            Ok((k.trim().to_owned(), v.into_owned()))
        })
        .collect()
}

/// The resource of the host's telemetry: `OTEL_RESOURCE_ATTRIBUTES`, `service.name`
/// (`OTEL_SERVICE_NAME`, else `service`) and `service.version`.
pub(super) fn resource_attributes(
    service: &str,
    set: &dyn Fn(&str) -> Option<String>,
) -> Vec<KeyValue> {
    let mut pairs = set("OTEL_RESOURCE_ATTRIBUTES")
        .and_then(|v| parse_pairs(&v).ok())
        .unwrap_or_default();
    let name = set("OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned());
    pairs.retain(|(k, _)| k != "service.name" && k != "service.version");
    pairs.push(("service.name".into(), name));
    pairs.push(("service.version".into(), env!("CARGO_PKG_VERSION").into()));
    pairs
        .into_iter()
        .map(|(key, v)| KeyValue {
            key,
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v)),
            }),
            ..KeyValue::default()
        })
        .collect()
}

/// A duration setting in milliseconds (`OTEL_BSP_SCHEDULE_DELAY`), or `default`.
pub(super) fn millis_setting(
    set: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: Duration,
) -> Result<Duration, TelemetryError> {
    match set(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| TelemetryError {
                setting: name.to_owned(),
                reason: format!("{v:?} is not a whole number of milliseconds"),
            }),
    }
}

/// A count setting (`OTEL_BSP_MAX_QUEUE_SIZE`), or `default`.
pub(super) fn count_setting(
    set: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: usize,
) -> Result<usize, TelemetryError> {
    match set(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| TelemetryError {
                setting: name.to_owned(),
                reason: format!("{v:?} is not a positive whole number"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)], signal: &str) -> Result<Settings, TelemetryError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        Settings::read(&lookup, signal)
    }

    #[test]
    fn the_signals_own_settings_win_and_http_paths_are_added() {
        let s = read(
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")],
            "METRICS",
        )
        .unwrap();
        assert_eq!(s.endpoint, "http://collector:4318/v1/metrics");
        assert_eq!(s.protocol, Protocol::HttpProtobuf);
        let s = read(
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%20one,x=1"),
                ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "API-KEY=two"),
                ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ],
            "METRICS",
        )
        .unwrap();
        assert_eq!(
            (s.endpoint.as_str(), s.protocol),
            ("http://collector:4317", Protocol::Grpc)
        );
        assert_eq!(
            s.headers,
            vec![("x".into(), "1".into()), ("api-key".into(), "two".into())]
        );
        assert_eq!((s.timeout, s.gzip), (Duration::from_millis(2500), true));
        let s = read(
            &[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://x/custom")],
            "METRICS",
        )
        .unwrap();
        assert_eq!(s.endpoint, "https://x/custom");
    }

    #[test]
    fn samplers_are_read() {
        let read = |pairs: &[(&str, &str)]| {
            let lookup = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            };
            sampler(&lookup)
        };
        assert_eq!(read(&[]).unwrap(), Sampler::default());
        let s = read(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ])
        .unwrap();
        assert_eq!((s.ratio, s.parent_based), (0.25, true));
        assert_eq!(
            read(&[("OTEL_TRACES_SAMPLER", "always_off")])
                .unwrap()
                .ratio,
            0.0
        );
        assert_eq!(
            read(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")])
                .unwrap_err()
                .setting,
            "OTEL_TRACES_SAMPLER"
        );
        let bad = [
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ];
        assert_eq!(read(&bad).unwrap_err().setting, "OTEL_TRACES_SAMPLER_ARG");
    }

    #[test]
    fn bad_settings_name_themselves() {
        for (pairs, setting) in [
            (
                vec![("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "soon")],
                "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")],
                "OTEL_EXPORTER_OTLP_COMPRESSION",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_HEADERS", "novalue")],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
        ] {
            let e = read(&pairs, "METRICS").unwrap_err();
            assert_eq!(e.setting, setting, "{e}");
        }
    }
}
