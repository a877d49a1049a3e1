//! The task hub conformance suite against Azure Storage, on the Azurite this test binary
//! starts (installed and started by the harness; it fails, never skips, when it cannot).
//! Each check runs on a task hub of its own name.

use std::sync::Arc;

use durable::store::azure::{azurite, AzureTaskHub, StorageAccount};
use durable::store::conformance;
use durable::store::TaskHub;

/// A new, created hub with a fresh name on the shared Azurite.
async fn new_hub() -> Arc<dyn TaskHub> {
    let azurite = azurite::shared().unwrap_or_else(|e| panic!("Azurite is required: {e}"));
    let account = StorageAccount::from_connection_string(&azurite.connection_string())
        .expect("the harness's connection string parses");
    let name = format!("conf{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let hub = AzureTaskHub::new(account, &name).expect("hub");
    hub.create_if_not_exists().await.expect("create the hub");
    Arc::new(hub)
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                conformance::$name(new_hub().await).await;
            }
        )*
    };
}

checks!(
    create_if_not_exists_is_idempotent,
    create_instance_starts_pending,
    create_instance_records_parent,
    create_instance_conflicts_while_not_terminal,
    create_instance_replaces_terminal,
    commit_writes_everything,
    commit_without_row_keeps_row,
    messages_to_unknown_instances,
    lost_lock_commit_writes_nothing,
    orchestration_lock_expires,
    lock_batches_instances_fairly,
    messages_arriving_while_locked_wait,
    timers_become_visible_when_due,
    scheduled_start_waits,
    abandon_orchestration_delays_messages,
    continue_as_new_replaces_history,
    concurrent_commits_are_isolated,
    activities_are_delivered_at_least_once,
    duplicate_activity_completion_is_ignored,
    lock_activities_in_order,
    activity_abandon_and_renew,
    query_filters,
    query_pages_cover_everything_once,
    purge_instance_removes_everything,
    purge_instances_by_filter,
    signals_wake_dispatchers,
    timer_status_round_trips,
);
