//! Checks of the wake-ups a store gives its local dispatchers.

use std::sync::Arc;

use super::fixtures::*;
use crate::TaskHub;
use durable_engine::history::OrchestrationStatus;

/// Creating, sending, committing outbound work and completing activities wake dispatchers.
pub async fn signals_wake_dispatchers(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let signals = hub.signals();
    drain(&signals.orchestrations).await;
    drain(&signals.activities).await;

    let id = new_id("signals");
    hub.create_instance(start_message(&id, &new_execution_id()))
        .await
        .expect("create");
    assert!(
        notified(&signals.orchestrations).await,
        "create_instance wakes the orchestration dispatcher"
    );

    let item = lock_one(hub, &id, LOCK).await;
    drain(&signals.orchestrations).await;
    drain(&signals.activities).await;
    let mut commit = episode(&item, OrchestrationStatus::Running);
    let row = commit.instance.clone().expect("row");
    let request = activity_request(&row, 0);
    commit.activity_messages = vec![request.clone()];
    commit.orchestrator_messages = vec![timer(&row, 1, after(LOCK))];
    hub.complete_orchestration(&item, commit)
        .await
        .expect("commit");
    assert!(
        notified(&signals.activities).await,
        "a commit with activity requests wakes the activity dispatcher"
    );
    assert!(
        notified(&signals.orchestrations).await,
        "a commit with orchestrator messages (even delayed) wakes the orchestration dispatcher"
    );

    let activity = hub.lock_activities(1, LOCK).await.expect("lock");
    let activity = activity.items.into_iter().next().expect("request");
    drain(&signals.orchestrations).await;
    assert!(hub
        .complete_activity(&activity, activity_response(&request))
        .await
        .expect("complete"));
    assert!(
        notified(&signals.orchestrations).await,
        "an activity response wakes the orchestration dispatcher"
    );

    drain(&signals.orchestrations).await;
    hub.send_message(now_message(event_raised(&id, "ping")))
        .await
        .expect("send");
    assert!(
        notified(&signals.orchestrations).await,
        "send_message wakes the orchestration dispatcher"
    );
}
