//! The protocol end to end over a real connection: a runtime on a SQLite task hub, the
//! server on a local port, a worker written with the generated client (standing in for an
//! SDK's worker) and the SDK-style management calls.

use futures::StreamExt;

use durable_engine::context::OrchestrationContext;
use durable_grpc::proto;
use durable_grpc::proto::history_event::EventType;
use durable_grpc::proto::orchestrator_action::OrchestratorActionType as A;
use durable_grpc::proto::work_item::Request;
use durable_runtime::Registry;

mod support;
use support::{connect, Client, Sidecar, WAIT};

fn registry() -> Registry {
    Registry::new()
        .activity("add_one", |_ctx, n: i64| async move { Ok(n + 1) })
        // Rust code calling an activity that only the worker has.
        .orchestration(
            "greet_remote",
            |ctx: OrchestrationContext, city: String| async move {
                let greeting: String = ctx.call_activity_by_name("PyGreet", &city).await?;
                Ok(greeting)
            },
        )
}

fn started_input(events: &[proto::HistoryEvent]) -> Option<String> {
    events.iter().find_map(|e| match &e.event_type {
        Some(EventType::ExecutionStarted(s)) => s.input.clone(),
        _ => None,
    })
}

/// The worker's answer to an episode of `remote_flow`: schedule `add_one` with the input,
/// then complete with its result.
fn remote_flow(request: &proto::OrchestratorRequest) -> Vec<proto::OrchestratorAction> {
    let all: Vec<_> = request
        .past_events
        .iter()
        .chain(&request.new_events)
        .cloned()
        .collect();
    let done = all.iter().find_map(|e| match &e.event_type {
        Some(EventType::TaskCompleted(c)) => Some(c.result.clone()),
        _ => None,
    });
    let id = if done.is_some() { 1 } else { 0 };
    let action = match done {
        Some(result) => A::CompleteOrchestration(proto::CompleteOrchestrationAction {
            orchestration_status: proto::OrchestrationStatus::Completed as i32,
            result,
            ..Default::default()
        }),
        None => A::ScheduleTask(proto::ScheduleTaskAction {
            name: "add_one".into(),
            input: started_input(&all),
            ..Default::default()
        }),
    };
    vec![proto::OrchestratorAction {
        id,
        orchestrator_action_type: Some(action),
    }]
}

/// A worker that serves the activity `PyGreet` and the orchestrator `remote_flow`.
async fn worker(mut client: Client) {
    let filters = proto::WorkItemFilters {
        orchestrations: vec![proto::OrchestrationFilter {
            name: "remote_flow".into(),
            versions: vec![],
        }],
        activities: vec![proto::ActivityFilter {
            name: "pygreet".into(),
            versions: vec![],
        }],
        entities: vec![],
    };
    let request = proto::GetWorkItemsRequest {
        work_item_filters: Some(filters),
        ..Default::default()
    };
    let mut stream = client.get_work_items(request).await.unwrap().into_inner();
    while let Some(Ok(item)) = stream.next().await {
        let token = item.completion_token;
        match item.request {
            Some(Request::ActivityRequest(a)) => {
                let city: String = serde_json::from_str(a.input.as_deref().unwrap()).unwrap();
                let answer = proto::ActivityResponse {
                    instance_id: a.orchestration_instance.unwrap().instance_id,
                    task_id: a.task_id,
                    result: Some(serde_json::to_string(&format!("Hello, {city}")).unwrap()),
                    failure_details: None,
                    completion_token: token,
                };
                client.complete_activity_task(answer).await.unwrap();
            }
            Some(Request::OrchestratorRequest(o)) => {
                let answer = proto::OrchestratorResponse {
                    instance_id: o.instance_id.clone(),
                    actions: remote_flow(&o),
                    custom_status: Some("\"working\"".into()),
                    completion_token: token,
                    ..Default::default()
                };
                client.complete_orchestrator_task(answer).await.unwrap();
            }
            _ => {}
        }
    }
}

async fn finish(client: &mut Client, id: &str) -> proto::OrchestrationState {
    let request = proto::GetInstanceRequest {
        instance_id: id.into(),
        get_inputs_and_outputs: true,
    };
    let mut call = tonic::Request::new(request);
    call.set_timeout(WAIT);
    let done = client.wait_for_instance_completion(call).await.unwrap();
    let done = done.into_inner();
    assert!(done.exists);
    done.orchestration_state.unwrap()
}

