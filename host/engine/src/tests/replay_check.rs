//! The replay check against histories recorded by a live run: the same code replays; a
//! renamed call, an input type that no longer reads, another result, and a missing
//! orchestrator are each reported with what differs.

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::function::orchestrator_fn;
use crate::history::OrchestrationStatus;
use crate::replay::check::{replay, ReplayError, StoredHistory};
use crate::replay::Resolver;

/// `O` calls `first`, then `second` with the first's result, and returns `prefix` + result.
fn chain(first: &'static str, prefix: &'static str) -> Resolver {
    resolver(vec![(
        "O",
        orchestrator_fn("O", move |ctx: OrchestrationContext, n: i64| async move {
            let a: i64 = ctx.call_activity_by_name(first, &n).await?;
            let b: i64 = ctx.call_activity_by_name("second", &a).await?;
            Ok(format!("{prefix}{b}"))
        }),
    )])
}

/// The stored history of a live run of `chain("first", "")` with input 1, ended or not.
fn recorded(finished: bool) -> StoredHistory {
    let (mut history, out) = run_live(&chain("first", ""), "O", "1", |_, input| {
        Ok((input.unwrap().parse::<i64>().unwrap() + 1).to_string())
    });
    assert_eq!(out.status, OrchestrationStatus::Completed);
    if !finished {
        // up to the end of the first episode: waiting for `first`
        let end = history
            .iter()
            .position(|e| e.event_type().name() == "OrchestratorCompleted")
            .unwrap();
        history.truncate(end + 1);
    }
    StoredHistory::from_events(history).unwrap()
}

#[test]
fn the_same_code_replays_and_says_what_it_calls_next() {
    let done = replay(&recorded(true), chain("first", "")).unwrap();
    assert_eq!(done.status, OrchestrationStatus::Completed);
    assert!(done.next_calls.is_empty());
    let waiting = replay(&recorded(false), chain("first", "")).unwrap();
    assert_eq!(waiting.status, OrchestrationStatus::Running);
    assert!(waiting.next_calls.is_empty(), "{waiting:?}");
    // a history survives its JSON form (timestamps kept to 100 ns, as DTFx keeps them)
    let once = StoredHistory::from_json(&recorded(true).to_json()).unwrap();
    assert_eq!(StoredHistory::from_json(&once.to_json()).unwrap(), once);
    assert!(replay(&once, chain("first", "")).is_ok());
}

#[test]
fn a_renamed_call_names_the_event_and_the_call() {
    for finished in [true, false] {
        let e = replay(&recorded(finished), chain("renamed", "")).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, ReplayError::Nondeterministic { .. }), "{e:?}");
        assert!(
            text.contains("TaskScheduled \"first\"")
                && text.contains("EventId 0")
                && text.contains("call_activity(\"renamed\")"),
            "{text}"
        );
    }
}

#[test]
fn another_result_and_an_unreadable_input_are_reported() {
    let e = replay(&recorded(true), chain("first", "total ")).unwrap_err();
    assert!(
        matches!(&e, ReplayError::DifferentResult { recorded, replayed, .. }
            if recorded == "completed with \"3\"" && replayed == "returns \"total 3\""),
        "{e:?}"
    );
    let reads_text = resolver(vec![(
        "O",
        orchestrator_fn(
            "O",
            |_: OrchestrationContext, s: String| async move { Ok(s) },
        ),
    )]);
    let e = replay(&recorded(false), reads_text).unwrap_err();
    assert!(
        matches!(&e, ReplayError::Failed { failure, .. } if failure.error_message.contains("input")),
        "{e:?}"
    );
}

#[test]
fn a_missing_orchestrator_or_a_history_without_a_start_is_reported() {
    let e = replay(&recorded(true), resolver(vec![])).unwrap_err();
    assert!(matches!(e, ReplayError::NoOrchestrator { ref name, .. } if name == "O"));
    let mut stored = recorded(true);
    stored
        .history
        .retain(|e| e.event_type().name() != "ExecutionStarted");
    assert!(matches!(
        replay(&stored, chain("first", "")),
        Err(ReplayError::NotAnOrchestration { .. })
    ));
}

