//! The conversions: history both ways for every event kind, a worker's actions as a decision,
//! and answers that cannot be used.

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::proto::orchestrator_action::OrchestratorActionType as A;
use durable_engine::history::{
    EventKind, ExecutionStarted, FailureDetails, HistoryEvent, OrchestrationInstance,
    OrchestrationStatus, ParentInstance, TraceContext,
};
use durable_engine::replay::remote::Action;
use durable_engine::replay::Outcome;

fn at(secs: u32, nanos: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, secs).unwrap()
        + chrono::Duration::nanoseconds(nanos.into())
}

fn trace() -> TraceContext {
    TraceContext {
        trace_parent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        trace_state: Some("k=v".into()),
        id: None,
        span_id: Some("b7ad6b7169203331".into()),
        activity_start_time: None,
    }
}

fn failure() -> FailureDetails {
    FailureDetails {
        error_type: "ValueError".into(),
        error_message: "bad".into(),
        stack_trace: Some("at x".into()),
        inner_failure: Some(Box::new(FailureDetails::new("KeyError", "k"))),
        is_non_retriable: true,
        properties: Some([("code".to_string(), serde_json::json!(7.0))].into()),
    }
}

fn tags() -> Option<Tags> {
    Some([("team".to_string(), "a".to_string())].into())
}

/// One event of every kind the protocol carries, with every field it keeps.
fn every_kind() -> Vec<EventKind> {
    let instance = OrchestrationInstance {
        instance_id: "child".into(),
        execution_id: Some("e1".into()),
    };
    vec![
        EventKind::ExecutionStarted(Box::new(ExecutionStarted {
            orchestration_instance: instance.clone(),
            parent_instance: Some(ParentInstance {
                name: Some("parent".into()),
                orchestration_instance: OrchestrationInstance {
                    instance_id: "p".into(),
                    execution_id: Some("pe".into()),
                },
                task_schedule_id: 3,
                version: Some("2".into()),
            }),
            name: "hello".into(),
            version: Some("1".into()),
            input: Some("\"in\"".into()),
            tags: tags(),
            parent_trace_context: Some(trace()),
            scheduled_start_time: Some(at(9, 0)),
            ..ExecutionStarted::default()
        })),
        EventKind::ExecutionCompleted {
            status: OrchestrationStatus::Failed,
            result: Some("r".into()),
            failure_details: Some(failure()),
        },
        EventKind::ExecutionTerminated {
            input: Some("\"stop\"".into()),
        },
        EventKind::TaskScheduled {
            name: "act".into(),
            version: Some("v".into()),
            input: Some("1".into()),
            tags: tags(),
            parent_trace_context: Some(trace()),
        },
        EventKind::TaskCompleted {
            task_scheduled_id: 4,
            result: Some("2".into()),
        },
        EventKind::TaskFailed {
            task_scheduled_id: 5,
            reason: Some("bad".into()),
            details: None,
            failure_details: Some(failure()),
        },
        EventKind::SubOrchestrationInstanceCreated {
            name: "sub".into(),
            version: None,
            instance_id: "child".into(),
            input: None,
            client_span_id: None,
            tags: tags(),
        },
        EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: 6,
            result: None,
        },
        EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id: 7,
            reason: Some("bad".into()),
            details: None,
            failure_details: Some(failure()),
        },
        EventKind::TimerCreated {
            fire_at: at(30, 500),
        },
        EventKind::TimerFired {
            timer_id: 8,
            fire_at: at(30, 500),
        },
        EventKind::OrchestratorStarted,
        EventKind::OrchestratorCompleted,
        EventKind::EventSent {
            instance_id: "other".into(),
            name: "ping".into(),
            input: Some("{}".into()),
        },
        EventKind::EventRaised {
            name: "Approval".into(),
            input: Some("true".into()),
            parent_trace_context: None,
        },
        EventKind::ContinueAsNew {
            result: Some("5".into()),
            failure_details: None,
        },
        EventKind::GenericEvent {
            data: Some("d".into()),
        },
        EventKind::ExecutionSuspended {
            reason: Some("wait".into()),
        },
        EventKind::ExecutionResumed {
            reason: Some("go".into()),
        },
        EventKind::ExecutionRewound {
            reason: Some("again".into()),
            parent_execution_id: Some("pe".into()),
            instance_id: Some("i".into()),
            parent_trace_context: Some(trace()),
        },
    ]
}

