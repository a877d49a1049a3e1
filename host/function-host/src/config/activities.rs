//! host.json `extensions.durableTask.activities`: settings per activity, by name.
//!
//! ```json
//! { "extensions": { "durableTask": { "activities": {
//!     "charge_card": { "timeout": "00:00:30", "maxConcurrent": 5, "maxPerSecond": 100 } } } } }
//! ```
//!
//! - `timeout` cancels a run of the activity that takes longer (for calls that name no
//!   timeout of their own); the orchestrator sees a timeout error.
//! - `maxConcurrent`: runs of the activity at once on each host.
//! - `maxPerSecond`: runs of the activity started per second on each host (a fraction is
//!   allowed: `0.5` is one every two seconds).
//!
//! The two limits override those of `#[activity_trigger(max_concurrent = ..,
//! max_per_second = ..)]`, each on its own.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use durable_runtime::ActivityLimits;

use super::files::{get_ci, json_text};
use super::{invalid, parse_timespan, ConfigError};

/// The settings of activities, by lower-cased name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivitySettings {
    /// `timeout`.
    pub timeouts: HashMap<String, Duration>,
    /// `maxConcurrent` and `maxPerSecond`.
    pub limits: HashMap<String, ActivityLimits>,
}

/// The `activities` section of `extensions.durableTask`.
pub(super) fn activity_settings(durable: Option<&Value>) -> Result<ActivitySettings, ConfigError> {
    let mut settings = ActivitySettings::default();
    let Some(section) = durable.and_then(|d| get_ci(d, "activities")) else {
        return Ok(settings);
    };
    let Some(activities) = section.as_object() else {
        return Err(invalid(
            "host.json extensions.durableTask.activities",
            &json_text(section),
            "an object of settings by activity name",
        ));
    };
    for (name, one) in activities {
        let key = name.to_lowercase();
        let setting =
            |field: &str| format!("host.json extensions.durableTask.activities.{name}.{field}");
        if let Some(timeout) = get_ci(one, "timeout") {
            let text = json_text(timeout);
            let parsed = parse_timespan(&text)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    invalid(
                        &setting("timeout"),
                        &text,
                        "a positive time span such as 00:00:30",
                    )
                })?;
            settings.timeouts.insert(key.clone(), parsed);
        }
        let max_concurrent = get_ci(one, "maxConcurrent")
            .map(|v| {
                v.as_u64()
                    .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        invalid(
                            &setting("maxConcurrent"),
                            &json_text(v),
                            "a whole number of at least 1",
                        )
                    })
            })
            .transpose()?;
        let max_per_second = get_ci(one, "maxPerSecond")
            .map(|v| {
                v.as_f64()
                    .filter(|r| r.is_finite() && *r >= 0.001 && *r <= 1_000_000.0)
                    .ok_or_else(|| {
                        invalid(
                            &setting("maxPerSecond"),
                            &json_text(v),
                            "a number of runs per second from 0.001 to 1000000, such as 100 or 0.5",
                        )
                    })
            })
            .transpose()?;
        let limits = ActivityLimits {
            max_concurrent,
            max_per_second,
        };
        if limits.is_limited() {
            settings.limits.insert(key, limits);
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn timeouts_by_name() {
        let v = json!({"activities": {"Charge_Card": {"timeout": "00:00:30"}, "other": {}}});
        let s = activity_settings(Some(&v)).unwrap();
        assert_eq!(s.timeouts["charge_card"], Duration::from_secs(30));
        assert_eq!(s.timeouts.len(), 1);
        assert!(s.limits.is_empty());
        assert!(activity_settings(None).unwrap().timeouts.is_empty());
        let bad = json!({"activities": {"x": {"timeout": "soon"}}});
        assert!(activity_settings(Some(&bad))
            .unwrap_err()
            .to_string()
            .contains("activities.x.timeout"));
    }

    #[test]
    fn limits_by_name() {
        let v = json!({"activities": {
            "Charge": {"maxConcurrent": 5, "MAXPERSECOND": 0.5},
            "send": {"maxPerSecond": 100},
        }});
        let s = activity_settings(Some(&v)).unwrap();
        assert_eq!(
            s.limits["charge"],
            ActivityLimits {
                max_concurrent: Some(5),
                max_per_second: Some(0.5)
            }
        );
        assert_eq!(s.limits["send"].max_concurrent, None);
        for bad in [
            json!({"activities": {"x": {"maxConcurrent": 0}}}),
            json!({"activities": {"x": {"maxConcurrent": 2.5}}}),
            json!({"activities": {"x": {"maxConcurrent": "5"}}}),
            json!({"activities": {"x": {"maxPerSecond": 0}}}),
            json!({"activities": {"x": {"maxPerSecond": -1}}}),
        ] {
            let e = activity_settings(Some(&bad)).unwrap_err().to_string();
            assert!(e.contains("activities.x.max"), "{e}");
        }
    }
}
