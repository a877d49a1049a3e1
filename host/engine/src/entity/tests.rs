//! The batch executor against canned messages: ordering, failures, deletion and locks.

use super::executor::{run_batch, BatchOutput};
use super::messages::{ReleaseMessage, RequestMessage, ResponseMessage, LOCK_GRANTED, OP, RELEASE};
use super::{entity_fn, EntityFn, EntityId, EntityOptions, SchedulerState};
use crate::environment::SequentialIds;
use crate::failure::Failure;
use crate::history::{EventKind, HistoryEvent};
use crate::replay::Outbound;

fn counter() -> EntityFn {
    entity_fn(|ctx| {
        let value: i64 = ctx.get_state(|| 0)?;
        match ctx.operation_name() {
            "add" => {
                let n: i64 = ctx.get_input()?;
                ctx.set_state(&(value + n))
            }
            "get" => ctx.set_result(&value),
            "delete" => {
                ctx.delete_state();
                Ok(())
            }
            "fail" => {
                ctx.set_state(&-1)?;
                Err(Failure::new("Boom", "always fails"))
            }
            op => Err(Failure::new("UnknownOperation", op.to_string())),
        }
    })
}

fn now() -> chrono::DateTime<chrono::Utc> {
    crate::time::parse("2026-01-01T00:00:00Z").unwrap()
}

fn opts() -> EntityOptions {
    EntityOptions::default()
}

fn id() -> EntityId {
    EntityId::new("Counter", "c1").unwrap()
}

fn raised(name: &str, payload: &impl serde::Serialize) -> HistoryEvent {
    HistoryEvent::new(
        chrono::Utc::now(),
        EventKind::EventRaised {
            name: name.to_string(),
            input: Some(serde_json::to_string(payload).unwrap()),
            parent_trace_context: None,
        },
    )
}

fn call(request_id: &str, op: &str, input: Option<&str>, parent: Option<&str>) -> HistoryEvent {
    let mut r = RequestMessage::operation(
        request_id.into(),
        op,
        input.map(String::from),
        parent.is_none(),
        chrono::Utc::now(),
    );
    r.parent = parent.map(String::from);
    raised(OP, &r)
}

/// (target, event name, payload) of every outbound message.
fn sent(out: &BatchOutput) -> Vec<(String, String, String)> {
    out.messages
        .iter()
        .map(|m| match m {
            Outbound::Orchestration { message, .. } => match &message.event.kind {
                EventKind::EventRaised { name, input, .. } => (
                    message.instance_id().to_string(),
                    name.clone(),
                    input.clone().unwrap_or_default(),
                ),
                other => panic!("unexpected {other:?}"),
            },
            Outbound::Activity(_) => panic!("entities schedule no activities"),
        })
        .collect()
}

fn response(payload: &str) -> ResponseMessage {
    serde_json::from_str(payload).unwrap()
}

#[test]
fn ids_parse_and_format() {
    assert_eq!(id().scheduler_id(), "@counter@c1");
    assert_eq!(
        EntityId::from_scheduler_id("@counter@A@b").unwrap().key,
        "A@b"
    );
    assert_eq!(EntityId::from_scheduler_id("@x@").unwrap().key, "");
    assert!(EntityId::from_scheduler_id("counter").is_err());
    assert!(EntityId::new("", "k").is_err());
    assert!(EntityId::new("a@b", "k").is_err());
    assert!(EntityId::new("a", "k/1").is_err());
}

#[test]
fn operations_run_in_arrival_order_in_one_batch() {
    let f = counter();
    let events = vec![
        call("1", "add", Some("5"), None),
        call("2", "add", Some("-2"), None),
        call("3", "get", None, Some("orch")),
        call("4", "add", Some("10"), None),
        call("5", "get", None, Some("orch")),
    ];
    let out = run_batch(
        &id(),
        SchedulerState::default(),
        events,
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.operations, 5);
    assert_eq!(out.state.state.as_deref(), Some("13"));
    let msgs = sent(&out);
    assert_eq!(msgs.len(), 2, "signals get no response");
    assert_eq!((msgs[0].0.as_str(), msgs[0].1.as_str()), ("orch", "3"));
    assert_eq!(response(&msgs[0].2).result.as_deref(), Some("3"));
    assert_eq!(response(&msgs[1].2).result.as_deref(), Some("13"));
    assert!(out.state.status().entity_exists);
}

#[test]
fn a_failed_operation_leaves_the_state_and_answers_with_the_error() {
    let f = counter();
    let start = SchedulerState {
        state: Some("7".into()),
        exists: true,
        ..Default::default()
    };
    let out = run_batch(
        &id(),
        start,
        vec![call("1", "fail", None, Some("orch"))],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.state.state.as_deref(), Some("7"));
    let r = response(&sent(&out)[0].2);
    assert_eq!(r.exception_type.as_deref(), Some("Boom"));
    assert_eq!(r.failure().unwrap().error_message, "always fails");
}

