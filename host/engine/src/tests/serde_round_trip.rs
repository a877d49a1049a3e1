//! Every event type survives a JSON round trip in the DTFx shape.

use std::collections::BTreeMap;

use super::builder::*;
use crate::history::*;
use crate::message::TaskMessage;

fn all_kinds() -> Vec<EventKind> {
    let fd = FailureDetails {
        inner_failure: Some(Box::new(FailureDetails::new("Inner", "cause"))),
        ..FailureDetails::new("E", "m")
    };
    let tags: Tags = BTreeMap::from([("k".to_string(), "v".to_string())]);
    let trace = TraceContext {
        trace_parent: Some("00-abc-def-01".into()),
        ..Default::default()
    };
    vec![
        EventKind::ExecutionStarted(Box::new(ExecutionStarted {
            orchestration_instance: me(),
            parent_instance: Some(ParentInstance {
                name: Some("P".into()),
                orchestration_instance: me(),
                task_schedule_id: 3,
                version: Some("1".into()),
            }),
            name: "N".into(),
            version: Some("2".into()),
            input: Some("{}".into()),
            tags: Some(tags.clone()),
            correlation: Some("c".into()),
            parent_trace_context: Some(trace.clone()),
            scheduled_start_time: Some(t(9)),
            generation: Some(1),
            generate_new_trace: Some(true),
        })),
        EventKind::ExecutionCompleted {
            status: OrchestrationStatus::Failed,
            result: Some("r".into()),
            failure_details: Some(fd.clone()),
        },
        EventKind::ExecutionFailed,
        EventKind::ExecutionTerminated {
            input: Some("why".into()),
        },
        EventKind::TaskScheduled {
            name: "A".into(),
            version: Some("v".into()),
            input: Some("1".into()),
            tags: Some(tags.clone()),
            parent_trace_context: Some(trace.clone()),
        },
        task_completed(1, "2"),
        EventKind::TaskFailed {
            task_scheduled_id: 1,
            reason: Some("r".into()),
            details: Some("d".into()),
            failure_details: Some(fd.clone()),
        },
        EventKind::SubOrchestrationInstanceCreated {
            name: "C".into(),
            version: None,
            instance_id: "c1".into(),
            input: Some("3".into()),
            client_span_id: Some("s".into()),
            tags: Some(tags),
        },
        EventKind::SubOrchestrationInstanceCompleted {
            task_scheduled_id: 2,
            result: None,
        },
        EventKind::SubOrchestrationInstanceFailed {
            task_scheduled_id: 2,
            reason: None,
            details: None,
            failure_details: Some(fd),
        },
        EventKind::TimerCreated { fire_at: t(5) },
        EventKind::TimerFired {
            timer_id: 4,
            fire_at: t(5),
        },
        EventKind::OrchestratorStarted,
        EventKind::OrchestratorCompleted,
        EventKind::EventSent {
            instance_id: "x".into(),
            name: "E".into(),
            input: Some("1".into()),
        },
        event_raised("E", "1"),
        EventKind::ContinueAsNew {
            result: Some("5".into()),
            failure_details: None,
        },
        EventKind::GenericEvent {
            data: Some("d".into()),
        },
        EventKind::HistoryState {
            state: Some(serde_json::json!({"a": 1})),
        },
        EventKind::ExecutionSuspended {
            reason: Some("s".into()),
        },
        EventKind::ExecutionResumed { reason: None },
        EventKind::ExecutionRewound {
            reason: Some("r".into()),
            parent_execution_id: Some("p".into()),
            instance_id: Some("i".into()),
            parent_trace_context: Some(trace),
        },
    ]
}

#[test]
fn every_event_type_round_trips() {
    let kinds = all_kinds();
    assert_eq!(kinds.len(), EventType::ALL.len());
    for (i, kind) in kinds.into_iter().enumerate() {
        assert_eq!(kind.event_type() as usize, i);
        let ev = HistoryEvent {
            event_id: 7,
            is_played: true,
            timestamp: t(1),
            kind,
        };
        let json = serde_json::to_string(&ev).unwrap();
        let back: HistoryEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ev, "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["EventType"], i as i64);
        assert_eq!(v["Timestamp"], "2024-01-01T00:00:01.0000000Z");
    }
}

#[test]
fn reads_the_dtfx_message_shape() {
    let json = r#"{"$type":"DurableTask.Core.TaskMessage",
      "Event":{"$type":"DurableTask.Core.History.ExecutionStartedEvent",
        "OrchestrationInstance":{"$type":"DurableTask.Core.OrchestrationInstance","InstanceId":"abc","ExecutionId":"aae324dcc8f943e490b37ec5e5bbf9da"},
        "EventType":0,"ParentInstance":null,"Name":"OrchestrationName","Version":"2.0","Input":"input",
        "Tags":{"a":"b"},"Correlation":null,"ScheduledStartTime":null,"Generation":0,
        "EventId":-1,"IsPlayed":false,"Timestamp":"2023-03-24T20:53:05.9093518Z"},
      "SequenceNumber":0,
      "OrchestrationInstance":{"$type":"DurableTask.Core.OrchestrationInstance","InstanceId":"abc","ExecutionId":"aae324dcc8f943e490b37ec5e5bbf9da"}}"#;
    let m: TaskMessage = serde_json::from_str(json).unwrap();
    let EventKind::ExecutionStarted(s) = &m.event.kind else {
        panic!()
    };
    assert_eq!(s.name, "OrchestrationName");
    assert_eq!(s.input.as_deref(), Some("input"));
    assert_eq!(
        crate::time::format(&m.event.timestamp),
        "2023-03-24T20:53:05.9093518Z"
    );
}

#[test]
fn unknown_event_types_and_missing_fields_are_errors_not_panics() {
    assert!(serde_json::from_str::<HistoryEvent>(r#"{"EventType":99}"#).is_err());
    assert!(serde_json::from_str::<HistoryEvent>(r#"{"EventType":4,"EventId":0}"#).is_err());
}

#[test]
fn status_names_and_numbers() {
    for s in OrchestrationStatus::ALL {
        assert_eq!(OrchestrationStatus::from_name(s.name()), Some(s));
        assert_eq!(OrchestrationStatus::from_i32(s as i32), Some(s));
    }
    assert!(OrchestrationStatus::Terminated.is_terminal());
    assert!(!OrchestrationStatus::Suspended.is_terminal());
}
