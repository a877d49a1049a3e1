//! Checks of the activity queue: at-least-once delivery, duplicates, abandon and renew.

use std::sync::Arc;
use std::time::Duration;

use super::fixtures::*;
use crate::clock;
use crate::{StoreError, TaskHub};

/// An activity that is locked but never completed is handed out again after the lock expires.
pub async fn activities_are_delivered_at_least_once(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("atleastonce");
    let (_, request) = instance_with_activity(hub, &id).await;

    let first = hub
        .lock_activities(10, SHORT_LOCK)
        .await
        .expect("lock_activities");
    assert_eq!(first.items.len(), 1);
    let first = first.items.into_iter().next().expect("item");
    assert_eq!(first.message, request);
    assert_eq!(first.dequeue_count, 1);
    let expires = after(SHORT_LOCK);

    let hidden = hub.lock_activities(10, LOCK).await.expect("lock");
    assert!(
        hidden.items.is_empty(),
        "a locked request is not handed out twice"
    );
    let due = hidden.next_due.expect("next_due reports the lock expiry");
    assert!(
        due > clock::now() - chrono::Duration::milliseconds(50) && due <= expires,
        "next_due {due} should be the lock expiry (about {expires})"
    );

    sleep_past(expires).await;
    let second = hub.lock_activities(10, LOCK).await.expect("lock");
    assert_eq!(second.items.len(), 1, "redelivered after the lock expired");
    let second = second.items.into_iter().next().expect("item");
    assert_eq!(second.id, first.id);
    assert_eq!(second.message, request);
    assert_eq!(second.dequeue_count, 2);
    assert_ne!(second.lock_token, first.lock_token);

    let response = activity_response(&request);
    assert!(hub
        .complete_activity(&second, response.clone())
        .await
        .expect("complete_activity"));
    assert!(
        !hub.complete_activity(&first, response.clone())
            .await
            .expect("complete_activity"),
        "the first worker's late completion is a duplicate"
    );
    let item = lock_one(hub, &id, LOCK).await;
    let bodies: Vec<_> = item.messages.iter().map(|m| &m.message).collect();
    assert_eq!(bodies, [&response], "exactly one response");
    assert_no_activity_work(hub, "the request was completed").await;
}

/// Completing an activity twice enqueues one response; the second call returns false.
pub async fn duplicate_activity_completion_is_ignored(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("duplicate");
    let (_, request) = instance_with_activity(hub, &id).await;
    let batch = hub.lock_activities(10, LOCK).await.expect("lock");
    let item = batch.items.into_iter().next().expect("one request");
    let response = activity_response(&request);
    assert!(hub
        .complete_activity(&item, response.clone())
        .await
        .expect("complete"));
    assert!(!hub
        .complete_activity(&item, response.clone())
        .await
        .expect("complete again"));

    let work = lock_one(hub, &id, LOCK).await;
    let bodies: Vec<_> = work.messages.iter().map(|m| &m.message).collect();
    assert_eq!(bodies, [&response], "the duplicate enqueued nothing");
}

/// Requests are handed out oldest first, at most `max` at a time.
pub async fn lock_activities_in_order(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("order");
    hub.create_instance(start_message(&id, &new_execution_id()))
        .await
        .expect("create");
    let item = lock_one(hub, &id, LOCK).await;
    let mut commit = episode(&item, durable_engine::history::OrchestrationStatus::Running);
    let row = commit.instance.clone().expect("row");
    let requests: Vec<_> = (0..5).map(|i| activity_request(&row, i)).collect();
    commit.activity_messages = requests.clone();
    hub.complete_orchestration(&item, commit)
        .await
        .expect("commit");

    let first = hub.lock_activities(3, LOCK).await.expect("lock");
    let rest = hub.lock_activities(10, LOCK).await.expect("lock");
    assert_eq!(first.items.len(), 3, "at most max");
    let got: Vec<_> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|i| i.message.clone())
        .collect();
    assert_eq!(got, requests, "in enqueue order");
    let ids: Vec<crate::WorkItemId> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|i| i.id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
}

/// Abandon hides a request for the delay; renew keeps it locked; both need the current lock.
pub async fn activity_abandon_and_renew(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("renew");
    let (_, request) = instance_with_activity(hub, &id).await;

    let item = hub.lock_activities(1, SHORT_LOCK).await.expect("lock");
    let item = item.items.into_iter().next().expect("request");
    hub.renew_activity_lock(&item, Duration::from_secs(2))
        .await
        .expect("renew");
    sleep_past(after(SHORT_LOCK)).await;
    assert_no_activity_work(hub, "the renewed lock still holds").await;

    let delay = Duration::from_millis(400);
    hub.abandon_activity(&item, delay).await.expect("abandon");
    let visible = after(delay);
    let hidden = hub.lock_activities(10, LOCK).await.expect("lock");
    assert!(hidden.items.is_empty(), "hidden for the delay");
    let due = hidden.next_due.expect("next_due after an abandon");
    assert!(
        due > clock::now() && due <= visible,
        "next_due {due} is the end of the delay (about {visible})"
    );
    sleep_past(visible).await;

    let stale = hub.lock_activities(1, SHORT_LOCK).await.expect("lock");
    let stale = stale.items.into_iter().next().expect("visible again");
    assert_eq!(stale.id, item.id);
    assert_eq!(stale.dequeue_count, 2);
    sleep_past(after(SHORT_LOCK)).await;
    let current = hub.lock_activities(1, LOCK).await.expect("lock");
    let current = current.items.into_iter().next().expect("redelivered");
    assert_eq!(current.dequeue_count, 3);

    let renewed = hub.renew_activity_lock(&stale, LOCK).await;
    assert!(
        matches!(renewed, Err(StoreError::LockLost(_))),
        "renewing a lost lock must fail with LockLost, got {renewed:?}"
    );
    let abandoned = hub.abandon_activity(&stale, Duration::ZERO).await;
    assert!(
        matches!(abandoned, Err(StoreError::LockLost(_))),
        "abandoning a lost lock must fail with LockLost, got {abandoned:?}"
    );
    assert_no_activity_work(hub, "the stale calls did not release the lock").await;
    assert!(hub
        .complete_activity(&current, activity_response(&request))
        .await
        .expect("complete"));
}
