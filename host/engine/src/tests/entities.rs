//! The orchestration side of entities: calls, signals and critical sections, live and replayed.

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::entity::messages::{RequestMessage, ResponseMessage, LOCK_GRANTED};
use crate::entity::EntityId;
use crate::function::orchestrator_fn;
use crate::history::{EventKind, HistoryEvent, OrchestrationStatus};
use crate::replay::{EpisodeOutput, Execution, Outbound, Resolver};

fn counter(key: &str) -> EntityId {
    EntityId::new("counter", key).unwrap()
}

/// (target, event name, request) of every entity request an episode sends.
fn requests(out: &EpisodeOutput) -> Vec<(String, String, String)> {
    out.messages
        .iter()
        .filter_map(|m| match m {
            Outbound::Orchestration { message, .. } => match &message.event.kind {
                EventKind::EventRaised { name, input, .. } => Some((
                    message.instance_id().to_string(),
                    name.clone(),
                    input.clone().unwrap_or_default(),
                )),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn answer(request: &str, result: ResponseMessage) -> EventKind {
    let r: RequestMessage = serde_json::from_str(request).unwrap();
    event_raised(&r.id, &serde_json::to_string(&result).unwrap())
}

fn caller() -> Resolver {
    resolver(vec![(
        "Caller",
        orchestrator_fn("Caller", |ctx: OrchestrationContext, _: ()| async move {
            let c = counter("c1");
            ctx.signal_entity(&c, "add", &5);
            let v: i64 = ctx.call_entity(&c, "get", &()).await?;
            Ok(v)
        }),
    )])
}

#[test]
fn call_entity_sends_a_request_and_awaits_the_response_named_by_its_id() {
    let r = caller();
    let mut ex = Execution::new(r.clone());
    let first = ex.run_episode(t(0), vec![start_event("Caller", "null")]);
    assert_eq!(names(&first)[2..4], ["EventSent#0:op", "EventSent#1:op"]);
    let sent = requests(&first);
    assert_eq!(sent[0].0, "@counter@c1");
    let signal: RequestMessage = serde_json::from_str(&sent[0].2).unwrap();
    assert!(signal.signal);
    assert_eq!(signal.input.as_deref(), Some("5"));
    let call: RequestMessage = serde_json::from_str(&sent[1].2).unwrap();
    assert!(!call.signal);
    assert_eq!(call.parent.as_deref(), Some(INSTANCE));
    assert_eq!(call.op.as_deref(), Some("get"));

    let reply = answer(&sent[1].2, ResponseMessage::ok(Some("5".into())));
    let done = ex.run_episode(t(1), vec![msg(reply.clone())]);
    assert_eq!(done.status, OrchestrationStatus::Completed);
    assert_eq!(done.output.as_deref(), Some("5"));

    // Replaying the first episode gives the same request ids, so the same reply completes it.
    let (_, replayed) = replay_then(&r, &first.new_events, 1, vec![reply]);
    assert_eq!(replayed.output.as_deref(), Some("5"));
}

#[test]
fn a_failed_entity_operation_fails_the_call() {
    let r = caller();
    let mut ex = Execution::new(r);
    let first = ex.run_episode(t(0), vec![start_event("Caller", "null")]);
    let sent = requests(&first);
    let failed = ResponseMessage::failed(crate::history::FailureDetails::new("Boom", "no"));
    let done = ex.run_episode(t(1), vec![msg(answer(&sent[1].2, failed))]);
    assert_eq!(done.status, OrchestrationStatus::Failed);
    assert!(done.output.unwrap().contains("no"));
}

fn transfer() -> Resolver {
    resolver(vec![(
        "Transfer",
        orchestrator_fn("Transfer", |ctx: OrchestrationContext, _: ()| async move {
            let (a, b) = (counter("b"), counter("a"));
            let lock = ctx.lock(&[a.clone(), b.clone(), a.clone()]).await?;
            assert!(
                ctx.lock(std::slice::from_ref(&a)).await.is_err(),
                "one section at a time"
            );
            let v: i64 = ctx.call_entity(&a, "get", &()).await?;
            drop(lock);
            Ok(v)
        }),
    )])
}

#[test]
fn lock_sends_one_sorted_request_and_releases_every_entity_when_dropped() {
    let r = transfer();
    let mut ex = Execution::new(r.clone());
    let mut history: Vec<HistoryEvent> = Vec::new();
    let first = ex.run_episode(t(0), vec![start_event("Transfer", "null")]);
    history.extend(first.new_events.clone());
    let sent = requests(&first);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "@counter@a", "the smallest id is locked first");
    let lock: RequestMessage = serde_json::from_str(&sent[0].2).unwrap();
    assert_eq!(
        lock.lockset.as_ref().unwrap(),
        &vec![counter("a"), counter("b")]
    );

    let grant = answer(&sent[0].2, ResponseMessage::ok(Some(LOCK_GRANTED.into())));
    let second = ex.run_episode(t(1), vec![msg(grant.clone())]);
    history.extend(second.new_events.clone());
    let call = requests(&second);
    assert_eq!(call.len(), 1);
    assert_eq!(call[0].0, "@counter@b");

    let reply = answer(&call[0].2, ResponseMessage::ok(Some("42".into())));
    let third = ex.run_episode(t(2), vec![msg(reply.clone())]);
    assert_eq!(third.status, OrchestrationStatus::Completed);
    let releases: Vec<_> = requests(&third)
        .into_iter()
        .map(|(to, name, _)| (to, name))
        .collect();
    assert_eq!(
        releases,
        [
            ("@counter@a".to_string(), "release".to_string()),
            ("@counter@b".to_string(), "release".to_string())
        ]
    );

    // Replay decides the same.
    let (_, replayed) = replay_then(&r, &history, 2, vec![reply]);
    assert_eq!(replayed.output.as_deref(), Some("42"));
    assert_eq!(requests(&replayed).len(), 2);
}

#[test]
fn a_failing_critical_section_still_releases_its_locks() {
    let r = resolver(vec![(
        "Fails",
        orchestrator_fn("Fails", |ctx: OrchestrationContext, _: ()| async move {
            let _lock = ctx.lock(&[counter("a")]).await?;
            Err::<(), _>(crate::failure::Failure::msg("inside the section"))
        }),
    )]);
    let mut ex = Execution::new(r);
    let first = ex.run_episode(t(0), vec![start_event("Fails", "null")]);
    let sent = requests(&first);
    let grant = answer(&sent[0].2, ResponseMessage::ok(Some(LOCK_GRANTED.into())));
    let done = ex.run_episode(t(1), vec![msg(grant)]);
    assert_eq!(done.status, OrchestrationStatus::Failed);
    let names: Vec<_> = requests(&done).into_iter().map(|(_, n, _)| n).collect();
    assert_eq!(names, ["release"]);
}

fn holds_a_lock() -> Resolver {
    resolver(vec![(
        "Holds",
        orchestrator_fn("Holds", |ctx: OrchestrationContext, _: ()| async move {
            let _lock = ctx.lock(&[counter("b"), counter("a")]).await?;
            ctx.wait_for_external_event::<()>("never").await?;
            Ok(())
        }),
    )])
}

fn terminate() -> crate::message::TaskMessage {
    msg(EventKind::ExecutionTerminated {
        input: Some("\"stop\"".into()),
    })
}

#[test]
fn a_terminated_lock_holder_releases_every_entity_and_replays_the_same() {
    let r = holds_a_lock();
    let mut ex = Execution::new(r.clone());
    let first = ex.run_episode(t(0), vec![start_event("Holds", "null")]);
    let sent = requests(&first);
    let grant = answer(&sent[0].2, ResponseMessage::ok(Some(LOCK_GRANTED.into())));
    let second = ex.run_episode(t(1), vec![msg(grant.clone())]);
    assert!(requests(&second).is_empty());
    let done = ex.run_episode(t(2), vec![terminate()]);
    assert_eq!(done.status, OrchestrationStatus::Terminated);
    let releases: Vec<_> = requests(&done)
        .into_iter()
        .map(|(to, name, _)| (to, name))
        .collect();
    assert_eq!(
        releases,
        [
            ("@counter@a".to_string(), "release".to_string()),
            ("@counter@b".to_string(), "release".to_string())
        ]
    );
    // The releases are recorded (EventSent), so a replay of the whole history agrees.
    let mut history = first.new_events.clone();
    history.extend(second.new_events.clone());
    history.extend(done.new_events.clone());
    let replayed = Execution::from_history(r, &history);
    assert!(matches!(
        replayed.outcome(),
        Some(crate::replay::Outcome::Terminated(_))
    ));
}

#[test]
fn a_holder_terminated_while_waiting_for_its_locks_releases_them_too() {
    let mut ex = Execution::new(holds_a_lock());
    ex.run_episode(t(0), vec![start_event("Holds", "null")]);
    let done = ex.run_episode(t(1), vec![terminate()]);
    let names: Vec<_> = requests(&done).into_iter().map(|(_, n, _)| n).collect();
    assert_eq!(names, ["release", "release"]);
}

#[test]
fn a_terminated_orchestration_without_locks_sends_nothing() {
    let mut ex = Execution::new(caller());
    ex.run_episode(t(0), vec![start_event("Caller", "null")]);
    let done = ex.run_episode(t(1), vec![terminate()]);
    assert_eq!(done.status, OrchestrationStatus::Terminated);
    assert!(done.messages.is_empty());
}

#[test]
fn requests_are_labelled_from_the_replay_clock_in_order_per_entity() {
    let r = resolver(vec![(
        "Many",
        orchestrator_fn("Many", |ctx: OrchestrationContext, _: ()| async move {
            for n in 0..3 {
                ctx.signal_entity(&counter("a"), "add", &n);
            }
            ctx.signal_entity(&counter("b"), "add", &1);
            let v: i64 = ctx.call_entity(&counter("a"), "get", &()).await?;
            ctx.signal_entity(&counter("a"), "add", &v);
            Ok(v)
        }),
    )]);
    let mut ex = Execution::new(r.clone());
    let first = ex.run_episode(t(0), vec![start_event("Many", "null")]);
    let labels: Vec<(String, RequestMessage)> = requests(&first)
        .into_iter()
        .map(|(to, _, json)| (to, serde_json::from_str(&json).unwrap()))
        .collect();
    let to_a: Vec<&RequestMessage> = labels
        .iter()
        .filter(|(to, _)| to == "@counter@a")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(to_a.len(), 4);
    assert_eq!(
        to_a[0].timestamp,
        t(0),
        "the episode's clock, not the wall clock"
    );
    assert_eq!(to_a[0].predecessor, Some(None));
    for pair in to_a.windows(2) {
        assert!(pair[1].timestamp > pair[0].timestamp, "strictly increasing");
        assert_eq!(pair[1].predecessor, Some(Some(pair[0].timestamp)));
    }
    let to_b = &labels.iter().find(|(to, _)| to == "@counter@b").unwrap().1;
    assert_eq!((to_b.timestamp, to_b.predecessor), (t(0), Some(None)));
    assert!(to_a
        .iter()
        .all(|r| r.parent_execution.as_deref() == Some(EXECUTION)));

    // A crash before the commit: the episode runs again and sends exactly the same labels,
    // which is what lets the entity recognise the resends as duplicates.
    let resent = Execution::new(r.clone()).run_episode(t(0), vec![start_event("Many", "null")]);
    assert_eq!(requests(&resent), requests(&first));

    // A later episode continues the chain, live and after a replay alike.
    let reply = answer(
        &serde_json::to_string(to_a[3]).unwrap(),
        ResponseMessage::ok(Some("3".into())),
    );
    let live = ex.run_episode(t(1), vec![msg(reply.clone())]);
    let (_, replayed) = replay_then(&r, &first.new_events, 1, vec![reply]);
    assert_eq!(requests(&live), requests(&replayed));
    let last: RequestMessage = serde_json::from_str(&requests(&live)[0].2).unwrap();
    assert_eq!(last.timestamp, t(1));
    assert_eq!(last.predecessor, Some(Some(to_a[3].timestamp)));
}

/// An id built field by field with a key entity ids may not contain.
fn bad_id() -> EntityId {
    EntityId {
        name: "counter".into(),
        key: "a/b".into(),
    }
}

#[test]
fn a_call_or_lock_on_an_invalid_entity_id_fails_without_sending_anything() {
    let r = resolver(vec![(
        "BadIds",
        orchestrator_fn("BadIds", |ctx: OrchestrationContext, _: ()| async move {
            let call = ctx.call_entity::<_, i64>(&bad_id(), "get", &()).await;
            let lock = ctx.lock(&[counter("ok"), bad_id()]).await;
            let errors = [call.err(), lock.err()];
            Ok(errors
                .iter()
                .map(|e| e.as_ref().map_or("none".to_string(), |e| e.to_string()))
                .collect::<Vec<_>>())
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("BadIds", "null")]);
    assert_eq!(
        out.status,
        OrchestrationStatus::Completed,
        "{:?}",
        out.output
    );
    assert!(requests(&out).is_empty(), "nothing is sent");
    let errors: Vec<String> = serde_json::from_str(out.output.as_deref().unwrap()).unwrap();
    assert_eq!(errors.len(), 2);
    for e in errors {
        assert!(
            e.contains("InvalidEntityId") || e.contains("cannot contain"),
            "{e}"
        );
    }
}

#[test]
fn a_signal_to_an_invalid_entity_id_fails_the_orchestration() {
    let r = resolver(vec![(
        "BadSignal",
        orchestrator_fn("BadSignal", |ctx: OrchestrationContext, _: ()| async move {
            ctx.signal_entity(&bad_id(), "add", &1);
            Ok(())
        }),
    )]);
    let mut ex = Execution::new(r);
    let out = ex.run_episode(t(0), vec![start_event("BadSignal", "null")]);
    assert_eq!(out.status, OrchestrationStatus::Failed);
    assert!(requests(&out).is_empty(), "nothing is sent");
    let details = out.failure_details.expect("failure details");
    assert_eq!(details.error_type, "InvalidEntityId");
}
