//! Checks of the orchestration queue: locking, atomic commits, lock expiry, continue-as-new.

use std::sync::Arc;

use super::fixtures::*;
use crate::{HistoryUpdate, OrchestrationCommit, StoreError, TaskHub};
use durable_engine::history::{EventKind, HistoryEvent, OrchestrationStatus};
use durable_engine::message::TaskMessage;

use crate::clock;
use OrchestrationStatus::*;

/// A successful commit writes history, row, outbound messages and activity requests, deletes
/// the consumed messages and releases the lock.
pub async fn commit_writes_everything(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("commit");
    let other = new_id("other");
    hub.create_instance(start_message(&id, &new_execution_id()))
        .await
        .expect("create");
    let item = lock_one(hub, &id, LOCK).await;

    let mut commit = episode(&item, Running);
    let row = commit.instance.clone().expect("row");
    let to_other = event_raised(&other, "hello");
    let fire_at = after(LOCK);
    commit.orchestrator_messages = vec![now_message(to_other.clone()), timer(&row, 1, fire_at)];
    let request = activity_request(&row, 0);
    commit.activity_messages = vec![request.clone()];
    hub.complete_orchestration(&item, commit.clone())
        .await
        .expect("complete_orchestration failed");

    let events = appended(&commit);
    assert_eq!(hub.get_history(&id).await.expect("history"), events);
    assert_eq!(
        hub.get_instance(&id).await.expect("get"),
        Some(expected_row(&commit, events.len())),
        "the row is the commit's, with the stored history length"
    );

    // The consumed start message is gone; the timer is not due; the other instance's message
    // is visible, without a row.
    let work = lock_one(hub, &other, LOCK).await;
    let bodies: Vec<_> = work.messages.iter().map(|m| &m.message).collect();
    assert_eq!(bodies, [&to_other]);
    assert!(work.instance.is_none(), "{other} has no row");

    let activities = hub
        .lock_activities(10, LOCK)
        .await
        .expect("lock_activities");
    assert_eq!(activities.items.len(), 1);
    assert_eq!(activities.items[0].message, request);
    assert_eq!(activities.items[0].dequeue_count, 1);

    // The lock was released: a new message makes the instance lockable at once.
    let poke = event_raised(&id, "poke");
    hub.send_message(now_message(poke.clone()))
        .await
        .expect("send");
    let item = lock_one(hub, &id, LOCK).await;
    let bodies: Vec<_> = item.messages.iter().map(|m| &m.message).collect();
    assert_eq!(bodies, [&poke]);
    let second = episode(&item, Completed);
    hub.complete_orchestration(&item, second.clone())
        .await
        .expect("second commit");
    let mut all = events;
    all.extend(appended(&second));
    assert_eq!(
        hub.get_history(&id).await.expect("history"),
        all,
        "appends accumulate"
    );
    assert_eq!(
        hub.get_instance(&id).await.expect("get"),
        Some(expected_row(&second, all.len()))
    );
}

/// A commit without a row keeps the row but still counts the appended events.
pub async fn commit_without_row_keeps_row(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("norow");
    let row = started_instance(hub, &id, Running).await;
    hub.send_message(now_message(event_raised(&id, "ignored")))
        .await
        .expect("send");
    let item = lock_one(hub, &id, LOCK).await;
    let extra = vec![HistoryEvent::new(
        clock::now(),
        EventKind::GenericEvent {
            data: Some("x".into()),
        },
    )];
    let commit = OrchestrationCommit {
        history: HistoryUpdate::Append(extra),
        instance: None,
        orchestrator_messages: Vec::new(),
        activity_messages: Vec::new(),
    };
    hub.complete_orchestration(&item, commit)
        .await
        .expect("commit");
    let after = hub.get_instance(&id).await.expect("get").expect("row");
    assert_eq!(after.history_len, row.history_len + 1);
    assert_eq!(
        after,
        crate::InstanceState {
            history_len: row.history_len + 1,
            ..row
        },
        "only history_len changed"
    );
    assert_no_orchestration_work(hub, "the message was consumed").await;
}

/// Messages for an instance that does not exist arrive with no row and can be discarded.
pub async fn messages_to_unknown_instances(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("ghost");
    hub.send_message(now_message(event_raised(&id, "boo")))
        .await
        .expect("send");
    let item = lock_one(hub, &id, LOCK).await;
    assert!(item.instance.is_none());
    assert_eq!(item.messages.len(), 1);
    let discard = OrchestrationCommit {
        history: HistoryUpdate::Append(Vec::new()),
        instance: None,
        orchestrator_messages: Vec::new(),
        activity_messages: Vec::new(),
    };
    hub.complete_orchestration(&item, discard)
        .await
        .expect("commit");
    assert_eq!(hub.get_instance(&id).await.expect("get"), None);
    assert!(hub.get_history(&id).await.expect("history").is_empty());
    assert_no_orchestration_work(hub, "the message was discarded").await;
}

