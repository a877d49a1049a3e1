//! The executor's message sorter and batch size cap, against canned messages:
//! out-of-order delivery, duplicates, the reorder window, bypasses, and `continue`.

use crate::environment::SequentialIds;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::executor::{run_batch, BatchOutput};
use super::messages::{RequestMessage, CONTINUE, OP};
use super::sorter::MessageSorter;
use super::{entity_fn, EntityFn, EntityId, EntityOptions, SchedulerState};
use crate::history::{EventKind, HistoryEvent};
use crate::replay::Outbound;

/// Appends each `push` input to a list: the state shows the order operations ran in.
fn log() -> EntityFn {
    entity_fn(|ctx| {
        let mut list: Vec<i64> = ctx.get_state(Vec::new)?;
        match ctx.operation_name() {
            "push" => {
                list.push(ctx.get_input()?);
                ctx.set_state(&list)
            }
            "tell" => ctx.signal_entity(&EntityId::new("log", "other")?, "push", &1),
            _ => Ok(()),
        }
    })
}

fn id() -> EntityId {
    EntityId::new("log", "l1").unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    crate::time::parse("2026-01-01T00:00:00Z").unwrap() + chrono::Duration::minutes(minutes)
}

fn event(name: &str, request: &RequestMessage) -> HistoryEvent {
    HistoryEvent::new(
        chrono::Utc::now(),
        EventKind::EventRaised {
            name: name.into(),
            input: Some(serde_json::to_string(request).unwrap()),
            parent_trace_context: None,
        },
    )
}

/// `n` labelled pushes (inputs 1..=n) from one orchestration execution, all sent at `at(0)`.
fn labelled(n: i64, execution: &str) -> Vec<HistoryEvent> {
    let mut sender = MessageSorter::default();
    (1..=n)
        .map(|i| {
            let mut r = RequestMessage::operation(
                format!("r{i}"),
                "push",
                Some(i.to_string()),
                true,
                chrono::Utc::now(),
            );
            r.parent = Some("orch".into());
            r.parent_execution = Some(execution.into());
            sender.label_outgoing(
                &mut r,
                &id().scheduler_id(),
                at(0),
                Duration::from_secs(1800),
            );
            event(OP, &r)
        })
        .collect()
}

fn run(state: SchedulerState, events: Vec<HistoryEvent>, now: DateTime<Utc>) -> BatchOutput {
    run_batch(
        &id(),
        state,
        events,
        Some(&log()),
        now,
        &EntityOptions::default(),
        &SequentialIds::default(),
    )
}

fn list(out: &BatchOutput) -> Vec<i64> {
    serde_json::from_str(out.state.state.as_deref().unwrap_or("[]")).unwrap()
}

/// (target, event name, visible at) of every outbound message.
fn sent(out: &BatchOutput) -> Vec<(String, String, Option<DateTime<Utc>>)> {
    out.messages
        .iter()
        .filter_map(|m| match m {
            Outbound::Orchestration {
                message,
                visible_at,
            } => match &message.event.kind {
                EventKind::EventRaised { name, .. } => {
                    Some((message.instance_id().to_string(), name.clone(), *visible_at))
                }
                _ => None,
            },
            Outbound::Activity(_) => None,
        })
        .collect()
}

#[test]
fn requests_delivered_out_of_order_run_in_the_order_they_were_sent() {
    let m = labelled(3, "e1");
    // The third arrives first: held back, and a `continue` is due once the window has passed.
    let out = run(SchedulerState::default(), vec![m[2].clone()], at(1));
    assert_eq!(out.operations, 0);
    assert_eq!(out.state.status().queue_size, 1);
    assert_eq!(
        sent(&out),
        [(id().scheduler_id(), CONTINUE.to_string(), Some(at(31)))]
    );
    // The input survives the row: the buffered request is in the stored scheduler state.
    let json = out.state.to_input().unwrap();
    assert!(json.contains("\"ReceivedFromInstance\""), "{json}");
    let state = SchedulerState::from_input(Some(&json)).unwrap();
    let out = run(state, vec![m[1].clone()], at(2));
    assert_eq!(out.operations, 0);
    let out = run(out.state, vec![m[0].clone()], at(3));
    assert_eq!(out.operations, 3);
    assert_eq!(list(&out), [1, 2, 3]);
    assert_eq!(out.state.status().queue_size, 0);
}

