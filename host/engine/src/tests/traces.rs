//! Distributed tracing in the engine: span ids stamped into history, spans reported once
//! by the episode that ends them, the same whether the execution stayed live or replayed.

use std::time::Duration;

use super::builder::*;
use crate::context::OrchestrationContext;
use crate::environment::Environment;
use crate::function::orchestrator_fn;
use crate::history::{EventKind, HistoryEvent, TraceContext};
use crate::replay::{EpisodeOutput, Execution, Outbound, Resolver};
use crate::trace::{AttrValue, SpanContext, SpanKind, SpanRecord};

const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// Timer, activity, sub-orchestration, a sent event, then done.
fn traced() -> Resolver {
    resolver(vec![(
        "Traced",
        orchestrator_fn("Traced", |ctx: OrchestrationContext, _: ()| async move {
            let at = ctx.current_utc_datetime() + Duration::from_secs(1);
            ctx.create_timer(at).await;
            let hello: String = ctx.call_activity_by_name("Hello", "Tokyo").await?;
            let child: i32 = ctx
                .call_sub_orchestrator_by_name("Child", None, &21)
                .await?;
            ctx.send_event("other", "Ping", &child);
            Ok(hello)
        }),
    )])
}

fn env(resolver: &Resolver, traces: bool) -> Environment {
    Environment::deterministic(resolver.clone()).with_traces(traces)
}

fn start(trace_parent: Option<&str>) -> crate::message::TaskMessage {
    let mut m = start_event("Traced", "null");
    m.event.timestamp = t(0);
    if let EventKind::ExecutionStarted(s) = &mut m.event.kind {
        s.parent_trace_context = trace_parent.map(|p| TraceContext {
            trace_parent: Some(p.into()),
            trace_state: Some("k=v".into()),
            ..TraceContext::default()
        });
    }
    m
}

/// A message to this instance sent at `t(n)`.
fn at(n: i64, kind: EventKind) -> crate::message::TaskMessage {
    crate::message::TaskMessage::new(me(), HistoryEvent::new(t(n), kind))
}

/// The messages that answer episode `n`'s wait.
fn answers(n: i64) -> Vec<crate::message::TaskMessage> {
    let kind = match n {
        1 => EventKind::TimerFired {
            timer_id: 0,
            fire_at: t(1),
        },
        2 => task_completed(1, "\"Hello Tokyo!\""),
        _ => EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: 2,
            result: Some("42".into()),
        },
    };
    vec![at(n, kind)]
}

/// Runs `Traced` to its end: live throughout, or replaying the history before each episode.
/// Returns the history and each episode's output.
fn run(replaying: bool, traces: bool) -> (Vec<HistoryEvent>, Vec<EpisodeOutput>) {
    let r = traced();
    let env = env(&r, traces);
    let mut ex = Execution::new(env.clone());
    let mut history = Vec::new();
    let mut outs = Vec::new();
    for n in 0..4 {
        if replaying && n > 0 {
            ex = Execution::from_history(env.clone(), &history);
        }
        let messages = if n == 0 {
            vec![start(Some(PARENT))]
        } else {
            answers(n)
        };
        let out = ex.run_episode(t(n), messages);
        history.extend(out.new_events.iter().cloned());
        outs.push(out);
    }
    (history, outs)
}

fn by_name<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn text(span: &SpanRecord, key: &str) -> String {
    match span.attribute(key) {
        Some(AttrValue::Int(i)) => i.to_string(),
        Some(v) => v.as_str().unwrap_or_default().to_owned(),
        None => panic!("{} has no {key}", span.name),
    }
}