/// One orchestrator per kind of action, each recorded, replayed as it is, and replayed after a
/// change of name (or of kind): the change names the recorded event and the call made instead.
#[test]
fn every_kind_of_action_matches_its_history_and_a_changed_one_is_named() {
    use crate::history::{EventKind, HistoryEvent};

    /// Orchestrator "O" making one call of `kind` with `name`.
    fn one(kind: &'static str, name: &'static str) -> Resolver {
        resolver(vec![(
            "O",
            orchestrator_fn("O", move |ctx: OrchestrationContext, _: ()| async move {
                match kind {
                    "activity" => {
                        let _: i64 = ctx.call_activity_by_name(name, &1).await?;
                    }
                    "timer" => ctx.sleep(std::time::Duration::from_secs(60)).await,
                    "sub" => {
                        let _: i64 = ctx.call_sub_orchestrator_by_name(name, None, &1).await?;
                    }
                    _ => ctx.send_event("other", name, &1),
                }
                Ok(0)
            }),
        )])
    }
    let h = |kind: &str, name: &str| -> Vec<HistoryEvent> {
        let mut b = History::started("O", "null");
        match kind {
            "activity" => b
                .task_scheduled(0, name)
                .next_episode()
                .task_completed(0, "1"),
            "timer" => b
                .timer_created(0, t(60))
                .next_episode()
                .timer_fired(0, t(60)),
            "sub" => b
                .sub_created(0, name, "child")
                .next_episode()
                .sub_completed(0, "1"),
            _ => b.event_sent(0, "other", name, "1"),
        };
        let mut events = b.build();
        events.push(HistoryEvent::with_id(
            1,
            t(1),
            EventKind::ExecutionCompleted {
                status: OrchestrationStatus::Completed,
                result: Some("0".into()),
                failure_details: None,
            },
        ));
        events
    };
    let cases = [
        ("activity", "TaskScheduled \"a\"", "call_activity(\"b\")"),
        (
            "sub",
            "SubOrchestrationInstanceCreated \"a\"",
            "call_sub_orchestrator(\"b\")",
        ),
        ("send", "EventSent \"a\"", "send_event(\"other\", \"b\")"),
    ];
    for (kind, recorded, called) in cases {
        let stored = StoredHistory::from_events(h(kind, "a")).unwrap();
        assert!(replay(&stored, one(kind, "a")).is_ok(), "{kind}");
        let e = replay(&stored, one(kind, "b")).unwrap_err().to_string();
        assert!(e.contains(recorded) && e.contains(called), "{kind}: {e}");
    }
    // a timer has no name: replaced by another kind of call
    let stored = StoredHistory::from_events(h("timer", "")).unwrap();
    assert!(replay(&stored, one("timer", "")).is_ok());
    let e = replay(&stored, one("activity", "a"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TimerCreated") && e.contains("call_activity(\"a\")"),
        "{e}"
    );
}

mod episodes {
    use crate::replay::check::compare_episodes;
    use crate::tests::builder::*;

    use super::chain;

    #[test]
    fn the_same_episode_compares_equal_and_another_call_is_named() {
        let run = |first| {
            let r = chain(first, "");
            let mut ex = crate::replay::Execution::new(r);
            ex.run_episode(t(0), vec![start_event("O", "1")])
        };
        assert_eq!(compare_episodes(&run("first"), &run("first")), None);
        let d = compare_episodes(&run("first"), &run("renamed")).unwrap();
        assert!(
            d.contains("calls activity \"first\" (id 0)")
                && d.contains("calls activity \"renamed\" (id 0)"),
            "{d}"
        );
    }
}