#[test]
fn exact_duplicates_are_dropped_delivered_or_still_buffered() {
    let m = labelled(3, "e1");
    let out = run(
        SchedulerState::default(),
        vec![m[0].clone(), m[2].clone()],
        at(1),
    );
    assert_eq!(list(&out), [1]);
    // A crash-resend of all three: 1 was run, 3 is buffered; only 2 is new.
    let out = run(out.state, m.clone(), at(2));
    assert_eq!(out.duplicates, 2);
    assert_eq!(list(&out), [1, 2, 3]);
    // And once more, later: everything is a duplicate.
    let out = run(out.state, m, at(3));
    assert_eq!((out.duplicates, out.operations), (3, 0));
    assert_eq!(list(&out), [1, 2, 3]);
}

#[test]
fn a_request_whose_predecessor_never_comes_runs_once_the_window_has_passed() {
    let m = labelled(3, "e1");
    let out = run(
        SchedulerState::default(),
        vec![m[2].clone(), m[1].clone()],
        at(1),
    );
    assert_eq!(out.operations, 0);
    let out = run(out.state, vec![], at(29));
    assert_eq!(out.operations, 0, "still inside the window");
    let continue_event = HistoryEvent::new(
        chrono::Utc::now(),
        EventKind::EventRaised {
            name: CONTINUE.into(),
            input: None,
            parent_trace_context: None,
        },
    );
    let out = run(out.state, vec![continue_event], at(31));
    assert_eq!(list(&out), [2, 3]);
    // Senders not heard from within the window are forgotten...
    assert!(out.state.sorter.received_from_instance.is_empty());
    // ...so the lost first request, should it show up after all, runs late (at least once).
    let out = run(out.state, vec![m[0].clone()], at(32));
    assert_eq!((out.duplicates, list(&out)), (0, vec![2, 3, 1]));
}

#[test]
fn a_new_execution_of_the_sender_starts_a_new_sequence() {
    let first = labelled(1, "e1");
    let out = run(SchedulerState::default(), first.clone(), at(1));
    // Continue-as-new in the same episode: the same clock, so the same first timestamp.
    let second = labelled(1, "e2");
    let out = run(out.state, second, at(1));
    assert_eq!((out.duplicates, list(&out)), (0, vec![1, 1]));
}

#[test]
fn client_signals_scheduled_forwarded_and_unlabelled_requests_bypass_the_sorter() {
    let mut client = RequestMessage::operation(
        "c".into(),
        "push",
        Some("1".into()),
        true,
        chrono::Utc::now(),
    );
    client.predecessor = Some(Some(at(-5)));
    let mut scheduled = RequestMessage::operation(
        "s".into(),
        "push",
        Some("2".into()),
        true,
        chrono::Utc::now(),
    );
    scheduled.parent = Some("orch".into());
    scheduled.predecessor = Some(Some(at(-5)));
    scheduled.due = Some(at(0));
    let mut unlabelled = RequestMessage::operation(
        "u".into(),
        "push",
        Some("3".into()),
        true,
        chrono::Utc::now(),
    );
    unlabelled.parent = Some("orch".into());
    let json = serde_json::to_string(&unlabelled).unwrap();
    let unlabelled: RequestMessage =
        serde_json::from_str(&json.replace(",\"Predecessor\":\"0001-01-01T00:00:00Z\"", ""))
            .unwrap();
    assert_eq!(unlabelled.predecessor, None);
    let events = vec![
        event(OP, &client),
        event("op@x", &scheduled),
        event(OP, &unlabelled),
    ];
    let out = run(SchedulerState::default(), events.clone(), at(1));
    assert_eq!(list(&out), [1, 2, 3]);
    // Nothing was recorded for them, so their resends are not recognised (at least once).
    assert!(out.state.sorter.received_from_instance.is_empty());
}

