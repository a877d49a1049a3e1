//! The entity client calls over a real connection: a runtime on a SQLite task hub with a
//! Rust counter entity, the server on a local port, and the generated client making the
//! calls an SDK's client makes (signal, read, list, clean storage).

use std::time::Duration;

use tonic::Code;

use durable_engine::context::OrchestrationContext;
use durable_engine::entity::{entity_fn, EntityId};
use durable_engine::failure::{Failure, TaskError};
use durable_grpc::proto;
use durable_runtime::Registry;

mod support;
use support::{Client, Sidecar, WAIT};

fn registry() -> Registry {
    Registry::new()
        .add_entity_fn(
            "counter",
            entity_fn(|ctx| {
                let value: i64 = ctx.get_state(|| 0)?;
                match ctx.operation_name() {
                    "add" => {
                        let n: i64 = ctx.get_input()?;
                        ctx.set_state(&(value + n))
                    }
                    "get" => ctx.set_result(&value),
                    op => Err(Failure::new("UnknownOperation", op.to_string())),
                }
            }),
        )
        // Locks a counter and waits for an event that never comes.
        .orchestration(
            "hold",
            |ctx: OrchestrationContext, key: String| async move {
                let c = EntityId::new("counter", &key)?;
                let _lock = ctx.lock(&[c]).await?;
                let () = ctx.wait_for_external_event("never").await?;
                Ok(())
            },
        )
        // Adds to the worker's `tally` entity; answers the failure's type if the call fails.
        .orchestration(
            "add_to_tally",
            |ctx: OrchestrationContext, n: i64| async move {
                let tally = EntityId::new("tally", "a")?;
                match ctx.call_entity::<_, ()>(&tally, "add", &n).await {
                    Ok(()) => Ok("added".to_string()),
                    Err(TaskError::Failed { details, .. }) => Ok(details.error_type),
                    Err(e) => Err(e.into()),
                }
            },
        )
}

async fn get(client: &mut Client, id: &str, include_state: bool) -> proto::GetEntityResponse {
    let request = proto::GetEntityRequest {
        instance_id: id.into(),
        include_state,
    };
    client.get_entity(request).await.unwrap().into_inner()
}

