//! The hub without a network: workers are streams, answers are calls.

use std::time::Duration;

use futures::StreamExt;

use super::stream::WorkItemStream;
use super::*;
use durable_engine::history::OrchestrationInstance;
use durable_engine::replay::Outcome;

const WAIT: Duration = Duration::from_secs(5);

fn worker(hub: &WorkerHub, filters: Option<proto::WorkItemFilters>, limit: i32) -> WorkItemStream {
    hub.connect(proto::GetWorkItemsRequest {
        max_concurrent_orchestration_work_items: limit,
        max_concurrent_activity_work_items: limit,
        work_item_filters: filters,
        ..Default::default()
    })
    .unwrap()
}

fn activities(names: &[&str]) -> Option<proto::WorkItemFilters> {
    Some(proto::WorkItemFilters {
        activities: names
            .iter()
            .map(|n| proto::ActivityFilter {
                name: n.to_string(),
                versions: vec![],
            })
            .collect(),
        ..Default::default()
    })
}

fn activity(name: &str, task_id: i32) -> ActivityRequest {
    ActivityRequest {
        instance: OrchestrationInstance {
            instance_id: "inst".into(),
            execution_id: Some("e".into()),
        },
        name: name.into(),
        version: None,
        input: Some("1".into()),
        task_id,
        trace_context: None,
    }
}

fn episode(name: &str, version: Option<&str>) -> OrchestratorRequest {
    OrchestratorRequest {
        instance_id: "inst".into(),
        execution_id: "e".into(),
        name: name.into(),
        version: version.map(str::to_string),
        past: vec![],
        new: vec![],
    }
}

/// The next work item that is not a ping.
async fn next_item(stream: &mut WorkItemStream) -> proto::WorkItem {
    loop {
        let item = tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("a work item in time")
            .expect("the stream is open")
            .expect("not an error");
        if !matches!(item.request, Some(Request::HealthPing(_))) {
            return item;
        }
    }
}

