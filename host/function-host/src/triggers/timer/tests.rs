//! Start planning and status bookkeeping of timers.
use chrono::TimeZone;

use super::*;

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, h, m, s).unwrap()
}

fn every_five_minutes() -> Schedule {
    Schedule::parse("0 */5 * * * *").unwrap()
}

fn status(last: DateTime<Utc>, next: DateTime<Utc>) -> ScheduleStatus {
    ScheduleStatus {
        last,
        next,
        last_updated: last,
    }
}

#[test]
fn first_start_records_the_next_occurrence() {
    let now = at(10, 2, 30);
    let plan = plan_start(&every_five_minutes(), None, false, now).unwrap();
    assert_eq!(
        plan,
        StartPlan {
            status: ScheduleStatus {
                last: never_ran(),
                next: at(10, 5, 0),
                last_updated: now
            },
            save: true,
            run: None,
        }
    );
    let plan = plan_start(&every_five_minutes(), None, true, now).unwrap();
    assert_eq!(plan.run, Some(StartupRun::OnStartup));
}

#[test]
fn pending_occurrence_in_the_future_is_kept() {
    let persisted = status(at(10, 0, 0), at(10, 5, 0));
    let plan = plan_start(
        &every_five_minutes(),
        Some(persisted.clone()),
        false,
        at(10, 3, 0),
    )
    .unwrap();
    assert_eq!(
        plan,
        StartPlan {
            status: persisted.clone(),
            save: false,
            run: None
        }
    );
    let plan = plan_start(&every_five_minutes(), Some(persisted), true, at(10, 3, 0)).unwrap();
    assert_eq!(plan.run, Some(StartupRun::OnStartup));
    assert!(!plan.save);
}

#[test]
fn missed_occurrences_give_one_past_due_run_for_the_latest() {
    let persisted = status(at(10, 0, 0), at(10, 5, 0));
    for run_on_startup in [false, true] {
        let plan = plan_start(
            &every_five_minutes(),
            Some(persisted.clone()),
            run_on_startup,
            at(10, 22, 10),
        )
        .unwrap();
        assert_eq!(
            plan.run,
            Some(StartupRun::PastDue {
                occurrence: at(10, 20, 0)
            })
        );
        assert_eq!(plan.status, persisted);
    }
    // Just late: the pending occurrence itself is the one run.
    let plan = plan_start(
        &every_five_minutes(),
        Some(persisted.clone()),
        false,
        at(10, 5, 0) + chrono::Duration::milliseconds(1),
    )
    .unwrap();
    assert_eq!(
        plan.run,
        Some(StartupRun::PastDue {
            occurrence: at(10, 5, 0)
        })
    );
    // Exactly on time is not late.
    let plan = plan_start(&every_five_minutes(), Some(persisted), false, at(10, 5, 0)).unwrap();
    assert_eq!(plan.run, None);
}

#[test]
fn a_changed_schedule_replaces_a_pending_occurrence() {
    // Persisted under "0 */5 * * * *"; the schedule is now second 7 of every minute.
    let persisted = status(at(10, 0, 0), at(10, 5, 0));
    let schedule = Schedule::parse("7 * * * * *").unwrap();
    let now = at(10, 3, 30);
    let plan = plan_start(&schedule, Some(persisted.clone()), false, now).unwrap();
    assert_eq!(
        plan,
        StartPlan {
            status: ScheduleStatus {
                last: at(10, 0, 0),
                next: at(10, 4, 7),
                last_updated: now
            },
            save: true,
            run: None
        }
    );
    // A missed occurrence of the old schedule still runs once.
    let plan = plan_start(&schedule, Some(persisted), false, at(10, 9, 0)).unwrap();
    assert_eq!(
        plan.run,
        Some(StartupRun::PastDue {
            occurrence: at(10, 8, 7)
        })
    );
}

#[test]
fn a_run_saves_its_occurrence_and_the_following_one() {
    let s = every_five_minutes();
    let planned = planned_status(&s, at(10, 5, 0), at(10, 5, 0)).unwrap();
    assert_eq!(planned.last, at(10, 5, 0));
    assert_eq!(planned.next, at(10, 10, 0));
    let (after, skipped) = status_after_run(&s, planned, at(10, 5, 3)).unwrap();
    assert_eq!(skipped, 0);
    assert_eq!(
        after,
        ScheduleStatus {
            last: at(10, 5, 0),
            next: at(10, 10, 0),
            last_updated: at(10, 5, 3)
        }
    );
}

#[test]
fn occurrences_passed_during_a_long_run_are_skipped() {
    let s = every_five_minutes();
    let planned = planned_status(&s, at(10, 5, 0), at(10, 5, 0)).unwrap();
    let (after, skipped) = status_after_run(&s, planned, at(10, 17, 0)).unwrap();
    assert_eq!(skipped, 2, "10:10 and 10:15");
    assert_eq!(after.last, at(10, 5, 0));
    assert_eq!(after.next, at(10, 20, 0));
}

#[test]
fn a_past_due_run_plans_from_now() {
    let s = every_five_minutes();
    let planned = planned_status(&s, at(10, 20, 0), at(10, 22, 10)).unwrap();
    assert_eq!(planned.last, at(10, 20, 0));
    assert_eq!(planned.next, at(10, 25, 0));
}

#[test]
fn never_ran_is_the_dotnet_minimum() {
    assert_eq!(time::format(&never_ran()), "0001-01-01T00:00:00.0000000Z");
}

#[test]
fn panic_messages() {
    assert_eq!(panic_message(&"boom"), "boom");
    assert_eq!(panic_message(&"boom".to_string()), "boom");
    assert_eq!(panic_message(&42), "(non-string panic payload)");
}