/// A commit whose lock was lost writes nothing at all.
pub async fn lost_lock_commit_writes_nothing(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("lost");
    let other = new_id("other");
    let row = started_instance(hub, &id, Running).await;
    let history = hub.get_history(&id).await.expect("history");
    hub.send_message(now_message(event_raised(&id, "go")))
        .await
        .expect("send");

    let stale = lock_one(hub, &id, SHORT_LOCK).await;
    sleep_past(after(SHORT_LOCK)).await;
    let fresh = lock_one(hub, &id, LOCK).await;
    assert_ne!(stale.lock_token, fresh.lock_token);

    let mut commit = episode(&stale, Completed);
    commit.orchestrator_messages = vec![now_message(event_raised(&other, "from-stale"))];
    commit.activity_messages = vec![activity_request(&row, 7)];
    let result = hub.complete_orchestration(&stale, commit).await;
    assert!(
        matches!(result, Err(StoreError::LockLost(_))),
        "a commit with a lost lock must fail with LockLost, got {result:?}"
    );
    assert_eq!(hub.get_history(&id).await.expect("history"), history);
    assert_eq!(hub.get_instance(&id).await.expect("get"), Some(row.clone()));
    assert_no_orchestration_work(hub, "the stale commit sent no message").await;
    assert_no_activity_work(hub, "the stale commit scheduled no activity").await;

    // The holder of the lock still sees and commits the messages.
    let commit = episode(&fresh, Completed);
    hub.complete_orchestration(&fresh, commit.clone())
        .await
        .expect("the current lock holder commits");
    let mut all = history;
    all.extend(appended(&commit));
    assert_eq!(hub.get_history(&id).await.expect("history"), all);
    assert_no_orchestration_work(hub, "the fresh commit consumed the message").await;
}

/// A locked instance is hidden until its lock expires, then handed to another worker.
pub async fn orchestration_lock_expires(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("expiry");
    hub.create_instance(start_message(&id, &new_execution_id()))
        .await
        .expect("create");
    let first = lock_one(hub, &id, SHORT_LOCK).await;
    let expires = after(SHORT_LOCK);

    let batch = hub.lock_orchestrations(10, LOCK).await.expect("lock");
    assert!(
        batch.items.is_empty(),
        "a locked instance is not handed out twice"
    );
    let due = batch.next_due.expect("next_due reports the lock expiry");
    assert!(
        due > clock::now() - chrono::Duration::milliseconds(50) && due <= expires,
        "next_due {due} should be the lock expiry (about {expires})"
    );

    sleep_past(expires).await;
    let second = lock_one(hub, &id, LOCK).await;
    assert_ne!(second.lock_token, first.lock_token);
    let ids = |item: &crate::OrchestrationWorkItem| {
        item.messages.iter().map(|m| m.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&second),
        ids(&first),
        "the same messages are redelivered"
    );

    let abandoned = hub
        .abandon_orchestration(&first, std::time::Duration::ZERO)
        .await;
    assert!(
        matches!(abandoned, Err(StoreError::LockLost(_))),
        "abandoning with a lost lock must fail with LockLost, got {abandoned:?}"
    );
    assert_no_orchestration_work(hub, "the stale abandon released nothing").await;
    hub.complete_orchestration(&second, episode(&second, Running))
        .await
        .expect("commit");
}

