//! The task hub conformance suite against the SQLite backend: one test per check, each on a
//! new database file in its own temporary directory.

use std::sync::Arc;

use durable::store::conformance;
use durable::store::sqlite::SqliteTaskHub;
use durable::store::TaskHub;

/// A hub in a fresh temporary directory; the directory lives as long as the test.
fn new_hub() -> (tempfile::TempDir, Arc<dyn TaskHub>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let hub = SqliteTaskHub::open(dir.path().join("taskhub.db")).expect("open the task hub");
    (dir, Arc::new(hub))
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (_dir, hub) = new_hub();
                conformance::$name(hub).await;
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
);