async fn start(client: &mut Client, name: &str, input: &str) -> String {
    let request = proto::CreateInstanceRequest {
        name: name.into(),
        input: Some(input.into()),
        ..Default::default()
    };
    client
        .start_instance(request)
        .await
        .unwrap()
        .into_inner()
        .instance_id
}

#[tokio::test]
async fn workers_and_clients_over_the_protocol() {
    let mut sidecar = Sidecar::start(registry()).await;
    let hub = sidecar.hub.clone();
    let addr = sidecar.addr;
    let mut client = connect(addr).await;
    client.hello(()).await.unwrap();
    let worker = tokio::spawn(worker(connect(addr).await));
    sidecar.worker_connected().await;

    // Rust orchestration, remote activity.
    let id = start(&mut client, "greet_remote", "\"Tokyo\"").await;
    let state = finish(&mut client, &id).await;
    assert_eq!(
        state.orchestration_status,
        proto::OrchestrationStatus::Completed as i32
    );
    assert_eq!(state.output.as_deref(), Some("\"Hello, Tokyo\""));
    assert_eq!(state.input.as_deref(), Some("\"Tokyo\""));

    // Remote orchestration, Rust activity.
    let flow = start(&mut client, "remote_flow", "41").await;
    let state = finish(&mut client, &flow).await;
    assert_eq!(
        state.orchestration_status,
        proto::OrchestrationStatus::Completed as i32
    );
    assert_eq!(state.output.as_deref(), Some("42"));
    assert_eq!(state.custom_status.as_deref(), Some("\"working\""));

    // The history, as a stream of chunks.
    let request = proto::StreamInstanceHistoryRequest {
        instance_id: flow.clone(),
        ..Default::default()
    };
    let mut chunks = client
        .stream_instance_history(request)
        .await
        .unwrap()
        .into_inner();
    let mut kinds = Vec::new();
    while let Some(chunk) = chunks.next().await {
        for e in chunk.unwrap().events {
            kinds.push(match e.event_type.unwrap() {
                EventType::ExecutionStarted(_) => "started",
                EventType::TaskScheduled(_) => "scheduled",
                EventType::TaskCompleted(_) => "completed",
                EventType::ExecutionCompleted(_) => "ended",
                _ => continue,
            });
        }
    }
    assert_eq!(kinds, ["started", "scheduled", "completed", "ended"]);

    // Reading: without payloads, an unknown instance, a query.
    let bare = client
        .get_instance(proto::GetInstanceRequest {
            instance_id: flow.clone(),
            get_inputs_and_outputs: false,
        })
        .await
        .unwrap()
        .into_inner();
    let bare = bare.orchestration_state.unwrap();
    assert_eq!((bare.name.as_str(), bare.output), ("remote_flow", None));
    let missing = client
        .get_instance(proto::GetInstanceRequest {
            instance_id: "nobody".into(),
            get_inputs_and_outputs: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!missing.exists && missing.orchestration_state.is_none());
    let query = proto::QueryInstancesRequest {
        query: Some(proto::InstanceQuery {
            runtime_status: vec![proto::OrchestrationStatus::Completed as i32],
            max_instance_count: 10,
            ..Default::default()
        }),
    };
    let page = client.query_instances(query).await.unwrap().into_inner();
    let mut ids: Vec<_> = page
        .orchestration_state
        .iter()
        .map(|s| s.instance_id.clone())
        .collect();
    ids.sort();
    let mut expected = vec![id.clone(), flow.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(page.continuation_token, None);

    // Errors are statuses with messages.
    let raised = client
        .raise_event(proto::RaiseEventRequest {
            instance_id: id.clone(),
            name: "late".into(),
            input: None,
        })
        .await
        .unwrap_err();
    assert_eq!(raised.code(), tonic::Code::FailedPrecondition);
    let unknown = client
        .terminate_instance(proto::TerminateRequest {
            instance_id: "nobody".into(),
            output: None,
            recursive: false,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let nameless = client
        .start_instance(proto::CreateInstanceRequest::default())
        .await
        .unwrap_err();
    assert_eq!(nameless.code(), tonic::Code::InvalidArgument);
    let unserved = client
        .create_task_hub(proto::CreateTaskHubRequest {})
        .await
        .unwrap_err();
    assert_eq!(unserved.code(), tonic::Code::Unimplemented);

    // The ids of ended instances, a page at a time, and filtered.
    let mut listed = Vec::new();
    let mut key = None;
    loop {
        let request = proto::ListInstanceIdsRequest {
            page_size: 1,
            last_instance_key: key.clone(),
            ..Default::default()
        };
        let page = client
            .list_instance_ids(request)
            .await
            .unwrap()
            .into_inner();
        listed.extend(page.instance_ids);
        match page.last_instance_key {
            None => break,
            next => key = next,
        }
    }
    listed.sort();
    assert_eq!(listed, expected);
    let list = |request: proto::ListInstanceIdsRequest| {
        let mut client = client.clone();
        async move {
            let page = client.list_instance_ids(request).await.unwrap();
            page.into_inner().instance_ids
        }
    };
    let running = proto::ListInstanceIdsRequest {
        runtime_status: vec![proto::OrchestrationStatus::Running as i32],
        ..Default::default()
    };
    assert!(list(running).await.is_empty());
    let long_ago = prost_types::Timestamp {
        seconds: 946_684_800,
        nanos: 0,
    };
    let before = proto::ListInstanceIdsRequest {
        completed_time_to: Some(long_ago),
        ..Default::default()
    };
    assert!(list(before).await.is_empty());
    let since = proto::ListInstanceIdsRequest {
        completed_time_from: Some(long_ago),
        runtime_status: vec![proto::OrchestrationStatus::Completed as i32],
        ..Default::default()
    };
    let mut completed = list(since).await;
    completed.sort();
    assert_eq!(completed, expected);

    // Purging.
    let purged = client
        .purge_instances(proto::PurgeInstancesRequest {
            request: Some(proto::purge_instances_request::Request::InstanceId(
                flow.clone(),
            )),
            recursive: true,
            is_orchestration: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(purged.deleted_instance_count, 1);

    sidecar.stop_server().await;
    // The worker's stream ended with the server.
    tokio::time::timeout(WAIT, worker).await.unwrap().unwrap();
    assert_eq!(hub.worker_count(), 0);
    sidecar.shutdown().await;
}

/// A worker whose every answer to `broken_flow` holds an action without a type; it reports
/// the status of each answer it sends.
async fn broken_worker(mut client: Client, answered: tokio::sync::mpsc::Sender<tonic::Code>) {
    let request = proto::GetWorkItemsRequest {
        work_item_filters: Some(proto::WorkItemFilters {
            orchestrations: vec![proto::OrchestrationFilter {
                name: "broken_flow".into(),
                versions: vec![],
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut stream = client.get_work_items(request).await.unwrap().into_inner();
    while let Some(Ok(item)) = stream.next().await {
        let Some(Request::OrchestratorRequest(o)) = item.request else {
            continue;
        };
        let answer = proto::OrchestratorResponse {
            instance_id: o.instance_id,
            actions: vec![proto::OrchestratorAction {
                id: 0,
                orchestrator_action_type: None,
            }],
            completion_token: item.completion_token,
            ..Default::default()
        };
        let code = match client.complete_orchestrator_task(answer).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        };
        let _ = answered.send(code).await;
    }
}

#[tokio::test]
async fn an_answer_that_cannot_be_read_fails_the_instance_once() {
    let sidecar = Sidecar::start(registry()).await;
    let mut client = sidecar.connect().await;
    let (answered, mut answers) = tokio::sync::mpsc::channel(16);
    let worker = tokio::spawn(broken_worker(sidecar.connect().await, answered));
    sidecar.worker_connected().await;

    let id = start(&mut client, "broken_flow", "1").await;
    let state = finish(&mut client, &id).await;
    assert_eq!(
        state.orchestration_status,
        proto::OrchestrationStatus::Failed as i32
    );
    let failure = state.failure_details.unwrap();
    assert_eq!(failure.error_type, durable_grpc::convert::INVALID_ANSWER);
    assert!(
        failure.error_message.contains("action 0 has no type"),
        "{failure:?}"
    );
    // The worker was told, and was not handed the episode again.
    assert_eq!(answers.recv().await, Some(tonic::Code::InvalidArgument));
    assert!(
        answers.try_recv().is_err(),
        "the episode was handed out again"
    );

    sidecar.shutdown().await;
    tokio::time::timeout(WAIT, worker).await.unwrap().unwrap();
}