#[test]
fn every_span_is_reported_once_by_the_episode_that_ends_it() {
    let (history, outs) = run(false, true);
    let per_episode: Vec<Vec<&str>> = outs
        .iter()
        .map(|o| o.spans.iter().map(|s| s.name.as_str()).collect())
        .collect();
    assert_eq!(
        per_episode,
        vec![
            vec![],
            vec!["orchestration:Traced:timer"],
            vec!["activity:Hello"],
            vec![
                "orchestration:Child",
                "orchestration_event:Ping",
                "orchestration:Traced"
            ],
        ]
    );
    let spans: Vec<SpanRecord> = outs.into_iter().flat_map(|o| o.spans).collect();
    let parent = SpanContext::parse(PARENT, None).unwrap();

    // The orchestration's span: its ids are in ExecutionStarted, its parent the starter's.
    let EventKind::ExecutionStarted(started) = &history[1].kind else {
        panic!("ExecutionStarted first")
    };
    let tc = started.parent_trace_context.as_ref().unwrap();
    assert_eq!(tc.trace_parent.as_deref(), Some(PARENT));
    let orchestration = by_name(&spans, "orchestration:Traced");
    assert_eq!(tc.span_id, Some(orchestration.context.span_id.to_string()));
    assert_eq!(tc.id, Some(orchestration.context.traceparent()));
    assert_eq!(orchestration.kind, SpanKind::Server);
    assert_eq!(orchestration.parent, Some(parent.span_id));
    assert_eq!(orchestration.context.trace_id, parent.trace_id);
    assert_eq!(orchestration.context.trace_state.as_deref(), Some("k=v"));
    assert_eq!((orchestration.start, orchestration.end), (t(0), t(3)));
    assert_eq!(text(orchestration, "durabletask.task.status"), "Completed");
    assert_eq!(
        text(orchestration, "durabletask.task.instance_id"),
        INSTANCE
    );
    assert_eq!(
        text(orchestration, "durabletask.task.execution_id"),
        EXECUTION
    );
    let own = orchestration.context.span_id;

    // Every other span is the orchestration's child, in its trace, and unique.
    for s in spans.iter().filter(|s| s.name != "orchestration:Traced") {
        assert_eq!(s.parent, Some(own), "{}", s.name);
        assert_eq!(s.context.trace_id, parent.trace_id, "{}", s.name);
    }
    let mut ids: Vec<_> = spans.iter().map(|s| s.context.span_id).collect();
    ids.sort_by_key(|i| i.0);
    ids.dedup();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");

    // The activity call: the id in TaskScheduled, from scheduling to completion.
    let activity = by_name(&spans, "activity:Hello");
    let scheduled = history
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TaskScheduled {
                parent_trace_context,
                ..
            } => SpanContext::from_history(parent_trace_context.as_ref()),
            _ => None,
        })
        .unwrap();
    assert_eq!(scheduled, activity.context);
    assert_eq!((activity.kind, activity.start), (SpanKind::Client, t(1)));
    assert_eq!(text(activity, "durabletask.task.task_id"), "1");

    let timer = by_name(&spans, "orchestration:Traced:timer");
    assert_eq!(
        (timer.kind, timer.start, timer.end),
        (SpanKind::Internal, t(0), t(1))
    );
    assert_eq!(
        text(timer, "durabletask.fire_at"),
        "2024-01-01T00:00:01.000000Z"
    );

    // The sub-orchestration call: its id in SubOrchestrationInstanceCreated.
    let child = by_name(&spans, "orchestration:Child");
    let client_span_id = history.iter().find_map(|e| match &e.kind {
        EventKind::SubOrchestrationInstanceCreated { client_span_id, .. } => client_span_id.clone(),
        _ => None,
    });
    assert_eq!(client_span_id, Some(child.context.span_id.to_string()));
    assert_eq!(child.kind, SpanKind::Client);

    let event = by_name(&spans, "orchestration_event:Ping");
    assert_eq!(event.kind, SpanKind::Producer);
    assert_eq!(text(event, "durabletask.event.instance_id"), "other");
}

#[test]
fn replaying_reports_the_same_spans_as_staying_live() {
    let (live_history, live) = run(false, true);
    let (replayed_history, replayed) = run(true, true);
    assert_eq!(live_history, replayed_history);
    let spans = |outs: Vec<EpisodeOutput>| -> Vec<SpanRecord> {
        outs.into_iter().flat_map(|o| o.spans).collect()
    };
    assert_eq!(spans(live), spans(replayed));
}

#[test]
fn calls_carry_their_span_to_the_work_they_start() {
    let r = traced();
    let env = env(&r, true);
    let mut ex = Execution::new(env);
    let _ = ex.run_episode(t(0), vec![start(Some(PARENT))]);
    let out = ex.run_episode(t(1), answers(1));
    let Some(Outbound::Activity(request)) = out.messages.first() else {
        panic!("an activity request")
    };
    let EventKind::TaskScheduled {
        parent_trace_context,
        ..
    } = &request.event.kind
    else {
        panic!("TaskScheduled")
    };
    let call = SpanContext::from_history(parent_trace_context.as_ref()).unwrap();
    assert_eq!(
        call.trace_id,
        SpanContext::parse(PARENT, None).unwrap().trace_id
    );

    let out = ex.run_episode(t(2), answers(2));
    let Some(Outbound::Orchestration { message, .. }) = out.messages.first() else {
        panic!("a child start")
    };
    let EventKind::ExecutionStarted(child) = &message.event.kind else {
        panic!("ExecutionStarted")
    };
    let call = SpanContext::from_history(child.parent_trace_context.as_ref()).unwrap();
    let created = out.new_events.iter().find_map(|e| match &e.kind {
        EventKind::SubOrchestrationInstanceCreated { client_span_id, .. } => client_span_id.clone(),
        _ => None,
    });
    assert_eq!(created, Some(call.span_id.to_string()));

    let out = ex.run_episode(t(3), answers(3));
    let sent = out.messages.iter().find_map(|m| match m {
        Outbound::Orchestration { message, .. } => match &message.event.kind {
            EventKind::EventRaised {
                parent_trace_context,
                ..
            } => SpanContext::from_history(parent_trace_context.as_ref()),
            _ => None,
        },
        _ => None,
    });
    let event = by_name(&out.spans, "orchestration_event:Ping");
    assert_eq!(sent, Some(event.context.clone()));
}

