//! Human interaction: ask for approval, then wait for `ApprovalEvent` or a 72-hour durable
//! timer, and escalate on timeout.

use std::time::Duration;

use durable::{activity_trigger, orchestration_trigger, Failure, OrchestrationContext, TaskError};
use serde::{Deserialize, Serialize};

/// The approval request.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// What is to be approved.
    #[serde(default)]
    pub subject: Option<String>,
    /// How long to wait for the decision (default 72 hours).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// Sends the request to the approver (here: a log line).
#[activity_trigger]
pub async fn request_approval(subject: String) -> Result<(), Failure> {
    tracing::info!(%subject, "approval requested");
    Ok(())
}

/// Tells a manager that nobody decided in time (here: a log line).
#[activity_trigger]
pub async fn escalate(subject: String) -> Result<(), Failure> {
    tracing::warn!(%subject, "approval timed out; escalated");
    Ok(())
}

/// Returns "approved", "rejected" or "escalated". An answer that is not `true` or `false`
/// (a person typed `"yes"`) does not end the workflow: the custom status says it was not
/// understood, and the wait goes on until the same deadline.
#[orchestration_trigger]
pub async fn approval_workflow(
    ctx: OrchestrationContext,
    request: Option<ApprovalRequest>,
) -> Result<String, Failure> {
    let request = request.unwrap_or_default();
    let subject = request.subject.unwrap_or_else(|| ctx.instance_id());
    ctx.call_activity(request_approval, subject.clone()).await?;
    let timeout = Duration::from_secs(request.timeout_seconds.unwrap_or(72 * 3600));
    let asked_at = ctx.current_utc_datetime();
    loop {
        let waited = (ctx.current_utc_datetime() - asked_at)
            .to_std()
            .unwrap_or_default();
        match ctx
            .wait_for_external_event_with_timeout::<bool>(
                "ApprovalEvent",
                timeout.saturating_sub(waited),
            )
            .await
        {
            Ok(true) => return Ok("approved".to_string()),
            Ok(false) => return Ok("rejected".to_string()),
            Err(TaskError::TimedOut(_)) => {
                ctx.call_activity(escalate, subject).await?;
                return Ok("escalated".to_string());
            }
            Err(TaskError::Deserialize { message, .. }) => {
                ctx.set_custom_status(&serde_json::json!({
                    "lastAnswer": "not understood: send true or false",
                    "error": message,
                }));
            }
            Err(other) => return Err(other.into()),
        }
    }
}

/// Unit tests in virtual time (see docs/testing.md): the 72-hour wait takes milliseconds.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use durable::testing::TestHub;
    use durable::OrchestrationStatus;

    use super::*;

    /// The app's functions, with the activity that reaches a person stubbed.
    fn hub() -> TestHub {
        TestHub::from_app().with_activity("request_approval", |_subject: String| Ok(()))
    }

    #[tokio::test]
    async fn an_answer_within_72_hours_decides() {
        let mut hub = hub();
        let request = ApprovalRequest {
            subject: Some("budget".into()),
            timeout_seconds: None,
        };
        let id = hub.start(approval_workflow, Some(request)).await;
        hub.advance(Duration::from_secs(71 * 3600)).await;
        assert_eq!(
            hub.instance(&id).unwrap().status,
            OrchestrationStatus::Running
        );

        hub.raise_event(&id, "ApprovalEvent", &true).await;
        let done = hub.instance(&id).unwrap();
        assert_eq!(done.output_as::<String>().unwrap(), "approved");
        assert_eq!(hub.activity_calls("request_approval"), ["budget"]);
        assert!(hub.activity_calls("escalate").is_empty());
    }

    #[tokio::test]
    async fn silence_for_72_hours_escalates() {
        let mut hub = hub();
        let id = hub.start(approval_workflow, None).await;
        let done = hub
            .run_to_completion(&id, Duration::from_secs(7 * 24 * 3600))
            .await
            .unwrap();
        assert_eq!(done.output_as::<String>().unwrap(), "escalated");
        assert_eq!(
            hub.now() - durable::testing::default_start(),
            chrono::Duration::hours(72)
        );
        assert_eq!(hub.activity_calls("escalate"), [id.as_str()]);
    }

    #[tokio::test]
    async fn an_answer_that_is_not_a_boolean_keeps_it_waiting_until_the_same_deadline() {
        let mut hub = hub();
        let id = hub.start(approval_workflow, None).await;
        hub.advance(Duration::from_secs(24 * 3600)).await;
        hub.raise_event(&id, "ApprovalEvent", &"yes").await;
        let waiting = hub.instance(&id).unwrap();
        assert_eq!(waiting.status, OrchestrationStatus::Running);
        let custom: serde_json::Value = waiting.custom_status_as().unwrap();
        assert!(custom["lastAnswer"]
            .as_str()
            .unwrap()
            .contains("not understood"));
        // the deadline stays 72 hours after the request
        hub.advance(Duration::from_secs(48 * 3600 - 1)).await;
        assert_eq!(
            hub.instance(&id).unwrap().status,
            OrchestrationStatus::Running
        );
        hub.advance(Duration::from_secs(1)).await;
        let done = hub.instance(&id).unwrap();
        assert_eq!(done.output_as::<String>().unwrap(), "escalated");
    }
}
