//! host.json `extensions.queues` and `extensions.blobs`: the queue and blob triggers'
//! settings.

use std::time::Duration;

use serde_json::Value;

use super::files::{get_ci, json_text};
use super::{invalid, parse_timespan, ConfigError};
use crate::triggers::options::{BlobOptions, MessageEncoding, QueueOptions};

/// The largest `batchSize` (what one get can return).
const MAX_BATCH: usize = 32;

/// Reads `extensions.queues` (defaults for what is absent).
pub fn queue_options(host_json: &Value) -> Result<QueueOptions, ConfigError> {
    let mut options = QueueOptions::default();
    let Some(queues) = get_ci(host_json, "extensions").and_then(|e| get_ci(e, "queues")) else {
        return Ok(options);
    };
    let key = |k: &str| get_ci(queues, k).filter(|v| !v.is_null());
    if let Some(v) = key("batchSize") {
        let text = json_text(v);
        options.batch_size = match text.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_BATCH).contains(&n) => n,
            _ => {
                return Err(invalid(
                    "host.json extensions.queues.batchSize",
                    &text,
                    "a whole number from 1 to 32",
                ))
            }
        };
    }
    if let Some(v) = key("maxDequeueCount") {
        let text = json_text(v);
        options.max_dequeue_count = match text.trim().parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(invalid(
                    "host.json extensions.queues.maxDequeueCount",
                    &text,
                    "a positive whole number",
                ))
            }
        };
    }
    if let Some(v) = key("visibilityTimeout") {
        options.visibility_timeout = duration(v, "host.json extensions.queues.visibilityTimeout")?;
    }
    if let Some(v) = key("maxPollingInterval") {
        let name = "host.json extensions.queues.maxPollingInterval";
        options.max_polling_interval = positive(duration(v, name)?, v, name)?;
    }
    if let Some(v) = key("messageEncoding") {
        let text = json_text(v);
        options.message_encoding = match text.trim().to_ascii_lowercase().as_str() {
            "base64" => MessageEncoding::Base64,
            "none" => MessageEncoding::None,
            _ => {
                return Err(invalid(
                    "host.json extensions.queues.messageEncoding",
                    &text,
                    "\"base64\" or \"none\"",
                ))
            }
        };
    }
    Ok(options)
}

/// Reads `extensions.blobs` (defaults for what is absent).
pub fn blob_options(host_json: &Value) -> Result<BlobOptions, ConfigError> {
    let mut options = BlobOptions::default();
    let interval = get_ci(host_json, "extensions")
        .and_then(|e| get_ci(e, "blobs"))
        .and_then(|b| get_ci(b, "maxPollingInterval"))
        .filter(|v| !v.is_null());
    if let Some(v) = interval {
        let name = "host.json extensions.blobs.maxPollingInterval";
        options.max_polling_interval = positive(duration(v, name)?, v, name)?;
    }
    Ok(options)
}

/// A `hh:mm:ss[.fff]` string, or a number of milliseconds (Azure Functions accepts both).
fn duration(v: &Value, name: &str) -> Result<Duration, ConfigError> {
    let text = json_text(v);
    let parsed = match v {
        Value::Number(n) => n.as_u64().map(Duration::from_millis),
        _ => parse_timespan(&text),
    };
    parsed.ok_or_else(|| invalid(name, &text, "hh:mm:ss or a number of milliseconds"))
}

fn positive(d: Duration, v: &Value, name: &str) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        return Err(invalid(name, &json_text(v), "a duration above zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_when_absent() {
        assert_eq!(queue_options(&json!({})).unwrap(), QueueOptions::default());
        assert_eq!(blob_options(&json!({})).unwrap(), BlobOptions::default());
    }

    #[test]
    fn reads_every_queue_setting() {
        let host = json!({"extensions": {"queues": {
            "batchSize": 4, "maxDequeueCount": "2", "visibilityTimeout": "00:00:03",
            "maxPollingInterval": 500, "messageEncoding": "None"
        }, "blobs": {"maxPollingInterval": "00:00:01"}}});
        let q = queue_options(&host).unwrap();
        assert_eq!(q.batch_size, 4);
        assert_eq!(q.max_dequeue_count, 2);
        assert_eq!(q.visibility_timeout, Duration::from_secs(3));
        assert_eq!(q.max_polling_interval, Duration::from_millis(500));
        assert_eq!(q.message_encoding, MessageEncoding::None);
        let b = blob_options(&host).unwrap();
        assert_eq!(b.max_polling_interval, Duration::from_secs(1));
    }

    #[test]
    fn bad_values_name_the_setting() {
        for bad in [
            json!({"batchSize": 33}),
            json!({"maxDequeueCount": 0}),
            json!({"visibilityTimeout": "soon"}),
            json!({"maxPollingInterval": 0}),
            json!({"messageEncoding": "utf8"}),
        ] {
            let key = bad.as_object().unwrap().keys().next().unwrap().clone();
            let err = queue_options(&json!({"extensions": {"queues": bad}})).unwrap_err();
            assert!(err.to_string().contains(&key), "{err}");
        }
    }
}
