//! [`DurableHttpRequest`]: what an orchestrator asks the host to send, and the checks it
//! passes before anything is scheduled.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{headers, timespan};

/// An HTTP request made durably by [`call_http`](crate::context::OrchestrationContext::call_http):
/// the host sends it from a built-in activity, and the request and its response are recorded
/// in the orchestration's history.
///
/// In JSON (the input of the activity's `TaskScheduled` event) it has Durable Functions'
/// shape: `{"method", "uri", "headers", "content", "asynchronousPatternEnabled", "timeout"}`,
/// plus `pollingInterval` when one is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurableHttpRequest {
    /// The method, such as `GET` or `POST`.
    pub method: String,
    /// The absolute `http` or `https` URI.
    pub uri: String,
    /// Headers as (name, value) pairs, in order; a name may repeat. They are recorded in
    /// history, so they should carry no secrets.
    #[serde(default, with = "headers")]
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Follow the asynchronous pattern: poll the `Location` of a `202 Accepted` answer until
    /// the answer is something else (default true).
    #[serde(default = "enabled")]
    pub asynchronous_pattern_enabled: bool,
    /// How long the request and all its polling may take together; then the call fails with
    /// [`TaskError::TimedOut`](crate::failure::TaskError::TimedOut).
    #[serde(
        default,
        with = "timespan::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// The wait between polls when a `202` answer has no `Retry-After` header; by default the
    /// host's `defaultAsyncRequestSleepTimeMilliseconds`.
    #[serde(
        default,
        with = "timespan::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub polling_interval: Option<Duration>,
}

fn enabled() -> bool {
    true
}

/// Why a durable HTTP request cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpRequestError {
    /// The method is not an HTTP token.
    #[error("{method:?} is not a valid HTTP method")]
    Method {
        /// The method given.
        method: String,
    },
    /// The URI is not an absolute `http` or `https` URI.
    #[error("{uri:?} is not an absolute http or https URI: {reason}")]
    Uri {
        /// The URI given.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name is not an HTTP token.
    #[error("{name:?} is not a valid HTTP header name")]
    HeaderName {
        /// The name given.
        name: String,
    },
    /// A header value holds characters a header cannot carry (such as a line break); the
    /// value itself is not repeated here, as it may be a secret.
    #[error("the value of header {name:?} is not a valid HTTP header value")]
    HeaderValue {
        /// The header's name.
        name: String,
    },
    /// A `202 Accepted` answer's `Location` cannot be polled.
    #[error("the Location {location:?} of the 202 answer to {uri} cannot be polled: {reason}")]
    Location {
        /// The request that was answered (without its query).
        uri: String,
        /// The `Location` header's value.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl DurableHttpRequest {
    /// A request with `method` to `uri`, no headers and no body, following the asynchronous
    /// pattern, without a timeout.
    pub fn new(method: impl Into<String>, uri: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            uri: uri.into(),
            headers: Vec::new(),
            content: None,
            asynchronous_pattern_enabled: true,
            timeout: None,
            polling_interval: None,
        }
    }

    /// `GET uri`.
    pub fn get(uri: impl Into<String>) -> Self {
        Self::new("GET", uri)
    }

    /// `POST uri` with `content` as the body.
    pub fn post(uri: impl Into<String>, content: impl Into<String>) -> Self {
        Self::new("POST", uri).with_content(content)
    }

    /// `PUT uri` with `content` as the body.
    pub fn put(uri: impl Into<String>, content: impl Into<String>) -> Self {
        Self::new("PUT", uri).with_content(content)
    }

    /// `DELETE uri`.
    pub fn delete(uri: impl Into<String>) -> Self {
        Self::new("DELETE", uri)
    }

    /// The same request with one more header (a name may be given several times).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same request with `content` as the body.
    pub fn with_content(mut self, content: impl Into<String>) -> Self {
        self.content = Some(content.into());
        self
    }

    /// The same request with a timeout for the request and all its polling together.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The same request with its own wait between polls (for `202` answers without
    /// `Retry-After`).
    pub fn with_polling_interval(mut self, interval: Duration) -> Self {
        self.polling_interval = Some(interval);
        self
    }

    /// The same request, following the asynchronous pattern (`true`, the default) or
    /// returning a `202` answer as it is (`false`).
    pub fn with_asynchronous_pattern(mut self, enabled: bool) -> Self {
        self.asynchronous_pattern_enabled = enabled;
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::first(&self.headers, name)
    }

    /// Checks the method, the URI and the headers: what the host would refuse to send.
    pub fn validate(&self) -> Result<(), HttpRequestError> {
        if http::Method::from_bytes(self.method.as_bytes()).is_err() {
            return Err(HttpRequestError::Method {
                method: self.method.clone(),
            });
        }
        self.absolute_uri()?;
        for (name, value) in &self.headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(HttpRequestError::HeaderName { name: name.clone() });
            }
            if http::HeaderValue::from_str(value).is_err() {
                return Err(HttpRequestError::HeaderValue { name: name.clone() });
            }
        }
        Ok(())
    }

    /// The URI, parsed; an error unless it is an absolute `http` or `https` URI with a host.
    pub fn absolute_uri(&self) -> Result<url::Url, HttpRequestError> {
        let bad = |reason: String| HttpRequestError::Uri {
            uri: self.uri.clone(),
            reason,
        };
        let uri = url::Url::parse(self.uri.trim()).map_err(|e| bad(e.to_string()))?;
        check_http(&uri).map_err(bad)?;
        Ok(uri)
    }

    /// The request that polls `location` (from a `202` answer to this one): a `GET` of it,
    /// resolved against this request's URI when relative, with this request's headers.
    pub(crate) fn poll_of(&self, location: &str) -> Result<Self, HttpRequestError> {
        let bad = |reason: String| HttpRequestError::Location {
            uri: self.display_uri(),
            location: location.to_string(),
            reason,
        };
        let base = self.absolute_uri()?;
        let target = base.join(location.trim()).map_err(|e| bad(e.to_string()))?;
        check_http(&target).map_err(bad)?;
        Ok(Self {
            method: "GET".to_string(),
            uri: target.to_string(),
            content: None,
            ..self.clone()
        })
    }

    /// The URI without its query and fragment, for messages and logs (a query may carry a
    /// secret, such as a signature).
    pub fn display_uri(&self) -> String {
        match url::Url::parse(self.uri.trim()) {
            Ok(mut uri) => {
                uri.set_query(None);
                uri.set_fragment(None);
                uri.to_string()
            }
            Err(_) => self.uri.split(['?', '#']).next().unwrap_or("").to_string(),
        }
    }
}

