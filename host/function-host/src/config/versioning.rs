//! host.json `extensions.durableTask` versioning settings: `defaultVersion`,
//! `versionMatchStrategy`, `versionFailureStrategy` (as in Durable Functions) and
//! `missingFunctionTimeout` (how long a host holds back work for a function or version it does
//! not have before failing it).

use std::time::Duration;

use serde_json::Value;

use super::files::{get_ci, json_text};
use super::{invalid, parse_timespan, ConfigError};
use durable_engine::version::{VersionFailureStrategy, VersionMatchStrategy, Versioning};

/// The versioning settings of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersioningSettings {
    /// `defaultVersion`, `versionMatchStrategy`, `versionFailureStrategy`.
    pub versioning: Versioning,
    /// `missingFunctionTimeout`.
    pub missing_function_timeout: Duration,
}

impl Default for VersioningSettings {
    fn default() -> Self {
        Self {
            versioning: Versioning::default(),
            missing_function_timeout: durable_runtime::DEFAULT_MISSING_FUNCTION_TIMEOUT,
        }
    }
}

/// Reads the settings from the `extensions.durableTask` object, if there is one.
pub(super) fn versioning_settings(
    durable: Option<&Value>,
) -> Result<VersioningSettings, ConfigError> {
    let mut settings = VersioningSettings::default();
    let Some(durable) = durable else {
        return Ok(settings);
    };
    let text = |key: &str| match get_ci(durable, key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(json_text(v).trim().to_string()),
    };
    let name = |key: &str| format!("host.json extensions.durableTask.{key}");
    settings.versioning.default_version = text("defaultVersion").filter(|v| !v.is_empty());
    if let Some(s) = text("versionMatchStrategy") {
        settings.versioning.match_strategy = VersionMatchStrategy::parse(&s).ok_or_else(|| {
            invalid(
                &name("versionMatchStrategy"),
                &s,
                "None, Strict or CurrentOrOlder",
            )
        })?;
    }
    if let Some(s) = text("versionFailureStrategy") {
        settings.versioning.failure_strategy = VersionFailureStrategy::parse(&s)
            .ok_or_else(|| invalid(&name("versionFailureStrategy"), &s, "Reject or Fail"))?;
    }
    if let Some(s) = text("missingFunctionTimeout") {
        settings.missing_function_timeout =
            parse_timespan(&s).filter(|d| !d.is_zero()).ok_or_else(|| {
                invalid(
                    &name("missingFunctionTimeout"),
                    &s,
                    "a positive time span such as 01:00:00 or 1.00:00:00",
                )
            })?;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_settings_and_keeps_defaults() {
        let v = json!({"DefaultVersion": "2.0", "versionMatchStrategy": "strict",
            "versionFailureStrategy": "Fail", "missingFunctionTimeout": "00:10:00"});
        let s = versioning_settings(Some(&v)).unwrap();
        assert_eq!(s.versioning.default_version.as_deref(), Some("2.0"));
        assert_eq!(s.versioning.match_strategy, VersionMatchStrategy::Strict);
        assert_eq!(s.versioning.failure_strategy, VersionFailureStrategy::Fail);
        assert_eq!(s.missing_function_timeout, Duration::from_secs(600));
        let empty = versioning_settings(Some(&json!({}))).unwrap();
        assert_eq!(empty, VersioningSettings::default());
        // a number is a version too
        let n = versioning_settings(Some(&json!({"defaultVersion": 3}))).unwrap();
        assert_eq!(n.versioning.default_version.as_deref(), Some("3"));
    }

    #[test]
    fn bad_values_name_the_setting() {
        for (key, value) in [
            ("versionMatchStrategy", "Newest"),
            ("versionFailureStrategy", "Retry"),
            ("missingFunctionTimeout", "soon"),
            ("missingFunctionTimeout", "00:00:00"),
        ] {
            let e = versioning_settings(Some(&json!({ key: value }))).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }
}
