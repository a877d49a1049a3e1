//! Checks of the timer trigger's persisted schedule status.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::clock;
use crate::ScheduleStatus;
use crate::TaskHub;
use durable_engine::time;

/// A status with distinct, 100 ns precise timestamps.
fn status(last: DateTime<Utc>) -> ScheduleStatus {
    ScheduleStatus {
        last,
        next: last + Duration::minutes(5),
        last_updated: last + Duration::nanoseconds(1_234_500),
    }
}

/// Saving and loading timer statuses: absent until saved, read back exactly (100 ns, far past
/// and future), replaced by later saves, kept per function, names compared case-insensitively.
pub async fn timer_status_round_trips(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    assert_eq!(
        hub.load_timer_status("Cleanup").await.expect("load"),
        None,
        "a timer that never saved has no status"
    );

    let first = status(time::truncate(clock::now()));
    hub.save_timer_status("Cleanup", &first)
        .await
        .expect("save");
    assert_eq!(
        hub.load_timer_status("Cleanup").await.expect("load"),
        Some(first.clone()),
        "the saved status reads back exactly"
    );
    assert_eq!(
        hub.load_timer_status("cLEANUP").await.expect("load"),
        Some(first.clone()),
        "function names compare case-insensitively"
    );
    assert_eq!(
        hub.load_timer_status("Other").await.expect("load"),
        None,
        "statuses are per function"
    );

    let second = status(first.next);
    hub.save_timer_status("CLEANUP", &second)
        .await
        .expect("save again");
    assert_eq!(
        hub.load_timer_status("Cleanup").await.expect("load"),
        Some(second.clone()),
        "a later save replaces the status (whatever the name's case)"
    );

    // The "never ran" marker (0001-01-01) and a far future must survive.
    let never = ScheduleStatus {
        last: Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
        next: Utc.with_ymd_and_hms(2099, 12, 31, 23, 59, 59).unwrap(),
        last_updated: time::truncate(clock::now()),
    };
    hub.save_timer_status("Other", &never)
        .await
        .expect("save other");
    assert_eq!(
        hub.load_timer_status("Other").await.expect("load"),
        Some(never),
        "extreme timestamps read back exactly"
    );
    assert_eq!(
        hub.load_timer_status("Cleanup").await.expect("load"),
        Some(second),
        "saving one timer leaves the others alone"
    );

    hub.create_if_not_exists()
        .await
        .expect("create_if_not_exists");
    assert!(
        hub.load_timer_status("Other")
            .await
            .expect("load")
            .is_some(),
        "create_if_not_exists keeps timer statuses"
    );
}

/// Singleton locks as one holder sees them: taken, renewed by taking again, given back (twice
/// is harmless), and taken again; names compared case-insensitively. (That a second process
/// cannot take a held lock is checked end to end with several host processes.)
pub async fn singleton_lock_is_renewed_and_released(hub: Arc<dyn TaskHub>) {
    let period = std::time::Duration::from_secs(15);
    assert!(hub
        .lock_singleton("Cleanup.Listener", period)
        .await
        .expect("lock"));
    assert!(hub
        .lock_singleton("cleanup.listener", period)
        .await
        .expect("renew"));
    hub.release_singleton("Cleanup.Listener")
        .await
        .expect("release");
    hub.release_singleton("Cleanup.Listener")
        .await
        .expect("release again");
    assert!(hub
        .lock_singleton("Cleanup.Listener", period)
        .await
        .expect("lock again"));
    hub.release_singleton("CLEANUP.LISTENER")
        .await
        .expect("release");
}