#[test]
fn deleting_the_state_empties_the_entity() {
    let f = counter();
    let start = SchedulerState {
        state: Some("7".into()),
        exists: true,
        ..Default::default()
    };
    let out = run_batch(
        &id(),
        start,
        vec![call("1", "delete", None, None)],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert!(out.state.is_empty());
    assert_eq!(out.state.to_input(), None);
    assert!(!out.state.status().entity_exists);
}

#[test]
fn unknown_entities_fail_calls_and_bad_payloads_are_dropped() {
    let bad = HistoryEvent::new(
        chrono::Utc::now(),
        EventKind::EventRaised {
            name: OP.into(),
            input: Some("{not json".into()),
            parent_trace_context: None,
        },
    );
    let out = run_batch(
        &id(),
        SchedulerState::default(),
        vec![bad, call("1", "get", None, Some("o"))],
        None,
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    let r = response(&sent(&out)[0].2);
    assert_eq!(r.exception_type.as_deref(), Some("EntityFunctionNotFound"));
}

#[test]
fn a_panicking_operation_is_a_failure() {
    let f = entity_fn(|_| panic!("kaput"));
    let out = run_batch(
        &id(),
        SchedulerState::default(),
        vec![call("1", "x", None, Some("o"))],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    let r = response(&sent(&out)[0].2);
    assert_eq!(r.exception_type.as_deref(), Some("Panic"));
    assert!(r.result.unwrap().contains("kaput"));
}

fn lock_request(id: &str, parent: &str, set: &[EntityId], pos: usize) -> HistoryEvent {
    let mut r = RequestMessage::operation(id.into(), "", None, false, chrono::Utc::now());
    r.op = None;
    r.parent = Some(parent.into());
    r.lockset = Some(set.to_vec());
    r.pos = pos;
    raised(OP, &r)
}

#[test]
fn locks_forward_along_the_set_then_grant_and_serve_only_the_holder() {
    let f = counter();
    let a = EntityId::new("counter", "a").unwrap();
    let b = EntityId::new("counter", "b").unwrap();
    let set = vec![a.clone(), b.clone()];
    // At a: take the lock, forward to b.
    let out = run_batch(
        &a,
        SchedulerState::default(),
        vec![lock_request("L", "orch", &set, 0)],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.state.locked_by.as_deref(), Some("orch"));
    let msgs = sent(&out);
    assert_eq!((msgs[0].0.as_str(), msgs[0].1.as_str()), ("@counter@b", OP));
    let forwarded: RequestMessage = serde_json::from_str(&msgs[0].2).unwrap();
    assert_eq!(forwarded.pos, 1);
    // At b: take the lock, grant.
    let out_b = run_batch(
        &b,
        SchedulerState::default(),
        vec![raised(OP, &forwarded)],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    let granted = sent(&out_b);
    assert_eq!(
        (granted[0].0.as_str(), granted[0].1.as_str()),
        ("orch", "L")
    );
    assert_eq!(
        response(&granted[0].2).result.as_deref(),
        Some(LOCK_GRANTED)
    );
    // While a is locked, another caller waits; the holder is served.
    let events = vec![
        call("x", "add", Some("1"), Some("other")),
        call("y", "add", Some("2"), Some("orch")),
    ];
    let out = run_batch(
        &a,
        out.state,
        events,
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.state.state.as_deref(), Some("2"));
    assert_eq!(out.state.queue.len(), 1);
    assert_eq!(out.state.status().queue_size, 1);
    // A release by someone else changes nothing; the holder's release lets the waiter run.
    let wrong = ReleaseMessage {
        parent: "other".into(),
        id: "L".into(),
    };
    let out = run_batch(
        &a,
        out.state,
        vec![raised(RELEASE, &wrong)],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.state.locked_by.as_deref(), Some("orch"));
    let release = ReleaseMessage {
        parent: "orch".into(),
        id: "L".into(),
    };
    let out = run_batch(
        &a,
        out.state,
        vec![raised(RELEASE, &release)],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.state.locked_by, None);
    assert_eq!(out.state.state.as_deref(), Some("3"));
    assert!(out.state.queue.is_empty());
}

#[test]
fn scheduler_state_round_trips_through_the_instance_input() {
    let mut s = SchedulerState {
        exists: true,
        state: Some("{\"a\":1}".into()),
        ..Default::default()
    };
    s.locked_by = Some("orch".into());
    let json = s.to_input().unwrap();
    assert!(json.contains("\"lockedBy\":\"orch\""), "{json}");
    assert_eq!(SchedulerState::from_input(Some(&json)).unwrap(), s);
    assert_eq!(
        SchedulerState::from_input(None).unwrap(),
        SchedulerState::default()
    );
    assert!(SchedulerState::from_input(Some("[")).is_err());
}

#[test]
fn a_lock_request_released_before_it_ran_never_takes_the_lock() {
    let f = counter();
    let a = EntityId::new("counter", "a").unwrap();
    let b = EntityId::new("counter", "b").unwrap();
    let release = ReleaseMessage {
        parent: "orch".into(),
        id: "L".into(),
    };
    // The orchestration gave up on its lock: the request and the release arrive together.
    let events = vec![
        lock_request("L", "orch", &[a.clone(), b], 0),
        raised(RELEASE, &release),
    ];
    let out = run_batch(
        &a,
        SchedulerState::default(),
        events,
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.state.locked_by, None);
    assert!(sent(&out).is_empty(), "not forwarded to the next entity");
    assert!(out.state.is_empty());
}

#[test]
fn a_fix_orphaned_lock_release_frees_the_entity_for_the_waiting_requests() {
    let f = counter();
    let locked = SchedulerState {
        locked_by: Some("gone".into()),
        queue: vec![serde_json::from_str(
            r#"{"op":"add","input":"4","id":"w","signal":true,"Timestamp":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap()],
        ..Default::default()
    };
    let release = ReleaseMessage {
        parent: "gone".into(),
        id: super::messages::FIX_ORPHANED_LOCK.into(),
    };
    let out = run_batch(
        &id(),
        locked,
        vec![raised(RELEASE, &release)],
        Some(&f),
        now(),
        &opts(),
        &SequentialIds::default(),
    );
    assert_eq!(out.state.locked_by, None);
    assert_eq!(out.state.state.as_deref(), Some("4"));
}