#[test]
fn history_round_trips_for_every_kind_the_protocol_carries() {
    for (n, kind) in every_kind().into_iter().enumerate() {
        let event = HistoryEvent::with_id(n as i32 - 1, at(1, 123_456_700), kind);
        let sent = history_event(&event).expect("carried");
        assert_eq!(sent.event_id, event.event_id);
        let back = engine_event(sent).expect("read back");
        assert_eq!(back, event, "event {n}");
    }
}

#[test]
fn the_kinds_a_worker_is_never_sent_are_left_out() {
    for kind in [
        EventKind::ExecutionFailed,
        EventKind::HistoryState { state: None },
    ] {
        assert!(history_event(&HistoryEvent::new(at(0, 0), kind)).is_none());
    }
}

#[test]
fn a_task_failure_without_details_is_described_by_its_reason() {
    let event = HistoryEvent::new(
        at(0, 0),
        EventKind::TaskFailed {
            task_scheduled_id: 1,
            reason: Some("it broke".into()),
            details: Some("trace".into()),
            failure_details: None,
        },
    );
    let Some(proto::history_event::EventType::TaskFailed(f)) =
        history_event(&event).unwrap().event_type
    else {
        panic!("not a taskFailed");
    };
    let details = f.failure_details.unwrap();
    assert_eq!(details.error_type, "TaskFailed");
    assert_eq!(details.error_message, "it broke");
    assert_eq!(details.stack_trace.as_deref(), Some("trace"));
}

#[test]
fn statuses_and_values_round_trip() {
    for s in OrchestrationStatus::ALL {
        assert_eq!(status_from_proto(status_to_proto(s)).unwrap(), s);
    }
    assert!(status_from_proto(42).unwrap_err().0.contains("42"));
    let json = serde_json::json!({"a": [1.5, true, null, "x"], "b": {"c": -2.0}});
    assert_eq!(value_to_json(json_to_value(&json)), json);
    let nan = prost_types::Value {
        kind: Some(prost_types::value::Kind::NumberValue(f64::NAN)),
    };
    assert_eq!(value_to_json(nan), serde_json::Value::Null);
}

#[test]
fn a_bad_timestamp_is_an_error_that_names_the_field() {
    let bad = proto::HistoryEvent {
        event_id: 1,
        timestamp: Some(prost_types::Timestamp {
            seconds: 0,
            nanos: -5,
        }),
        event_type: Some(proto::history_event::EventType::OrchestratorStarted(
            proto::OrchestratorStartedEvent {},
        )),
    };
    assert!(engine_event(bad).unwrap_err().0.contains("timestamp"));
    let untyped = proto::HistoryEvent {
        event_id: 2,
        timestamp: Some(timestamp(at(0, 0))),
        event_type: None,
    };
    assert!(engine_event(untyped).unwrap_err().0.contains("no type"));
}

fn episode() -> Episode {
    Episode {
        instance_id: "inst".into(),
        version: Some("3".into()),
    }
}

fn action(id: i32, kind: A) -> proto::OrchestratorAction {
    proto::OrchestratorAction {
        id,
        orchestrator_action_type: Some(kind),
    }
}

fn respond(actions: Vec<proto::OrchestratorAction>) -> proto::OrchestratorResponse {
    proto::OrchestratorResponse {
        instance_id: "inst".into(),
        actions,
        custom_status: Some("\"busy\"".into()),
        ..Default::default()
    }
}

fn complete(status: proto::OrchestrationStatus) -> proto::CompleteOrchestrationAction {
    proto::CompleteOrchestrationAction {
        orchestration_status: status as i32,
        ..Default::default()
    }
}

