//! [`DurableHttpResponse`]: the answer a durable HTTP request got, as recorded in history.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::headers;

/// The answer to a [`DurableHttpRequest`](super::DurableHttpRequest). Every status is an
/// answer, `4xx` and `5xx` included; only a request that got no answer fails the call.
///
/// In JSON (the result of the activity's `TaskCompleted` event) it has Durable Functions'
/// shape: `{"statusCode", "headers", "content"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableHttpResponse {
    /// The status code, such as 200.
    pub status_code: u16,
    /// Headers as (name, value) pairs, in the order received; a name may repeat.
    #[serde(default, with = "headers")]
    pub headers: Vec<(String, String)>,
    /// The body as text (bytes that are not UTF-8 read as U+FFFD); empty when there is none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: String,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl DurableHttpResponse {
    /// An answer with `status_code`, no headers and no body (for stubs in tests).
    pub fn new(status_code: u16) -> Self {
        Self {
            status_code,
            headers: Vec::new(),
            content: String::new(),
        }
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same answer with `content` as the body.
    pub fn with_content(mut self, content: impl Into<String>) -> Self {
        self.content = content.into();
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::first(&self.headers, name)
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        headers::all(&self.headers, name)
    }

    /// True for a `2xx` status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status_code)
    }

    /// The wait the `Retry-After` header asks for, seen at `now`: a number of seconds, or an
    /// HTTP date (a date already past is no wait). `None` without a readable header.
    pub fn retry_after(&self, now: DateTime<Utc>) -> Option<Duration> {
        let value = self.header("Retry-After")?.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        Some((at - now).to_std().unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_shape() {
        let r = DurableHttpResponse::new(202)
            .with_header("Location", "/s")
            .with_content("queued");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"statusCode": 202, "headers": {"Location": "/s"}, "content": "queued"})
        );
        let df: DurableHttpResponse =
            serde_json::from_value(json!({"statusCode": 204, "headers": null, "content": null}))
                .unwrap();
        assert_eq!(df, DurableHttpResponse::new(204));
        assert!(df.is_success() && !DurableHttpResponse::new(404).is_success());
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let with = |v: &str| DurableHttpResponse::new(202).with_header("retry-after", v);
        assert_eq!(with("5").retry_after(now), Some(Duration::from_secs(5)));
        assert_eq!(
            with("Wed, 21 Oct 2015 07:28:10 GMT").retry_after(now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            with("Wed, 21 Oct 2015 07:27:00 GMT").retry_after(now),
            Some(Duration::ZERO)
        );
        assert_eq!(with("soon").retry_after(now), None);
        assert_eq!(with("-1").retry_after(now), None);
        assert_eq!(DurableHttpResponse::new(202).retry_after(now), None);
    }
}