/// Instances are locked oldest message first, at most `max` at a time, each with all its
/// visible messages in enqueue order.
pub async fn lock_batches_instances_fairly(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let ids: Vec<String> = (0..3).map(|i| new_id(&format!("fair{i}"))).collect();
    let mut starts = Vec::new();
    for id in &ids {
        let start = start_message(id, &new_execution_id());
        hub.create_instance(start.clone()).await.expect("create");
        starts.push(start);
    }
    let extra = event_raised(&ids[0], "second");
    hub.send_message(now_message(extra.clone()))
        .await
        .expect("send");

    let batch = hub.lock_orchestrations(2, LOCK).await.expect("lock");
    let locked: Vec<&str> = batch.items.iter().map(|i| i.instance_id.as_str()).collect();
    assert_eq!(
        locked,
        [ids[0].as_str(), ids[1].as_str()],
        "oldest first, max 2"
    );
    let first = &batch.items[0];
    let bodies: Vec<&TaskMessage> = first.messages.iter().map(|m| &m.message).collect();
    assert_eq!(
        bodies,
        [&starts[0], &extra],
        "all visible messages, in order"
    );
    assert!(first.messages[0].id < first.messages[1].id, "ids increase");
    assert_ne!(batch.items[0].lock_token, batch.items[1].lock_token);

    let rest = hub.lock_orchestrations(10, LOCK).await.expect("lock");
    let locked: Vec<&str> = rest.items.iter().map(|i| i.instance_id.as_str()).collect();
    assert_eq!(locked, [ids[2].as_str()]);

    let none = hub.lock_orchestrations(10, LOCK).await.expect("lock");
    assert!(none.items.is_empty());
    let due = none
        .next_due
        .expect("locked instances with messages have a next_due");
    assert!(
        due > clock::now(),
        "next_due {due} is the (future) lock expiry"
    );

    for item in batch.items.iter().chain(&rest.items) {
        hub.complete_orchestration(item, episode(item, Running))
            .await
            .expect("commit");
    }
    let idle = hub.lock_orchestrations(10, LOCK).await.expect("lock");
    assert!(idle.items.is_empty());
    assert_eq!(idle.next_due, None, "nothing is pending");
}

/// Messages that arrive while an instance is locked wait for its next work item.
pub async fn messages_arriving_while_locked_wait(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("arrive");
    hub.create_instance(start_message(&id, &new_execution_id()))
        .await
        .expect("create");
    let item = lock_one(hub, &id, LOCK).await;
    let late = event_raised(&id, "late");
    hub.send_message(now_message(late.clone()))
        .await
        .expect("send");
    assert_no_orchestration_work(hub, "the instance is locked").await;

    hub.complete_orchestration(&item, episode(&item, Running))
        .await
        .expect("commit");
    let next = lock_one(hub, &id, LOCK).await;
    let bodies: Vec<_> = next.messages.iter().map(|m| &m.message).collect();
    assert_eq!(
        bodies,
        [&late],
        "only the late message, not the consumed start"
    );
}

/// Delayed messages stay hidden until due, and `next_due` says when.
pub async fn timers_become_visible_when_due(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("timer");
    let row = started_instance(hub, &id, Running).await;
    let fire_at = after(std::time::Duration::from_millis(600));
    let message = timer(&row, 1, fire_at);
    hub.send_message(message.clone()).await.expect("send");

    let batch = hub.lock_orchestrations(10, LOCK).await.expect("lock");
    assert!(batch.items.is_empty(), "the timer is not due yet");
    assert_eq!(
        batch.next_due,
        Some(fire_at),
        "next_due is the timer's due time"
    );

    sleep_past(fire_at).await;
    let item = lock_one(hub, &id, LOCK).await;
    let bodies: Vec<_> = item.messages.iter().map(|m| &m.message).collect();
    assert_eq!(bodies, [&message.message]);
    assert!(clock::now() >= fire_at);
}

/// An instance with a scheduled start time is not started before it.
pub async fn scheduled_start_waits(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("scheduled");
    let start_at = after(std::time::Duration::from_millis(600));
    let start = start_message_with(&id, &new_execution_id(), |s| {
        s.scheduled_start_time = Some(start_at);
    });
    hub.create_instance(start.clone()).await.expect("create");
    let row = hub.get_instance(&id).await.expect("get").expect("row");
    assert_eq!(row.status, Pending);

    let batch = hub.lock_orchestrations(10, LOCK).await.expect("lock");
    assert!(batch.items.is_empty(), "not before the scheduled start");
    assert_eq!(batch.next_due, Some(start_at));

    sleep_past(start_at).await;
    let item = lock_one(hub, &id, LOCK).await;
    assert_eq!(item.messages[0].message, start);
}

/// Abandoning releases the lock and hides the messages for the delay.
pub async fn abandon_orchestration_delays_messages(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("abandon");
    hub.create_instance(start_message(&id, &new_execution_id()))
        .await
        .expect("create");
    let item = lock_one(hub, &id, LOCK).await;
    let delay = std::time::Duration::from_millis(500);
    hub.abandon_orchestration(&item, delay)
        .await
        .expect("abandon");
    let visible = after(delay);

    let batch = hub.lock_orchestrations(10, LOCK).await.expect("lock");
    assert!(batch.items.is_empty(), "hidden for the delay");
    let due = batch.next_due.expect("next_due after an abandon");
    assert!(
        due > clock::now() && due <= visible,
        "next_due {due} is the end of the delay (about {visible})"
    );

    sleep_past(visible).await;
    let again = lock_one(hub, &id, LOCK).await;
    let ids: Vec<crate::WorkItemId> = again.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, item.messages.iter().map(|m| m.id).collect::<Vec<_>>());
    assert_eq!(hub.get_instance(&id).await.expect("get"), item.instance);
}

