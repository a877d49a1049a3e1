//! Retry policies for activities and sub-orchestrations; the waits between attempts are
//! durable timers, so a retrying orchestration survives restarts like any other.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::context::{add_saturating, OrchestrationContext};
use super::failure::TaskError;
use super::function::{Activity, Orchestration};

/// When and how often to retry a failed call.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryOptions {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the second attempt.
    pub first_retry_interval: Duration,
    /// Each wait is the previous one times this.
    pub backoff_coefficient: f64,
    /// Upper bound of one wait.
    pub max_retry_interval: Option<Duration>,
    /// No new attempt starts after this much time since the first.
    pub retry_timeout: Option<Duration>,
}

impl RetryOptions {
    /// `max_attempts` attempts, `first_retry_interval` apart, no backoff.
    pub fn new(first_retry_interval: Duration, max_attempts: u32) -> Self {
        Self {
            max_attempts,
            first_retry_interval,
            backoff_coefficient: 1.0,
            max_retry_interval: None,
            retry_timeout: None,
        }
    }

    /// Sets the backoff coefficient.
    pub fn with_backoff(mut self, coefficient: f64) -> Self {
        self.backoff_coefficient = coefficient;
        self
    }

    /// Sets the maximum wait between attempts.
    pub fn with_max_interval(mut self, max: Duration) -> Self {
        self.max_retry_interval = Some(max);
        self
    }

    /// Sets the total retry timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = Some(timeout);
        self
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = self.backoff_coefficient.max(0.0).powi(attempt as i32 - 1);
        let secs = self.first_retry_interval.as_secs_f64() * factor;
        let d = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
        match self.max_retry_interval {
            Some(max) => d.min(max),
            None => d,
        }
    }
}

impl OrchestrationContext {
    /// Calls an activity, retrying failures per `retry`.
    pub async fn call_activity_with_retry<A: Activity>(
        &self,
        activity: A,
        retry: &RetryOptions,
        input: impl Into<A::Input>,
    ) -> Result<A::Output, TaskError> {
        let input = input.into();
        let first = self.call_activity_by_name(A::NAME, &input);
        drop(activity);
        self.retry_loop(A::NAME, retry, first, |ctx| {
            ctx.call_activity_by_name(A::NAME, &input)
        })
        .await
    }

    /// Calls an activity by name, retrying failures per `retry`.
    pub async fn call_activity_by_name_with_retry<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        name: &str,
        retry: &RetryOptions,
        input: &I,
    ) -> Result<O, TaskError> {
        let first = self.call_activity_by_name(name, input);
        self.retry_loop(name, retry, first, |ctx| {
            ctx.call_activity_by_name(name, input)
        })
        .await
    }

    /// Calls a sub-orchestration, retrying failures per `retry`. Every attempt uses the
    /// same child instance id (the first attempt's default if none is given).
    pub async fn call_sub_orchestrator_with_retry<O: Orchestration>(
        &self,
        orchestration: O,
        retry: &RetryOptions,
        instance_id: Option<&str>,
        input: impl Into<O::Input>,
    ) -> Result<O::Output, TaskError> {
        drop(orchestration);
        let input = input.into();
        let id = match instance_id {
            Some(id) => id.to_string(),
            None => {
                let st = self.state.lock();
                format!("{}:{}", st.execution_id, st.next_action_id)
            }
        };
        let options = || crate::context::SubOrchestrationOptions {
            instance_id: Some(id.clone()),
            version: O::VERSION.map(str::to_string),
        };
        let first = self.call_sub_orchestrator_with(O::NAME, options(), &input);
        self.retry_loop(O::NAME, retry, first, |ctx| {
            ctx.call_sub_orchestrator_with(O::NAME, options(), &input)
        })
        .await
    }

    /// Awaits `first`, then new attempts from `again` after the policy's waits; `task` names
    /// what is called, for the log line of each retry (written once, not again on replay).
    pub(crate) async fn retry_loop<O, F>(
        &self,
        task_name: &str,
        retry: &RetryOptions,
        first: F,
        mut again: impl FnMut(&OrchestrationContext) -> F,
    ) -> Result<O, TaskError>
    where
        F: std::future::Future<Output = Result<O, TaskError>>,
    {
        let started = self.current_utc_datetime();
        let mut attempt = 1;
        let mut task = first;
        loop {
            let err = match task.await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let non_retriable =
                matches!(&err, TaskError::Failed { details, .. } if details.is_non_retriable);
            if non_retriable || attempt >= retry.max_attempts.max(1) {
                return Err(err);
            }
            let wait = retry.delay_after(attempt);
            let fire_at = add_saturating(self.current_utc_datetime(), wait);
            if let Some(limit) = retry.retry_timeout {
                if fire_at > add_saturating(started, limit) {
                    return Err(err);
                }
            }
            if !self.is_replaying() {
                tracing::warn!(
                    task = task_name,
                    attempt,
                    max_attempts = retry.max_attempts,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %err,
                    "call failed; retrying"
                );
            }
            self.create_timer(fire_at).await;
            attempt += 1;
            task = again(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = RetryOptions::new(Duration::from_secs(1), 5)
            .with_backoff(2.0)
            .with_max_interval(Duration::from_secs(5));
        assert_eq!(r.delay_after(1), Duration::from_secs(1));
        assert_eq!(r.delay_after(2), Duration::from_secs(2));
        assert_eq!(r.delay_after(3), Duration::from_secs(4));
        assert_eq!(r.delay_after(4), Duration::from_secs(5));
    }
}