fn answer(token: &str, result: &str) -> proto::ActivityResponse {
    proto::ActivityResponse {
        result: Some(result.into()),
        completion_token: token.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn activities_go_round_robin_and_answers_come_back_by_token() {
    let hub = WorkerHub::new();
    let mut a = worker(&hub, None, 0);
    let mut b = worker(&hub, None, 0);
    assert!(hub.serves_activity("anything"));
    let first = tokio::spawn(hub.run_activity(activity("x", 1)));
    let second = tokio::spawn(hub.run_activity(activity("x", 2)));
    let (item_a, item_b) = (next_item(&mut a).await, next_item(&mut b).await);
    assert_ne!(item_a.completion_token, item_b.completion_token);
    let Some(Request::ActivityRequest(req)) = &item_a.request else {
        panic!("not an activity");
    };
    assert_eq!(req.name, "x");
    hub.complete_activity(answer(&item_a.completion_token, "\"a\""))
        .unwrap();
    hub.complete_activity(answer(&item_b.completion_token, "\"b\""))
        .unwrap();
    let mut results = vec![
        first.await.unwrap().unwrap().unwrap(),
        second.await.unwrap().unwrap().unwrap(),
    ];
    results.sort();
    assert_eq!(results, vec![Some("\"a\"".into()), Some("\"b\"".into())]);
    assert_eq!(hub.pending_count(), 0);
    // A late or repeated answer is accepted and ignored.
    hub.complete_activity(answer(&item_a.completion_token, "\"late\""))
        .unwrap();
}

#[tokio::test]
async fn an_activity_answer_without_a_token_is_matched_by_instance_and_task() {
    let hub = WorkerHub::new();
    let mut w = worker(&hub, None, 0);
    let run = tokio::spawn(hub.run_activity(activity("x", 7)));
    next_item(&mut w).await;
    hub.complete_activity(proto::ActivityResponse {
        instance_id: "inst".into(),
        task_id: 7,
        result: Some("1".into()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(run.await.unwrap(), Ok(Ok(Some("1".into()))));
}

#[tokio::test]
async fn filters_choose_the_worker_case_insensitively() {
    let hub = WorkerHub::new();
    assert!(!hub.serves_activity("Greet"));
    assert_eq!(
        hub.run_activity(activity("Greet", 1)).await,
        Err(RemoteError::NoWorker)
    );
    let mut greeter = worker(&hub, activities(&["greet"]), 0);
    let orchestrations = Some(proto::WorkItemFilters {
        orchestrations: vec![proto::OrchestrationFilter {
            name: "Flow".into(),
            versions: vec!["2".into()],
        }],
        ..Default::default()
    });
    let mut flows = worker(&hub, orchestrations, 0);
    assert!(hub.serves_activity("GREET"));
    assert!(!hub.serves_activity("other"));
    assert!(hub.serves_orchestrator("flow", Some("2")));
    assert!(!hub.serves_orchestrator("flow", Some("1")));
    assert!(!hub.serves_orchestrator("greet", None));
    let run = tokio::spawn(hub.run_activity(activity("Greet", 1)));
    let item = next_item(&mut greeter).await;
    hub.complete_activity(answer(&item.completion_token, "0"))
        .unwrap();
    run.await.unwrap().unwrap().unwrap();
    let episode_run = tokio::spawn(hub.run_orchestrator(episode("FLOW", Some("2"))));
    let item = next_item(&mut flows).await;
    let Some(Request::OrchestratorRequest(req)) = &item.request else {
        panic!("not an orchestration");
    };
    assert_eq!(
        (req.instance_id.as_str(), req.execution_id.as_deref()),
        ("inst", Some("e"))
    );
    hub.complete_orchestration(proto::OrchestratorResponse {
        completion_token: item.completion_token.clone(),
        ..Default::default()
    })
    .unwrap();
    let decision = episode_run.await.unwrap().unwrap();
    assert!(decision.actions.is_empty() && decision.end.is_none());
}

#[tokio::test]
async fn an_abandoned_answer_gives_the_request_back_and_an_unreadable_one_fails_it() {
    let hub = WorkerHub::new();
    let mut w = worker(&hub, None, 0);
    let run = tokio::spawn(hub.run_activity(activity("x", 1)));
    let item = next_item(&mut w).await;
    // An orchestration's answer naming an activity's token is refused.
    let wrong = hub.complete_orchestration(proto::OrchestratorResponse {
        completion_token: item.completion_token.clone(),
        ..Default::default()
    });
    assert_eq!(wrong.unwrap_err().code(), tonic::Code::InvalidArgument);
    hub.abandon(&item.completion_token, Kind::Activity).unwrap();
    assert!(matches!(run.await.unwrap(), Err(RemoteError::Abandoned(_))));

    let run = tokio::spawn(hub.run_orchestrator(episode("o", None)));
    let item = next_item(&mut w).await;
    let bad = hub.complete_orchestration(proto::OrchestratorResponse {
        completion_token: item.completion_token.clone(),
        is_partial: true,
        ..Default::default()
    });
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);
    // The same code would answer the same way again: the orchestration fails, once.
    let decision = run.await.unwrap().unwrap();
    assert!(decision.actions.is_empty());
    let Some(Outcome::Failed(failure)) = decision.end else {
        panic!("the orchestration does not fail: {:?}", decision.end);
    };
    assert_eq!(failure.error_type, convert::INVALID_ANSWER);
    assert!(failure.is_non_retriable);
    assert!(failure.error_message.contains("isPartial"), "{failure:?}");
}

#[tokio::test]
async fn a_worker_that_disconnects_fails_its_work_and_leaves() {
    let hub = WorkerHub::new();
    let mut w = worker(&hub, None, 0);
    let run = tokio::spawn(hub.run_activity(activity("x", 1)));
    next_item(&mut w).await;
    drop(w);
    assert_eq!(run.await.unwrap(), Err(RemoteError::Disconnected));
    tokio::time::timeout(WAIT, async {
        while hub.worker_count() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert!(!hub.serves_activity("x"));
}

#[tokio::test]
async fn a_worker_at_its_limit_is_skipped_and_work_waits_for_a_slot() {
    let hub = WorkerHub::new();
    let mut w = worker(&hub, None, 1);
    let first = tokio::spawn(hub.run_activity(activity("x", 1)));
    let item = next_item(&mut w).await;
    let second = tokio::spawn(hub.run_activity(activity("x", 2)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hub.pending_count(), 1, "the second waits for a slot");
    hub.complete_activity(answer(&item.completion_token, "1"))
        .unwrap();
    first.await.unwrap().unwrap().unwrap();
    let item = next_item(&mut w).await;
    hub.complete_activity(answer(&item.completion_token, "2"))
        .unwrap();
    assert_eq!(second.await.unwrap(), Ok(Ok(Some("2".into()))));
}

#[tokio::test]
async fn a_dropped_request_frees_its_slot() {
    let hub = WorkerHub::new();
    let mut w = worker(&hub, None, 1);
    let run = tokio::spawn(hub.run_activity(activity("x", 1)));
    next_item(&mut w).await;
    run.abort();
    let _ = run.await;
    assert_eq!(hub.pending_count(), 0);
    let again = tokio::spawn(hub.run_activity(activity("x", 2)));
    let item = next_item(&mut w).await;
    hub.complete_activity(answer(&item.completion_token, "2"))
        .unwrap();
    again.await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn idle_streams_are_pinged() {
    let hub = WorkerHub::with_ping_interval(Duration::from_millis(20));
    let mut w = worker(&hub, None, 0);
    let item = tokio::time::timeout(WAIT, w.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(item.request, Some(Request::HealthPing(_))));
    assert!(item.completion_token.is_empty());
}

#[tokio::test]
async fn closing_ends_streams_fails_waiting_work_and_refuses_workers() {
    let hub = WorkerHub::new();
    let mut w = worker(&hub, None, 0);
    let run = tokio::spawn(hub.run_activity(activity("x", 1)));
    next_item(&mut w).await;
    hub.close();
    assert_eq!(run.await.unwrap(), Err(RemoteError::Disconnected));
    let end = tokio::time::timeout(WAIT, w.next()).await.unwrap();
    assert!(end.is_none(), "the stream ended");
    let refused = hub.connect(proto::GetWorkItemsRequest::default());
    assert_eq!(
        refused.err().map(|s| s.code()),
        Some(tonic::Code::Unavailable)
    );
    assert!(hub.is_closed());
}

#[tokio::test]
async fn an_unreadable_entity_answer_fails_every_operation_of_the_batch() {
    use durable_engine::entity::remote::PlannedOperation;
    use durable_runtime::remote::EntityRequest;
    use proto::operation_action::OperationActionType;

    let hub = WorkerHub::new();
    let mut w = worker(&hub, None, 0);
    let operation = |name: &str| PlannedOperation {
        operation: name.into(),
        input: None,
    };
    let run = tokio::spawn(hub.run_entity(EntityRequest {
        instance_id: "@counter@a".into(),
        state: Some("1".into()),
        operations: vec![operation("add"), operation("get")],
    }));
    let item = next_item(&mut w).await;
    let bad = hub.complete_entity(proto::EntityBatchResult {
        completion_token: item.completion_token.clone(),
        results: vec![],
        actions: vec![proto::OperationAction {
            id: 0,
            operation_action_type: Some(OperationActionType::SendSignal(proto::SendSignalAction {
                instance_id: "not-an-entity".into(),
                name: "x".into(),
                ..Default::default()
            })),
        }],
        ..Default::default()
    });
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);
    let batch = run.await.unwrap().unwrap();
    assert_eq!(batch.results.len(), 2);
    for result in &batch.results {
        let Err(failure) = result else {
            panic!("an operation succeeded: {result:?}");
        };
        assert_eq!(failure.error_type, convert::INVALID_ANSWER);
        assert!(
            failure.error_message.contains("not an entity id"),
            "{failure:?}"
        );
    }
    assert!(batch.signals.is_empty() && batch.starts.is_empty());
}
