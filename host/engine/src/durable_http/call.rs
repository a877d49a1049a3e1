//! `ctx.call_http(request)`: one call of the built-in HTTP activity, then, while the answer is
//! `202 Accepted` with a `Location`, a durable timer and a `GET` of that location; all of it
//! raced against one durable timer when the request has a timeout.

use std::future::Future;

use futures::future::{self, Either};

use super::{DurableHttpRequest, DurableHttpResponse, HttpOptions, HTTP_ACTIVITY};
use crate::context::OrchestrationContext;
use crate::failure::TaskError;
use crate::futures::DurableTask;

impl OrchestrationContext {
    /// Sends an HTTP request durably (Durable Functions' `CallHttpAsync`) and returns the
    /// final answer: the request and each answer are recorded in history, and a `202
    /// Accepted` with a `Location` is polled on durable timers until the answer is something
    /// else (see [`crate::durable_http`]).
    ///
    /// Every status is an answer, `4xx` and `5xx` included. The call fails with
    /// [`TaskError::InvalidHttpRequest`] for a method, URI or header that cannot be sent
    /// (before anything is scheduled), [`TaskError::Failed`] with the type
    /// [`HTTP_REQUEST_FAILED`](super::HTTP_REQUEST_FAILED) when a request gets no answer
    /// (connection refused, unknown host), and [`TaskError::TimedOut`] when the request's
    /// timeout passes before the final answer.
    ///
    /// The first request (and the timeout's timer) is scheduled when this is called, like
    /// any activity call; the polling happens as the returned future is awaited.
    pub fn call_http(
        &self,
        request: DurableHttpRequest,
    ) -> impl Future<Output = Result<DurableHttpResponse, TaskError>> + Send + 'static {
        let started = request.validate().map(|()| {
            let first = self.send_http(&request);
            let deadline = request.timeout.map(|t| self.sleep(t));
            (first, deadline)
        });
        let ctx = self.clone();
        async move {
            let (first, deadline) = started.map_err(TaskError::InvalidHttpRequest)?;
            let what = format!("HTTP {} {}", request.method, request.display_uri());
            let timeout = request.timeout.unwrap_or_default();
            let answered = Box::pin(follow(ctx, request, first));
            let Some(deadline) = deadline else {
                return answered.await;
            };
            match future::select(answered, deadline).await {
                Either::Left((answer, _deadline)) => answer,
                // Dropping the polling cancels its timer; an answer still on its way is
                // ignored.
                Either::Right(((), _polling)) => Err(TaskError::TimedOut(format!(
                    "{what} ({} ms)",
                    timeout.as_millis()
                ))),
            }
        }
    }

    /// Schedules one run of the built-in HTTP activity, the request recorded in history.
    fn send_http(&self, request: &DurableHttpRequest) -> DurableTask<DurableHttpResponse> {
        self.schedule_task(HTTP_ACTIVITY, request, None, true)
    }

    /// The durable HTTP options of the host running this orchestration.
    fn http_options(&self) -> HttpOptions {
        self.state.lock().http
    }
}

/// Awaits the first answer and polls while it is a `202` with a `Location`.
async fn follow(
    ctx: OrchestrationContext,
    request: DurableHttpRequest,
    first: DurableTask<DurableHttpResponse>,
) -> Result<DurableHttpResponse, TaskError> {
    let mut answer = first.await?;
    while request.asynchronous_pattern_enabled && answer.status_code == 202 {
        let Some(location) = answer.header("Location").filter(|l| !l.trim().is_empty()) else {
            break; // nothing to poll: the 202 is the answer
        };
        let poll = request
            .poll_of(location)
            .map_err(TaskError::InvalidHttpRequest)?;
        let wait = answer
            .retry_after(ctx.current_utc_datetime())
            .or(request.polling_interval)
            .unwrap_or_else(|| ctx.http_options().default_async_request_sleep);
        if !ctx.is_replaying() {
            tracing::debug!(
                uri = %poll.display_uri(),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "durable HTTP: 202 Accepted; polling its Location after a durable timer"
            );
        }
        ctx.sleep(wait).await;
        answer = ctx.send_http(&poll).await?;
    }
    Ok(answer)
}
