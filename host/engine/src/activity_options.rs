//! Activity calls with a timeout (and a retry policy): `ctx.call_activity_with(f, &options,
//! input)`.
//!
//! A timeout is enforced twice. The orchestrator races the call against a durable timer, so
//! it moves on even if the activity's host is gone, and a late answer is ignored; and the call
//! carries the timeout to the host that runs it, which drops (cancels) the run's future at that
//! time and answers [`ACTIVITY_TIMEOUT`](crate::failure::ACTIVITY_TIMEOUT). Either way the
//! orchestrator sees [`TaskError::TimedOut`], which a retry policy retries like any failure.

use std::time::Duration;

use futures::future::{self, Either};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::context::OrchestrationContext;
use super::failure::TaskError;
use super::function::Activity;
use super::history::Tags;
use super::retry::RetryOptions;

/// The tag of a `TaskScheduled` message that carries the call's timeout, in milliseconds.
pub const TIMEOUT_TAG: &str = "durable.timeoutMs";

/// How an activity is called.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityOptions {
    /// How long one attempt may take; then it fails with [`TaskError::TimedOut`] and its run
    /// is cancelled on its host.
    pub timeout: Option<Duration>,
    /// Attempts after a failure (a timeout included).
    pub retry: Option<RetryOptions>,
}

impl ActivityOptions {
    /// No timeout, no retries.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same options with a timeout per attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The same options with a retry policy.
    pub fn with_retry(mut self, retry: RetryOptions) -> Self {
        self.retry = Some(retry);
        self
    }
}

/// The tags of a call with `timeout`.
pub(crate) fn timeout_tags(timeout: Duration) -> Tags {
    // at least a millisecond: a shorter timeout must not read as none at all
    let ms = timeout.as_millis().max(1);
    Tags::from([(TIMEOUT_TAG.to_string(), ms.to_string())])
}

/// The timeout a `TaskScheduled` message's tags carry, if any.
pub fn timeout_of(tags: Option<&Tags>) -> Option<Duration> {
    tags?
        .get(TIMEOUT_TAG)?
        .parse()
        .ok()
        .map(Duration::from_millis)
}

impl OrchestrationContext {
    /// Calls an activity with `options`; input and output types are checked against its
    /// signature.
    pub async fn call_activity_with<A: Activity>(
        &self,
        _activity: A,
        options: &ActivityOptions,
        input: impl Into<A::Input>,
    ) -> Result<A::Output, TaskError> {
        self.call_activity_by_name_with(A::NAME, options, &input.into())
            .await
    }

    /// Calls an activity by name with `options`.
    pub async fn call_activity_by_name_with<I, O>(
        &self,
        name: &str,
        options: &ActivityOptions,
        input: &I,
    ) -> Result<O, TaskError>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        let attempt = |ctx: &OrchestrationContext| {
            let ctx = ctx.clone();
            let call = ctx.schedule_activity::<I, O>(name, input, options.timeout);
            let timer = options.timeout.map(|t| ctx.sleep(t));
            Box::pin(async move {
                let Some(timer) = timer else {
                    return call.await;
                };
                match future::select(call, timer).await {
                    Either::Left((result, _timer)) => result,
                    Either::Right(((), _call)) => Err(TaskError::TimedOut(format!(
                        "activity {name:?} ({} ms)",
                        options.timeout.unwrap_or_default().as_millis()
                    ))),
                }
            })
        };
        match &options.retry {
            None => attempt(self).await,
            Some(retry) => {
                let first = attempt(self);
                self.retry_loop(name, retry, first, attempt).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_travels_in_the_tags() {
        let tags = timeout_tags(Duration::from_millis(1500));
        assert_eq!(timeout_of(Some(&tags)), Some(Duration::from_millis(1500)));
        assert_eq!(timeout_of(None), None);
        assert_eq!(timeout_of(Some(&Tags::new())), None);
    }
}
