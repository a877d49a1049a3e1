//! host.json `singleton`: how long a timer function's lock lasts and how often other hosts
//! try to take it (`listenerLockPeriod`, `listenerLockRecoveryPollingInterval`, as in Azure
//! Functions). Absent keys keep the defaults (a minute each).

use serde_json::Value;

use super::files::{get_ci, json_text};
use super::{invalid, parse_timespan, ConfigError};
use crate::triggers::timer::SingletonSettings;

/// Reads the `singleton` object of host.json.
pub(super) fn singleton_settings(host_json: &Value) -> Result<SingletonSettings, ConfigError> {
    let mut settings = SingletonSettings::default();
    let Some(section) = get_ci(host_json, "singleton") else {
        return Ok(settings);
    };
    let span = |key: &str,
                range: (u64, u64),
                expected: &'static str|
     -> Result<Option<std::time::Duration>, ConfigError> {
        match get_ci(section, key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let text = json_text(v);
                match parse_timespan(&text) {
                    Some(d) if (range.0..=range.1).contains(&d.as_secs()) && !d.is_zero() => {
                        Ok(Some(d))
                    }
                    _ => Err(invalid(
                        &format!("host.json singleton.{key}"),
                        &text,
                        expected,
                    )),
                }
            }
        }
    };
    if let Some(d) = span(
        "listenerLockPeriod",
        (15, 60),
        "hh:mm:ss from 15 to 60 seconds",
    )? {
        settings.listener_lock_period = d;
    }
    if let Some(d) = span(
        "listenerLockRecoveryPollingInterval",
        (1, 3600),
        "hh:mm:ss from 1 second to an hour",
    )? {
        settings.recovery_interval = d;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn reads_the_lock_timing_and_rejects_bad_values() {
        assert_eq!(
            singleton_settings(&json!({})).unwrap(),
            SingletonSettings::default()
        );
        let s = singleton_settings(&json!({"singleton": {
            "listenerLockPeriod": "00:00:15",
            "ListenerLockRecoveryPollingInterval": "00:00:02",
        }}))
        .unwrap();
        assert_eq!(s.listener_lock_period, Duration::from_secs(15));
        assert_eq!(s.recovery_interval, Duration::from_secs(2));
        for bad in [
            json!({"singleton": {"listenerLockPeriod": "00:00:05"}}),
            json!({"singleton": {"listenerLockPeriod": "00:02:00"}}),
            json!({"singleton": {"listenerLockRecoveryPollingInterval": "never"}}),
        ] {
            let e = singleton_settings(&bad).unwrap_err();
            assert!(e.to_string().contains("singleton"), "{e}");
        }
    }
}