/// Continue-as-new replaces the history; later appends continue the new one.
pub async fn continue_as_new_replaces_history(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("can");
    let row = started_instance(hub, &id, Running).await;
    assert!(row.history_len >= 3);
    hub.send_message(now_message(event_raised(&id, "next")))
        .await
        .expect("send");
    let item = lock_one(hub, &id, LOCK).await;

    let execution_id = new_execution_id();
    let restart = start_message(&id, &execution_id);
    let events = vec![
        HistoryEvent::new(clock::now(), EventKind::OrchestratorStarted),
        restart.event.clone(),
        HistoryEvent::new(clock::now(), EventKind::OrchestratorCompleted),
    ];
    let mut new_row = next_row(&row, Running);
    new_row.execution_id = execution_id.clone();
    let commit = OrchestrationCommit {
        history: HistoryUpdate::NewExecution(events.clone()),
        instance: Some(new_row),
        orchestrator_messages: Vec::new(),
        activity_messages: Vec::new(),
    };
    hub.complete_orchestration(&item, commit.clone())
        .await
        .expect("commit");
    assert_eq!(
        hub.get_history(&id).await.expect("history"),
        events,
        "only the new execution's history"
    );
    let stored = hub.get_instance(&id).await.expect("get").expect("row");
    assert_eq!(stored, expected_row(&commit, events.len()));
    assert_eq!(stored.execution_id, execution_id);

    hub.send_message(now_message(event_raised(&id, "after")))
        .await
        .expect("send");
    let item = lock_one(hub, &id, LOCK).await;
    let next = episode(&item, Completed);
    hub.complete_orchestration(&item, next.clone())
        .await
        .expect("commit");
    let mut all = events;
    all.extend(appended(&next));
    assert_eq!(hub.get_history(&id).await.expect("history"), all);
    assert_eq!(
        hub.get_instance(&id)
            .await
            .expect("get")
            .expect("row")
            .history_len,
        all.len() as u64
    );
}

/// Many concurrent commits, some with lost locks: each succeeds or fails on its own.
pub async fn concurrent_commits_are_isolated(hub: Arc<dyn TaskHub>) {
    let n = 40;
    let run = new_id("concurrent");
    for i in 0..n {
        hub.create_instance(start_message(&format!("{run}-{i:02}"), &new_execution_id()))
            .await
            .expect("create");
    }
    let batch = hub.lock_orchestrations(n, LOCK).await.expect("lock");
    assert_eq!(batch.items.len(), n);

    let mut tasks = Vec::new();
    for (i, item) in batch.items.iter().cloned().enumerate() {
        let hub = Arc::clone(&hub);
        tasks.push(tokio::spawn(async move {
            let good = i % 2 == 0;
            let mut sent = item.clone();
            if !good {
                sent.lock_token = "not-the-lock-token".into();
            }
            let result = hub
                .complete_orchestration(&sent, episode(&item, Running))
                .await;
            (item, good, result)
        }));
    }
    let mut losers = Vec::new();
    for task in tasks {
        let (item, good, result) = task.await.expect("task panicked");
        let row = hub
            .get_instance(&item.instance_id)
            .await
            .expect("get")
            .expect("row");
        if good {
            result.unwrap_or_else(|e| panic!("commit of {} failed: {e}", item.instance_id));
            assert_eq!(row.status, Running);
            assert_eq!(row.history_len, 3);
        } else {
            assert!(
                matches!(result, Err(StoreError::LockLost(_))),
                "a wrong token must fail with LockLost, got {result:?}"
            );
            assert_eq!(row.status, Pending, "{} was not written", item.instance_id);
            assert!(hub
                .get_history(&item.instance_id)
                .await
                .expect("history")
                .is_empty());
            losers.push(item);
        }
    }
    for item in &losers {
        hub.abandon_orchestration(item, std::time::Duration::ZERO)
            .await
            .expect("abandon with the real token");
    }
    let again = hub.lock_orchestrations(n, LOCK).await.expect("lock");
    let mut relocked: Vec<&str> = again.items.iter().map(|i| i.instance_id.as_str()).collect();
    relocked.sort();
    let mut expected: Vec<&str> = losers.iter().map(|i| i.instance_id.as_str()).collect();
    expected.sort();
    assert_eq!(relocked, expected, "the failed commits kept their messages");
}
