//! host.json `extensions.durableTask.httpSettings`: how durable HTTP requests
//! (`ctx.call_http`) poll, as in Durable Functions.
//!
//! ```json
//! { "extensions": { "durableTask": { "httpSettings": {
//!     "defaultAsyncRequestSleepTimeMilliseconds": 30000 } } } }
//! ```
//!
//! `defaultAsyncRequestSleepTimeMilliseconds` is the wait between polls of a `202 Accepted`
//! answer that has no `Retry-After` header, for requests that name no polling interval.

use std::time::Duration;

use serde_json::Value;

use durable_engine::durable_http::HttpOptions;

use super::files::{get_ci, json_text};
use super::{invalid, ConfigError};

/// The `httpSettings` section of `extensions.durableTask`, defaults where absent.
pub(super) fn http_options(durable: Option<&Value>) -> Result<HttpOptions, ConfigError> {
    let mut options = HttpOptions::default();
    let Some(section) = durable.and_then(|d| get_ci(d, "httpSettings")) else {
        return Ok(options);
    };
    if section.is_null() {
        return Ok(options);
    }
    if !section.is_object() {
        return Err(invalid(
            "host.json extensions.durableTask.httpSettings",
            &json_text(section),
            "an object of settings",
        ));
    }
    let key = "defaultAsyncRequestSleepTimeMilliseconds";
    match get_ci(section, key) {
        None | Some(Value::Null) => {}
        Some(v) => {
            // A number, or its text when it comes from an `AzureFunctionsJobHost__` setting.
            let text = json_text(v);
            let ms = text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or_else(|| {
                    invalid(
                        &format!("host.json extensions.durableTask.httpSettings.{key}"),
                        &text,
                        "a positive whole number of milliseconds",
                    )
                })?;
            options.default_async_request_sleep = Duration::from_millis(ms);
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_sleep_time_and_keeps_the_default() {
        let v = json!({"HttpSettings": {"defaultAsyncRequestSleepTimeMilliseconds": 1500,
            "useForwardedHost": false}});
        let o = http_options(Some(&v)).unwrap();
        assert_eq!(o.default_async_request_sleep, Duration::from_millis(1500));
        let text = json!({"httpSettings": {"defaultAsyncRequestSleepTimeMilliseconds": "250"}});
        let o = http_options(Some(&text)).unwrap();
        assert_eq!(o.default_async_request_sleep, Duration::from_millis(250));
        assert_eq!(http_options(None).unwrap(), HttpOptions::default());
        assert_eq!(
            http_options(Some(&json!({"httpSettings": {}}))).unwrap(),
            HttpOptions::default()
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        for bad in [
            json!({"httpSettings": {"defaultAsyncRequestSleepTimeMilliseconds": 0}}),
            json!({"httpSettings": {"defaultAsyncRequestSleepTimeMilliseconds": -5}}),
            json!({"httpSettings": {"defaultAsyncRequestSleepTimeMilliseconds": 1.5}}),
            json!({"httpSettings": {"defaultAsyncRequestSleepTimeMilliseconds": "soon"}}),
            json!({"httpSettings": 5}),
        ] {
            let e = http_options(Some(&bad)).unwrap_err().to_string();
            assert!(e.contains("httpSettings"), "{e}");
        }
    }
}