/// An error unless `uri` is `http` or `https` with a host.
fn check_http(uri: &url::Url) -> Result<(), String> {
    if !matches!(uri.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme is {:?}; only http and https are sent",
            uri.scheme()
        ));
    }
    if uri.host_str().is_none_or(str::is_empty) {
        return Err("it names no host".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn builders_and_json_shape() {
        let r = DurableHttpRequest::post("http://example.com/jobs", "{}")
            .with_header("Content-Type", "application/json")
            .with_timeout(Duration::from_secs(90));
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "method": "POST",
                "uri": "http://example.com/jobs",
                "headers": {"Content-Type": "application/json"},
                "content": "{}",
                "asynchronousPatternEnabled": true,
                "timeout": "00:01:30",
            })
        );
        let back: DurableHttpRequest =
            serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        // Durable Functions' minimal form
        let df: DurableHttpRequest = serde_json::from_value(
            json!({"method": "GET", "uri": "https://a.b/", "headers": null}),
        )
        .unwrap();
        assert_eq!(df, DurableHttpRequest::get("https://a.b/"));
        assert_eq!(r.header("content-type"), Some("application/json"));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let ok = DurableHttpRequest::get("https://example.com/a?b=c");
        assert_eq!(ok.validate(), Ok(()));
        let cases = [
            DurableHttpRequest::new("GE T", "http://a/"),
            DurableHttpRequest::new("", "http://a/"),
            DurableHttpRequest::get("not a uri"),
            DurableHttpRequest::get("/relative/path"),
            DurableHttpRequest::get("ftp://example.com/file"),
            DurableHttpRequest::get("file:///etc/passwd"),
            DurableHttpRequest::get("http://a/").with_header("bad name", "v"),
            DurableHttpRequest::get("http://a/").with_header("X-Ok", "line\r\nbreak"),
        ];
        let errors: Vec<_> = cases.iter().map(|c| c.validate().unwrap_err()).collect();
        assert!(matches!(errors[0], HttpRequestError::Method { .. }));
        assert!(matches!(errors[1], HttpRequestError::Method { .. }));
        for e in &errors[2..6] {
            assert!(matches!(e, HttpRequestError::Uri { .. }), "{e}");
        }
        assert!(matches!(errors[6], HttpRequestError::HeaderName { .. }));
        assert!(matches!(errors[7], HttpRequestError::HeaderValue { .. }));
        assert!(!errors[7].to_string().contains("line"), "{}", errors[7]);
    }

    #[test]
    fn a_poll_gets_the_location_resolved_against_the_request() {
        let r = DurableHttpRequest::post("http://h:81/api/jobs?x=1", "body")
            .with_header("Authorization", "Bearer t");
        let poll = |l: &str| r.poll_of(l).map(|p| p.uri);
        assert_eq!(poll("/status/7").unwrap(), "http://h:81/status/7");
        assert_eq!(poll("7/status").unwrap(), "http://h:81/api/7/status");
        assert_eq!(poll("https://other/s").unwrap(), "https://other/s");
        assert_eq!(poll("//other:9/s").unwrap(), "http://other:9/s");
        let p = r.poll_of("/s").unwrap();
        assert_eq!((p.method.as_str(), p.content.as_deref()), ("GET", None));
        assert_eq!(p.header("authorization"), Some("Bearer t"));
        assert!(matches!(
            r.poll_of("mailto:someone@example.com"),
            Err(HttpRequestError::Location { .. })
        ));
        assert!(matches!(
            r.poll_of("http://[::1"),
            Err(HttpRequestError::Location { .. })
        ));
    }

    #[test]
    fn the_display_uri_leaves_out_the_query() {
        let r = DurableHttpRequest::get("https://a.b/c?sig=secret#f");
        assert_eq!(r.display_uri(), "https://a.b/c");
        assert_eq!(DurableHttpRequest::get("x?sig=s").display_uri(), "x");
    }
}
