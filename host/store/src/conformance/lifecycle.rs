//! Checks of instance creation, replacement and schema creation.

use std::sync::Arc;

use super::fixtures::*;
use crate::clock;
use crate::{StoreError, TaskHub};
use durable_engine::history::OrchestrationStatus;

/// `create_instance` writes a Pending row, an empty history and the start message.
pub async fn create_instance_starts_pending(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("create");
    let execution_id = new_execution_id();
    let start = start_message(&id, &execution_id);
    let before = clock::now();
    hub.create_instance(start.clone())
        .await
        .expect("create_instance failed");
    let after = clock::now();

    let row = hub
        .get_instance(&id)
        .await
        .expect("get_instance failed")
        .expect("the new instance has a row");
    assert_eq!(row.instance_id, id);
    assert_eq!(row.execution_id, execution_id);
    assert_eq!(row.name, "Conformance");
    assert_eq!(row.version.as_deref(), Some("1.0"));
    assert_eq!(row.status, OrchestrationStatus::Pending);
    assert_eq!(row.input, Some(format!("{{\"instance\":\"{id}\"}}")));
    assert_eq!(row.output, None);
    assert_eq!(row.custom_status, None);
    assert_eq!(row.failure_details, None);
    assert_eq!(row.parent_instance_id, None);
    assert_eq!(row.completed_at, None);
    assert_eq!(row.history_len, 0);
    assert!(
        before <= row.created_at && row.created_at <= after,
        "created_at {} is not the creation time ({before}..{after})",
        row.created_at
    );
    assert!(hub.get_history(&id).await.expect("get_history").is_empty());

    let item = lock_one(hub, &id, LOCK).await;
    assert_eq!(item.messages.len(), 1, "the start message is queued");
    assert_eq!(
        item.messages[0].message, start,
        "the start message round-trips"
    );
    assert_eq!(
        item.instance.as_ref(),
        Some(&row),
        "the work item carries the row"
    );

    assert_eq!(
        hub.get_instance("no-such-instance").await.expect("get"),
        None
    );
    assert!(hub
        .get_history("no-such-instance")
        .await
        .expect("get_history")
        .is_empty());
}

/// A sub-orchestration's row records its parent.
pub async fn create_instance_records_parent(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let parent = new_id("parent");
    let child = new_id("child");
    hub.create_instance(child_start_message(&child, &new_execution_id(), &parent))
        .await
        .expect("create_instance failed");
    let row = hub.get_instance(&child).await.expect("get").expect("row");
    assert_eq!(row.parent_instance_id.as_deref(), Some(parent.as_str()));
}

/// Creating an instance that has not reached a terminal status fails and writes nothing.
pub async fn create_instance_conflicts_while_not_terminal(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("conflict");
    let first = start_message(&id, &new_execution_id());
    hub.create_instance(first.clone()).await.expect("create");

    let again = hub
        .create_instance(start_message(&id, &new_execution_id()))
        .await;
    match again {
        Err(StoreError::InstanceExists {
            instance_id,
            status,
        }) => {
            assert_eq!(instance_id, id);
            assert_eq!(status, OrchestrationStatus::Pending);
        }
        other => panic!("creating a Pending instance again must conflict, got {other:?}"),
    }
    let item = lock_one(hub, &id, LOCK).await;
    let bodies: Vec<_> = item.messages.iter().map(|m| &m.message).collect();
    assert_eq!(
        bodies,
        [&first],
        "the conflicting start message was not queued"
    );
    hub.complete_orchestration(&item, episode(&item, OrchestrationStatus::Running))
        .await
        .expect("commit");
    let row = hub.get_instance(&id).await.expect("get").expect("row");

    for status in [
        OrchestrationStatus::Running,
        OrchestrationStatus::Suspended,
        OrchestrationStatus::ContinuedAsNew,
    ] {
        set_status(hub, &id, status).await;
        let before = hub.get_instance(&id).await.expect("get").expect("row");
        match hub
            .create_instance(start_message(&id, &new_execution_id()))
            .await
        {
            Err(StoreError::InstanceExists { status: s, .. }) => assert_eq!(s, status),
            other => panic!(
                "creating a {} instance must conflict, got {other:?}",
                status.name()
            ),
        }
        let after = hub.get_instance(&id).await.expect("get").expect("row");
        assert_eq!(after, before, "a conflicting create changed the row");
        assert_eq!(after.execution_id, row.execution_id);
        assert_no_orchestration_work(hub, "after a conflicting create").await;
    }
}

/// Creating an instance whose status is terminal replaces it: new execution, empty history,
/// old pending messages gone.
pub async fn create_instance_replaces_terminal(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    for status in [
        OrchestrationStatus::Completed,
        OrchestrationStatus::Failed,
        OrchestrationStatus::Canceled,
        OrchestrationStatus::Terminated,
    ] {
        let id = new_id(&format!("replace-{}", status.name()));
        let old = started_instance(hub, &id, status).await;
        assert!(old.history_len > 0);
        // A late message for the old execution, never consumed.
        hub.send_message(now_message(event_raised(&id, "late")))
            .await
            .expect("send_message");

        let execution_id = new_execution_id();
        let start = start_message(&id, &execution_id);
        hub.create_instance(start.clone())
            .await
            .unwrap_or_else(|e| panic!("replacing a {} instance failed: {e}", status.name()));
        let row = hub.get_instance(&id).await.expect("get").expect("row");
        assert_eq!(row.execution_id, execution_id);
        assert_eq!(row.status, OrchestrationStatus::Pending);
        assert_eq!(row.history_len, 0);
        assert_eq!(row.output, None);
        assert_eq!(row.completed_at, None);
        assert!(row.created_at >= old.created_at);
        assert!(
            hub.get_history(&id).await.expect("history").is_empty(),
            "the old history is gone"
        );
        let item = lock_one(hub, &id, LOCK).await;
        let bodies: Vec<_> = item.messages.iter().map(|m| &m.message).collect();
        assert_eq!(bodies, [&start], "only the new start message is queued");
        hub.complete_orchestration(&item, episode(&item, OrchestrationStatus::Completed))
            .await
            .expect("commit");
    }
}

/// `create_if_not_exists` can run again on a hub with data, changing nothing.
pub async fn create_if_not_exists_is_idempotent(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    hub.create_if_not_exists().await.expect("first call");
    let id = new_id("idempotent");
    let row = started_instance(hub, &id, OrchestrationStatus::Running).await;
    let history = hub.get_history(&id).await.expect("history");
    hub.create_if_not_exists().await.expect("second call");
    hub.create_if_not_exists().await.expect("third call");
    assert_eq!(hub.get_instance(&id).await.expect("get"), Some(row));
    assert_eq!(hub.get_history(&id).await.expect("history"), history);
}
