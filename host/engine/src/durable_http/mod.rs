//! Durable HTTP: `ctx.call_http(request)`, Durable Functions' `CallHttpAsync`.
//!
//! The request is sent by a built-in activity, [`HTTP_ACTIVITY`], that every host registers,
//! so it is recorded in history like any activity call: the `TaskScheduled` event's input is
//! the [`DurableHttpRequest`] and the `TaskCompleted` event's result the
//! [`DurableHttpResponse`]. A replay reads the answer from history instead of sending again.
//!
//! The asynchronous pattern is followed in orchestrator code, durably: while the answer is
//! `202 Accepted` with a `Location` header, the orchestrator waits on a durable timer (the
//! answer's `Retry-After`, else the request's polling interval, else the host's
//! [`HttpOptions::default_async_request_sleep`]) and then sends `GET Location`. A host that
//! stops meanwhile leaves a timer in the task hub, and the next host goes on polling from
//! there; nothing already answered is sent again.

use std::time::Duration;

mod call;
mod headers;
mod request;
mod response;
mod timespan;

pub use request::{DurableHttpRequest, HttpRequestError};
pub use response::DurableHttpResponse;

/// The name of the built-in activity that sends durable HTTP requests (Durable Functions'
/// name for it).
pub const HTTP_ACTIVITY: &str = "BuiltIn::HttpActivity";

/// The failure type of a durable HTTP request that got no answer (connection refused, a
/// name that does not resolve, a connection closed before the answer, no answer in time).
pub const HTTP_REQUEST_FAILED: &str = "HttpRequestFailed";

/// The failure type of a durable HTTP request the host refused to send (its method, URI or
/// headers are not valid).
pub const INVALID_HTTP_REQUEST: &str = "InvalidHttpRequest";

/// Durable Functions' default wait between polls of a `202` answer without `Retry-After`.
pub const DEFAULT_ASYNC_REQUEST_SLEEP: Duration = Duration::from_secs(30);

/// How a host's orchestrations make durable HTTP requests (host.json
/// `extensions.durableTask.httpSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpOptions {
    /// The wait between polls of a `202` answer that has no `Retry-After` header, for requests
    /// that give no polling interval of their own (`defaultAsyncRequestSleepTimeMilliseconds`).
    pub default_async_request_sleep: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            default_async_request_sleep: DEFAULT_ASYNC_REQUEST_SLEEP,
        }
    }
}