#[test]
fn dotnet_min_value_and_field_names_read_as_the_extension_writes_them() {
    let json = r#"{"exists":true,"state":"[7]","sorter":{"ReceivedFromInstance":{"orch":
        {"Last":"2026-01-01T00:00:00.0000000Z","ExecutionId":"e1"}},
        "ReceiveHorizon":"2025-12-31T23:30:00.0000000Z","SendHorizon":"0001-01-01T00:00:00Z"}}"#;
    let state = SchedulerState::from_input(Some(json)).unwrap();
    let entry = &state.sorter.received_from_instance["orch"];
    assert_eq!(entry.last, Some(at(0)));
    let request = r#"{"op":"push","input":"9","id":"x","parent":"orch","parentExecution":"e1",
        "signal":true,"Timestamp":"2026-01-01T00:00:00.0000001Z","Predecessor":"0001-01-01T00:00:00"}"#;
    let request: RequestMessage = serde_json::from_str(request).unwrap();
    assert_eq!(
        request.predecessor,
        Some(None),
        ".NET's MinValue: first in sequence"
    );
    let out = run(state, vec![event(OP, &request)], at(1));
    assert_eq!(list(&out), [7, 9]);
}

#[test]
fn a_capped_batch_continues_itself_in_order_in_the_next_work_items() {
    let options = EntityOptions {
        max_operation_batch_size: 2,
        ..EntityOptions::default()
    };
    let go = |state, events| {
        run_batch(
            &id(),
            state,
            events,
            Some(&log()),
            at(1),
            &options,
            &SequentialIds::default(),
        )
    };
    let out = go(SchedulerState::default(), labelled(5, "e1"));
    assert_eq!(
        (out.operations, out.capped, out.state.suspended),
        (2, true, true)
    );
    assert_eq!(
        sent(&out),
        [(id().scheduler_id(), CONTINUE.to_string(), None)]
    );
    assert!(out.state.to_input().unwrap().contains("\"suspended\":true"));
    // New requests arrive before the `continue`: they wait behind the rest, no second continue.
    let mut late = RequestMessage::operation(
        "late".into(),
        "push",
        Some("6".into()),
        true,
        chrono::Utc::now(),
    );
    late.predecessor = None;
    let out = go(out.state, vec![event(OP, &late)]);
    assert_eq!(list(&out), [1, 2, 3, 4]);
    assert!(sent(&out).is_empty(), "a continue is already on its way");
    let resume = HistoryEvent::new(
        chrono::Utc::now(),
        EventKind::EventRaised {
            name: CONTINUE.into(),
            input: None,
            parent_trace_context: None,
        },
    );
    let out = go(out.state, vec![resume]);
    assert_eq!(list(&out), [1, 2, 3, 4, 5, 6]);
    assert!(!out.capped && !out.state.suspended);
    assert!(sent(&out).is_empty());
}

#[test]
fn signals_an_entity_sends_are_labelled_with_the_entity_as_sender() {
    let tell = RequestMessage::operation("t".into(), "tell", None, true, chrono::Utc::now());
    let out = run(
        SchedulerState::default(),
        vec![event(OP, &tell), event(OP, &tell)],
        at(1),
    );
    let requests: Vec<RequestMessage> = out
        .messages
        .iter()
        .filter_map(|m| match m {
            Outbound::Orchestration { message, .. } => match &message.event.kind {
                EventKind::EventRaised { input, .. } => {
                    serde_json::from_str(input.as_deref()?).ok()
                }
                _ => None,
            },
            Outbound::Activity(_) => None,
        })
        .collect();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].parent.as_deref(), Some("@log@l1"));
    assert_eq!(requests[1].predecessor, Some(Some(requests[0].timestamp)));
    assert!(out
        .state
        .sorter
        .last_sent_to_instance
        .contains_key("@log@other"));
}
