//! host.json `extensions.durableTask.activities`: settings per activity, by name.
//!
//! ```json
//! { "extensions": { "durableTask": { "activities": { "charge_card": { "timeout": "00:00:30" } } } } }
//! ```
//!
//! `timeout` cancels a run of the activity that takes longer (for calls that name no timeout
//! of their own); the orchestrator sees a timeout error.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::files::{get_ci, json_text};
use super::{invalid, parse_timespan, ConfigError};

/// The timeouts of activities by lower-cased name.
pub(super) fn activity_timeouts(
    durable: Option<&Value>,
) -> Result<HashMap<String, Duration>, ConfigError> {
    let mut timeouts = HashMap::new();
    let Some(section) = durable.and_then(|d| get_ci(d, "activities")) else {
        return Ok(timeouts);
    };
    let Some(activities) = section.as_object() else {
        return Err(invalid(
            "host.json extensions.durableTask.activities",
            &json_text(section),
            "an object of settings by activity name",
        ));
    };
    for (name, settings) in activities {
        let Some(timeout) = get_ci(settings, "timeout") else {
            continue;
        };
        let text = json_text(timeout);
        let parsed = parse_timespan(&text)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                invalid(
                    &format!("host.json extensions.durableTask.activities.{name}.timeout"),
                    &text,
                    "a positive time span such as 00:00:30",
                )
            })?;
        timeouts.insert(name.to_lowercase(), parsed);
    }
    Ok(timeouts)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn timeouts_by_name() {
        let v = json!({"activities": {"Charge_Card": {"timeout": "00:00:30"}, "other": {}}});
        let t = activity_timeouts(Some(&v)).unwrap();
        assert_eq!(t["charge_card"], Duration::from_secs(30));
        assert_eq!(t.len(), 1);
        assert!(activity_timeouts(None).unwrap().is_empty());
        let bad = json!({"activities": {"x": {"timeout": "soon"}}});
        assert!(activity_timeouts(Some(&bad))
            .unwrap_err()
            .to_string()
            .contains("activities.x.timeout"));
    }
}
