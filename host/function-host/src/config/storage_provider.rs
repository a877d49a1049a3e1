//! host.json `extensions.durableTask.storageProvider`: how the Azure Storage task hub is
//! partitioned and leased. Absent keys keep the store's defaults.

use std::time::Duration;

use serde_json::Value;

use super::files::{get_ci, json_text};
use super::{invalid, parse_timespan, ConfigError};

/// The storage provider settings, as written in host.json.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageProviderSettings {
    /// `partitionCount` (1–16).
    pub partition_count: Option<u32>,
    /// `controlQueueVisibilityTimeout`.
    pub control_queue_visibility: Option<Duration>,
    /// `workItemQueueVisibilityTimeout`.
    pub work_item_visibility: Option<Duration>,
    /// `leaseInterval`: how long a partition lease lasts without renewal (15–60 s).
    pub lease_interval: Option<Duration>,
    /// `leaseRenewInterval`.
    pub lease_renew_interval: Option<Duration>,
    /// `leaseAcquireInterval`: how often leases are balanced.
    pub lease_acquire_interval: Option<Duration>,
    /// `maxQueuePollingInterval`: the longest pause between polls of idle queues.
    pub max_queue_polling_interval: Option<Duration>,
}

impl StorageProviderSettings {
    /// Reads the `storageProvider` object (`None`: all defaults).
    pub fn from_json(provider: Option<&Value>) -> Result<Self, ConfigError> {
        let Some(provider) = provider else {
            return Ok(Self::default());
        };
        let span = |key: &str| -> Result<Option<Duration>, ConfigError> {
            match get_ci(provider, key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    let text = json_text(v);
                    match parse_timespan(&text) {
                        Some(d) if !d.is_zero() => Ok(Some(d)),
                        _ => Err(invalid(
                            &format!("host.json extensions.durableTask.storageProvider.{key}"),
                            &text,
                            "a positive hh:mm:ss",
                        )),
                    }
                }
            }
        };
        let partition_count = match get_ci(provider, "partitionCount") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let text = json_text(v);
                match text.trim().parse::<u32>() {
                    Ok(n) if (1..=16).contains(&n) => Some(n),
                    _ => {
                        return Err(invalid(
                            "host.json extensions.durableTask.storageProvider.partitionCount",
                            &text,
                            "a whole number from 1 to 16",
                        ))
                    }
                }
            }
        };
        Ok(Self {
            partition_count,
            control_queue_visibility: span("controlQueueVisibilityTimeout")?,
            work_item_visibility: span("workItemQueueVisibilityTimeout")?,
            lease_interval: span("leaseInterval")?,
            lease_renew_interval: span("leaseRenewInterval")?,
            lease_acquire_interval: span("leaseAcquireInterval")?,
            max_queue_polling_interval: span("maxQueuePollingInterval")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_keys_and_rejects_bad_values() {
        let s = StorageProviderSettings::from_json(Some(&json!({
            "partitionCount": 3,
            "ControlQueueVisibilityTimeout": "00:00:20",
            "leaseInterval": "00:00:15",
            "maxQueuePollingInterval": "00:00:05",
        })))
        .unwrap();
        assert_eq!(s.partition_count, Some(3));
        assert_eq!(s.control_queue_visibility, Some(Duration::from_secs(20)));
        assert_eq!(s.lease_interval, Some(Duration::from_secs(15)));
        assert_eq!(s.work_item_visibility, None);
        assert_eq!(s.max_queue_polling_interval, Some(Duration::from_secs(5)));

        for bad in [
            json!({"partitionCount": 0}),
            json!({"partitionCount": 17}),
            json!({"leaseInterval": "soon"}),
            json!({"workItemQueueVisibilityTimeout": "00:00:00"}),
            json!({"maxQueuePollingInterval": "00:00:00"}),
        ] {
            let e = StorageProviderSettings::from_json(Some(&bad)).unwrap_err();
            assert!(e.to_string().contains("storageProvider"), "{e}");
        }
    }
}
