//! The orchestration side of entities: calls, signals and critical sections, live and replayed.

use super::builder::*;
use crate::engine::context::OrchestrationContext;
use crate::engine::entity::messages::{RequestMessage, ResponseMessage, LOCK_GRANTED};
use crate::engine::entity::EntityId;
use crate::engine::function::orchestrator_fn;
use crate::engine::history::{EventKind, HistoryEvent, OrchestrationStatus};
use crate::engine::replay::{EpisodeOutput, Execution, Outbound, Resolver};

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
    let failed = ResponseMessage::failed(crate::engine::history::FailureDetails::new("Boom", "no"));
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
            Err::<(), _>(crate::engine::failure::Failure::msg("inside the section"))
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