#[test]
fn actions_become_the_engines_actions_with_their_ids() {
    let response = respond(vec![
        action(
            0,
            A::ScheduleTask(proto::ScheduleTaskAction {
                name: "hello".into(),
                input: Some("\"Tokyo\"".into()),
                ..Default::default()
            }),
        ),
        action(
            1,
            A::CreateTimer(proto::CreateTimerAction {
                fire_at: Some(timestamp(at(40, 0))),
            }),
        ),
        action(
            2,
            A::CreateSubOrchestration(proto::CreateSubOrchestrationAction {
                name: "child".into(),
                ..Default::default()
            }),
        ),
        action(
            3,
            A::CreateSubOrchestration(proto::CreateSubOrchestrationAction {
                instance_id: "named".into(),
                name: "child".into(),
                version: Some("9".into()),
                input: Some("1".into()),
                ..Default::default()
            }),
        ),
        action(
            4,
            A::SendEvent(proto::SendEventAction {
                instance: Some(proto::OrchestrationInstance {
                    instance_id: "other".into(),
                    execution_id: None,
                }),
                name: "go".into(),
                data: Some("{}".into()),
            }),
        ),
    ]);
    let d = decision(&episode(), response).unwrap();
    assert_eq!(d.custom_status.as_deref(), Some("\"busy\""));
    assert!(d.end.is_none());
    assert_eq!(
        d.actions,
        vec![
            (
                0,
                Action::ScheduleTask {
                    name: "hello".into(),
                    input: Some("\"Tokyo\"".into()),
                    timeout: None,
                    input_in_history: false,
                }
            ),
            (1, Action::CreateTimer { fire_at: at(40, 0) }),
            (
                2,
                Action::CreateSubOrchestration {
                    name: "child".into(),
                    instance_id: "inst:0002".into(),
                    version: Some("3".into()),
                    input: None,
                }
            ),
            (
                3,
                Action::CreateSubOrchestration {
                    name: "child".into(),
                    instance_id: "named".into(),
                    version: Some("9".into()),
                    input: Some("1".into()),
                }
            ),
            (
                4,
                Action::SendEvent {
                    instance_id: "other".into(),
                    name: "go".into(),
                    input: Some("{}".into()),
                }
            ),
        ]
    );
}

#[test]
fn completions_end_the_orchestration() {
    use proto::OrchestrationStatus as S;
    let ended = |c: proto::CompleteOrchestrationAction| {
        decision(
            &episode(),
            respond(vec![action(9, A::CompleteOrchestration(c))]),
        )
        .unwrap()
    };
    let d = ended(proto::CompleteOrchestrationAction {
        result: Some("42".into()),
        ..complete(S::Completed)
    });
    assert_eq!(d.end, Some(Outcome::Completed(Some("42".into()))));
    assert!(d.actions.is_empty());

    let d = ended(proto::CompleteOrchestrationAction {
        failure_details: Some(failure_to_proto(&failure())),
        ..complete(S::Failed)
    });
    assert_eq!(d.end, Some(Outcome::Failed(failure())));

    let d = ended(proto::CompleteOrchestrationAction {
        details: Some("no details".into()),
        ..complete(S::Failed)
    });
    assert_eq!(
        d.end,
        Some(Outcome::Failed(FailureDetails::new(
            "OrchestrationFailed",
            "no details"
        )))
    );

    let d = ended(proto::CompleteOrchestrationAction {
        result: Some("\"why\"".into()),
        ..complete(S::Terminated)
    });
    assert_eq!(d.end, Some(Outcome::Terminated(Some("\"why\"".into()))));

    let raised = |name: &str, input: &str| proto::HistoryEvent {
        event_id: -1,
        timestamp: Some(timestamp(at(0, 0))),
        event_type: Some(proto::history_event::EventType::EventRaised(
            proto::EventRaisedEvent {
                name: name.into(),
                input: Some(input.into()),
            },
        )),
    };
    let d = ended(proto::CompleteOrchestrationAction {
        result: Some("7".into()),
        carryover_events: vec![raised("a", "1"), raised("b", "2")],
        ..complete(S::ContinuedAsNew)
    });
    assert_eq!(d.end, Some(Outcome::ContinuedAsNew(Some("7".into()))));
    assert_eq!(
        d.carried,
        vec![
            ("a".to_string(), Some("1".to_string())),
            ("b".to_string(), Some("2".to_string()))
        ]
    );
    assert_eq!(d.new_version, None);
    let d = ended(proto::CompleteOrchestrationAction {
        new_version: Some("2".into()),
        ..complete(S::ContinuedAsNew)
    });
    assert_eq!(d.new_version.as_deref(), Some("2"));
}