#[test]
fn with_tracing_off_history_carries_nothing_and_nothing_is_reported() {
    let (history, outs) = run(false, false);
    assert!(outs.iter().all(|o| o.spans.is_empty()));
    for e in &history {
        match &e.kind {
            EventKind::ExecutionStarted(s) => {
                let tc = s.parent_trace_context.as_ref().unwrap();
                assert_eq!((&tc.id, &tc.span_id), (&None, &None), "not stamped");
            }
            EventKind::TaskScheduled {
                parent_trace_context,
                ..
            } => assert_eq!(parent_trace_context, &None),
            EventKind::SubOrchestrationInstanceCreated { client_span_id, .. } => {
                assert_eq!(client_span_id, &None)
            }
            _ => {}
        }
    }
}

#[test]
fn an_instance_started_without_a_trace_starts_one() {
    let r = traced();
    let mut ex = Execution::new(env(&r, true));
    let first = ex.run_episode(t(0), vec![start(None)]);
    let mut spans = first.spans;
    for n in 1..4 {
        spans.extend(ex.run_episode(t(n), answers(n)).spans);
    }
    let orchestration = by_name(&spans, "orchestration:Traced");
    assert_eq!(orchestration.parent, None, "the root of its trace");
    assert!(spans
        .iter()
        .all(|s| s.context.trace_id == orchestration.context.trace_id));
}

#[test]
fn received_events_link_to_their_send_and_continue_as_new_starts_a_new_span() {
    let r = resolver(vec![(
        "Loop",
        orchestrator_fn("Loop", |ctx: OrchestrationContext, n: i32| async move {
            let _: i32 = ctx.wait_for_external_event("Go").await?;
            if n == 0 {
                ctx.continue_as_new(&1);
            }
            Ok(n)
        }),
    )]);
    let mut ex = Execution::new(env(&r, true));
    let mut first = start_event("Loop", "0");
    if let EventKind::ExecutionStarted(s) = &mut first.event.kind {
        s.parent_trace_context = Some(SpanContext::parse(PARENT, None).unwrap().to_history());
    }
    let sender = SpanContext::parse(
        "00-11111111111111111111111111111111-2222222222222222-01",
        None,
    )
    .unwrap();
    let go = || {
        at(
            1,
            EventKind::EventRaised {
                name: "Go".into(),
                input: Some("1".into()),
                parent_trace_context: Some(sender.to_history()),
            },
        )
    };
    let _ = ex.run_episode(t(0), vec![first]);
    let out = ex.run_episode(t(1), vec![go()]);
    assert!(out.new_execution);
    let ended = by_name(&out.spans, "orchestration:Loop");
    assert_eq!(text(ended, "durabletask.task.status"), "ContinuedAsNew");
    assert_eq!(ended.links, vec![sender.clone()]);
    let EventKind::ExecutionStarted(next) = &out.new_events[1].kind else {
        panic!("the next generation's ExecutionStarted")
    };
    let tc = next.parent_trace_context.as_ref().unwrap();
    assert_eq!(tc.trace_parent.as_deref(), Some(PARENT), "same parent");
    assert_ne!(
        tc.span_id,
        Some(ended.context.span_id.to_string()),
        "a span of its own"
    );

    let mut again = go();
    again.orchestration_instance.execution_id = None; // to whichever execution runs
    let out = ex.run_episode(t(2), vec![again]);
    let second = by_name(&out.spans, "orchestration:Loop");
    assert_eq!(Some(second.context.span_id.to_string()), tc.span_id);
    assert_eq!(second.parent, ended.parent);
    assert_eq!(second.start, t(1));
}

#[test]
fn a_trace_sampled_out_writes_nothing_and_reports_nothing() {
    let r = traced();
    for (parent, sampler) in [
        // the caller's trace is not sampled
        (
            Some(PARENT.replace("-01", "-00")),
            crate::trace::Sampler::default(),
        ),
        // a new trace, and none are sampled
        (
            None,
            crate::trace::Sampler {
                ratio: 0.0,
                parent_based: true,
            },
        ),
    ] {
        let mut env = env(&r, true);
        env.sampler = sampler;
        let mut ex = Execution::new(env);
        let mut outs = vec![ex.run_episode(t(0), vec![start(parent.as_deref())])];
        for n in 1..4 {
            outs.push(ex.run_episode(t(n), answers(n)));
        }
        assert!(outs.iter().all(|o| o.spans.is_empty()), "{parent:?}");
        for e in outs.iter().flat_map(|o| &o.new_events) {
            match &e.kind {
                EventKind::ExecutionStarted(s) => {
                    let stamped = s.parent_trace_context.as_ref().and_then(|c| c.id.clone());
                    assert_eq!(stamped, None, "{parent:?}");
                }
                EventKind::TaskScheduled {
                    parent_trace_context,
                    ..
                } => assert_eq!(parent_trace_context, &None, "{parent:?}"),
                _ => {}
            }
        }
    }
}