async fn signal(client: &mut Client, id: &str, operation: &str, input: Option<&str>) {
    let request = proto::SignalEntityRequest {
        instance_id: id.into(),
        name: operation.into(),
        input: input.map(str::to_string),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    client.signal_entity(request).await.unwrap();
}

/// Every page of a listing.
async fn query(client: &mut Client, mut q: proto::EntityQuery) -> Vec<proto::EntityMetadata> {
    let mut entities = Vec::new();
    loop {
        let request = proto::QueryEntitiesRequest {
            query: Some(q.clone()),
        };
        let page = client.query_entities(request).await.unwrap().into_inner();
        entities.extend(page.entities);
        match page.continuation_token {
            None => return entities,
            token => q.continuation_token = token,
        }
    }
}

/// Polls until `check` holds for the entity's answer.
async fn until(
    client: &mut Client,
    id: &str,
    check: impl Fn(&proto::GetEntityResponse) -> bool,
) -> proto::GetEntityResponse {
    tokio::time::timeout(WAIT, async {
        loop {
            let got = get(client, id, true).await;
            if check(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{id} never got there"))
}

#[tokio::test]
async fn entity_client_calls_over_the_protocol() {
    let sidecar = Sidecar::start(registry()).await;
    let rust_client = sidecar.runtime.client();
    let mut client = sidecar.connect().await;

    // Signals, now and a little later; the name is not case-sensitive.
    let id = "@counter@k1";
    assert!(!get(&mut client, id, true).await.exists);
    signal(&mut client, "@Counter@k1", "add", Some("5")).await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(300);
    let request = proto::SignalEntityRequest {
        instance_id: id.into(),
        name: "add".into(),
        input: Some("3".into()),
        scheduled_time: Some(prost_types::Timestamp {
            seconds: soon.timestamp(),
            nanos: i32::try_from(soon.timestamp_subsec_nanos()).unwrap(),
        }),
        ..Default::default()
    };
    client.signal_entity(request).await.unwrap();
    let got = until(&mut client, id, |g| {
        g.entity
            .as_ref()
            .and_then(|e| e.serialized_state.as_deref())
            == Some("8")
    })
    .await;
    assert!(got.exists);
    let entity = got.entity.unwrap();
    assert_eq!(entity.instance_id, id);
    assert_eq!((entity.backlog_queue_size, entity.locked_by), (0, None));
    assert!(entity.last_modified_time.is_some());
    let bare = get(&mut client, id, false).await;
    assert!(bare.exists);
    assert_eq!(bare.entity.unwrap().serialized_state, None);

    // A lock held by an orchestration: an entity without state is transient.
    let holder = rust_client
        .start_with_options("hold", Some("\"k2\"".into()), Default::default())
        .await
        .unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            let listed = query(
                &mut client,
                proto::EntityQuery {
                    instance_id_starts_with: Some("counter@k2".into()),
                    include_transient: true,
                    ..Default::default()
                },
            )
            .await;
            if listed.first().and_then(|e| e.locked_by.as_deref()) == Some(holder.as_str()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the lock shows in a listing with transient entities");
    assert!(!get(&mut client, "@counter@k2", true).await.exists);

    // Listings: by prefix, with and without state, without transient entities.
    let all = query(
        &mut client,
        proto::EntityQuery {
            include_state: true,
            ..Default::default()
        },
    )
    .await;
    let ids: Vec<_> = all.iter().map(|e| e.instance_id.as_str()).collect();
    assert_eq!(ids, [id]);
    assert_eq!(all[0].serialized_state.as_deref(), Some("8"));
    let first = proto::EntityQuery {
        instance_id_starts_with: Some("@COUNTER@k".into()),
        include_transient: true,
        page_size: Some(1),
        ..Default::default()
    };
    let page = client
        .query_entities(proto::QueryEntitiesRequest {
            query: Some(first.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.entities.len(), 1, "one instance scanned per page");
    assert!(page.continuation_token.is_some());
    let both = query(&mut client, first).await;
    let ids: Vec<_> = both.iter().map(|e| e.instance_id.as_str()).collect();
    assert_eq!(ids, [id, "@counter@k2"]);
    let none = query(
        &mut client,
        proto::EntityQuery {
            instance_id_starts_with: Some("@counter@zz".into()),
            ..Default::default()
        },
    )
    .await;
    assert!(none.is_empty());

    // Cleaning: the holder's row is deleted under it (a termination would release the lock),
    // which leaves its lock orphaned, and the clean-up releases it.
    assert!(rust_client.store().purge_instance(&holder).await.unwrap());
    let cleaned = client
        .clean_entity_storage(proto::CleanEntityStorageRequest {
            continuation_token: None,
            remove_empty_entities: false,
            release_orphaned_locks: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleaned.orphaned_locks_released, 1, "{cleaned:?}");
    assert_eq!(cleaned.empty_entities_removed, 0);
    assert_eq!(cleaned.continuation_token, None);
    // The release reaches the entity: no lock any more (it is not empty yet: it remembers the
    // holder's request for the reorder window).
    tokio::time::timeout(WAIT, async {
        loop {
            let listed = query(
                &mut client,
                proto::EntityQuery {
                    instance_id_starts_with: Some("@counter@k2".into()),
                    include_transient: true,
                    ..Default::default()
                },
            )
            .await;
            if listed.len() == 1 && listed[0].locked_by.is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the orphaned lock is released");
    let cleaned = client
        .clean_entity_storage(proto::CleanEntityStorageRequest {
            continuation_token: None,
            remove_empty_entities: true,
            release_orphaned_locks: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            cleaned.empty_entities_removed,
            cleaned.orphaned_locks_released
        ),
        (0, 0)
    );
    assert!(get(&mut client, id, true).await.exists);

    // Errors.
    let bad = client
        .get_entity(proto::GetEntityRequest {
            instance_id: "not-an-entity".into(),
            include_state: true,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let nameless = client
        .signal_entity(proto::SignalEntityRequest {
            instance_id: id.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(nameless.code(), Code::InvalidArgument);
    let not_json = client
        .signal_entity(proto::SignalEntityRequest {
            instance_id: id.into(),
            name: "add".into(),
            input: Some("five".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(not_json.code(), Code::InvalidArgument);

    sidecar.shutdown().await;
}

/// A worker running the entity `tally` (`add` with a number), except that it answers a batch
/// with an `add` of 13 with a signal to something that is not an entity id; it reports the
/// status of each answer it sends.
async fn tally_worker(mut client: Client, answered: tokio::sync::mpsc::Sender<Code>) {
    use futures::StreamExt;
    use proto::operation_action::OperationActionType;
    use proto::operation_result::ResultType;
    use proto::work_item::Request;

    let request = proto::GetWorkItemsRequest {
        work_item_filters: Some(proto::WorkItemFilters {
            entities: vec![proto::EntityFilter {
                name: "tally".into(),
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut stream = client.get_work_items(request).await.unwrap().into_inner();
    while let Some(Ok(item)) = stream.next().await {
        let Some(Request::EntityRequest(batch)) = item.request else {
            continue;
        };
        let mut state: i64 = batch
            .entity_state
            .as_deref()
            .map_or(0, |s| s.parse().unwrap());
        let mut bad = false;
        let mut results = Vec::new();
        for op in &batch.operations {
            let n: i64 = op.input.as_deref().unwrap_or("0").parse().unwrap();
            bad |= n == 13;
            state += n;
            results.push(proto::OperationResult {
                result_type: Some(ResultType::Success(proto::OperationResultSuccess::default())),
            });
        }
        let actions = if bad {
            vec![proto::OperationAction {
                id: 0,
                operation_action_type: Some(OperationActionType::SendSignal(
                    proto::SendSignalAction {
                        instance_id: "not-an-entity".into(),
                        name: "add".into(),
                        ..Default::default()
                    },
                )),
            }]
        } else {
            Vec::new()
        };
        let answer = proto::EntityBatchResult {
            results,
            actions,
            entity_state: Some(state.to_string()),
            completion_token: item.completion_token,
            ..Default::default()
        };
        let code = match client.complete_entity_task(answer).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
        let _ = answered.send(code).await;
    }
}

#[tokio::test]
async fn an_unreadable_entity_answer_fails_its_operations_and_keeps_the_state() {
    let sidecar = Sidecar::start(registry()).await;
    let mut client = sidecar.connect().await;
    let (answered, mut answers) = tokio::sync::mpsc::channel(16);
    let worker = tokio::spawn(tally_worker(sidecar.connect().await, answered));
    sidecar.worker_connected().await;
    let id = "@tally@a";
    let state =
        |g: &proto::GetEntityResponse| g.entity.as_ref().and_then(|e| e.serialized_state.clone());

    signal(&mut client, id, "add", Some("5")).await;
    assert_eq!(answers.recv().await, Some(Code::Ok));
    until(&mut client, id, |g| state(g).as_deref() == Some("5")).await;
    // The worker's answer cannot be read: the caller gets the failure, the batch is not
    // handed out again, and the state stays.
    let call = |n: i64| {
        let runtime = sidecar.runtime.client();
        async move {
            let instance = runtime.start_new("add_to_tally", None, &n).await.unwrap();
            let done = runtime.wait_for_completion(&instance, WAIT).await.unwrap();
            done.output
        }
    };
    assert_eq!(call(13).await, durable_grpc::convert::INVALID_ANSWER);
    assert_eq!(answers.recv().await, Some(Code::InvalidArgument));
    assert_eq!(call(1).await, "added");
    assert_eq!(answers.recv().await, Some(Code::Ok));
    until(&mut client, id, |g| state(g).as_deref() == Some("6")).await;
    assert!(answers.try_recv().is_err(), "a batch was handed out again");

    sidecar.shutdown().await;
    tokio::time::timeout(WAIT, worker).await.unwrap().unwrap();
}