#[test]
fn unsupported_actions_fail_the_orchestration_with_a_clear_message() {
    let kinds = [
        (
            A::TerminateOrchestration(proto::TerminateOrchestrationAction::default()),
            "terminateOrchestration",
        ),
        (
            A::RewindOrchestration(proto::RewindOrchestrationAction {}),
            "rewindOrchestration",
        ),
    ];
    for (kind, name) in kinds {
        let schedule = action(
            0,
            A::ScheduleTask(proto::ScheduleTaskAction {
                name: "a".into(),
                ..Default::default()
            }),
        );
        let d = decision(&episode(), respond(vec![schedule, action(1, kind)])).unwrap();
        assert!(d.actions.is_empty());
        let Some(Outcome::Failed(f)) = d.end else {
            panic!("{name}: not failed");
        };
        assert_eq!(f.error_type, UNSUPPORTED_ACTION);
        assert!(f.is_non_retriable);
        assert!(f.error_message.contains(name), "{}", f.error_message);
    }
}

#[test]
fn answers_that_cannot_be_read_are_errors() {
    use proto::OrchestrationStatus as S;
    let cases: Vec<(proto::OrchestratorResponse, &str)> = vec![
        (
            respond(vec![proto::OrchestratorAction {
                id: 1,
                orchestrator_action_type: None,
            }]),
            "no type",
        ),
        (
            respond(vec![action(
                2,
                A::CreateTimer(proto::CreateTimerAction { fire_at: None }),
            )]),
            "fireAt",
        ),
        (
            respond(vec![action(
                3,
                A::ScheduleTask(proto::ScheduleTaskAction::default()),
            )]),
            "no name",
        ),
        (
            respond(vec![action(
                4,
                A::SendEvent(proto::SendEventAction::default()),
            )]),
            "target",
        ),
        (
            respond(vec![action(
                5,
                A::CompleteOrchestration(complete(S::Running)),
            )]),
            "Running",
        ),
        (
            respond(vec![action(
                6,
                A::CompleteOrchestration(proto::CompleteOrchestrationAction {
                    orchestration_status: 42,
                    ..Default::default()
                }),
            )]),
            "42",
        ),
        (
            proto::OrchestratorResponse {
                is_partial: true,
                ..respond(vec![])
            },
            "isPartial",
        ),
    ];
    for (response, says) in cases {
        let e = decision(&episode(), response).unwrap_err();
        assert!(e.0.contains(says), "{e} should say {says}");
        let status = tonic::Status::from(e);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }
}

#[test]
fn activity_answers_are_results_or_failures() {
    let ok = proto::ActivityResponse {
        result: Some("\"hi\"".into()),
        ..Default::default()
    };
    assert_eq!(activity_answer(ok), Ok(Some("\"hi\"".into())));
    let failed = proto::ActivityResponse {
        failure_details: Some(failure_to_proto(&failure())),
        ..Default::default()
    };
    assert_eq!(activity_answer(failed), Err(failure()));
}

#[test]
fn an_instance_state_shows_payloads_only_when_asked() {
    let state = durable_store::InstanceState {
        instance_id: "i".into(),
        execution_id: "e".into(),
        name: "n".into(),
        version: Some(String::new()),
        status: OrchestrationStatus::Failed,
        input: Some("1".into()),
        output: Some("2".into()),
        custom_status: Some("3".into()),
        failure_details: Some(failure()),
        parent_instance_id: Some("p".into()),
        created_at: at(1, 0),
        last_updated_at: at(2, 0),
        completed_at: Some(at(3, 0)),
        history_len: 4,
        tags: tags().unwrap(),
    };
    let full = orchestration_state(&state, true);
    assert_eq!(
        full.orchestration_status,
        proto::OrchestrationStatus::Failed as i32
    );
    assert_eq!(full.version, None);
    assert_eq!(
        (
            full.input.as_deref(),
            full.output.as_deref(),
            full.custom_status.as_deref()
        ),
        (Some("1"), Some("2"), Some("3"))
    );
    assert_eq!(full.execution_id.as_deref(), Some("e"));
    assert_eq!(full.completed_timestamp, Some(timestamp(at(3, 0))));
    assert_eq!(full.tags.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        full.failure_details.map(failure_from_proto),
        Some(failure())
    );
    let bare = orchestration_state(&state, false);
    assert_eq!(
        (bare.input, bare.output, bare.custom_status),
        (None, None, None)
    );
}
