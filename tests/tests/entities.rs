//! Durable entities end to end, over HTTP against the sample app on the embedded store: the
//! counter in both styles through the entity endpoints and through an orchestration, the
//! endpoints' shapes and errors, the bank: 100 concurrent transfers among 10 accounts, lock
//! holders that are terminated or purged (and the entity storage clean-up), and batches capped
//! by host.json. One in-process test drives the store directly: reordered and resent requests.

#[path = "entities_support/mod.rs"]
mod scenarios;

use serde_json::json;
use tests::app_host::{AppDir, TestHost};
use tests::sample_app::{functions_binary, SampleApp};

#[test]
fn the_counter_in_both_styles_over_the_entity_endpoints() {
    scenarios::counter_over_the_endpoints(&SampleApp::start(json!({})));
}

#[test]
fn the_counter_in_both_styles_through_an_orchestration() {
    scenarios::counter_through_an_orchestration(&SampleApp::start(json!({})));
}

#[test]
fn entity_endpoints_shapes_and_bad_input() {
    scenarios::endpoint_shapes_and_bad_input(&SampleApp::start(json!({})));
}

#[test]
fn one_hundred_concurrent_transfers_conserve_the_total_and_apply_once() {
    scenarios::concurrent_transfers(&SampleApp::start(json!({})));
}

#[test]
fn terminated_and_purged_lock_holders_leave_no_locked_entities() {
    scenarios::locks_of_finished_holders(&SampleApp::start(json!({})));
}

#[test]
fn capped_entity_batches_continue_in_order() {
    let dir = AppDir::new(
        functions_binary(),
        json!({"TaskHubName": "SampleHub"}),
        Some(scenarios::capped_host_json()),
    );
    let host = TestHost::start(&dir, &[]);
    scenarios::capped_batches_run_in_order(&SampleApp { host, dir });
}

/// Requests of one orchestration execution reaching an entity out of order and twice (as after
/// a crash between send and checkpoint), through the real store and runtime: each runs once,
/// in the order it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_and_reordered_requests_run_once_in_order_through_the_store() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use durable::engine::entity::messages::{RequestMessage, OP};
    use durable::engine::entity::{entity_fn, EntityId, MessageSorter, DEFAULT_REORDER_WINDOW};
    use durable::engine::history::{EventKind, HistoryEvent, OrchestrationInstance};
    use durable::engine::message::TaskMessage;
    use durable::store::sqlite::SqliteTaskHub;
    use durable::store::{OrchestratorMessage, TaskHub};
    use durable::{Registry, Runtime, RuntimeOptions};

    let registry = Registry::new().add_entity_fn(
        "log",
        entity_fn(|ctx| {
            let mut list: Vec<i64> = ctx.get_state(Vec::new)?;
            list.push(ctx.get_input()?);
            ctx.set_state(&list)
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(dir.path().join("hub.db")).unwrap());
    let rt = Runtime::start(store.clone(), registry, RuntimeOptions::default())
        .await
        .unwrap();
    let client = rt.client();
    let log = EntityId::new("log", "l").unwrap();
    let mut sender = MessageSorter::default();
    let now = durable::store::clock::now();
    let requests: Vec<RequestMessage> = (1..=3)
        .map(|i| {
            let mut r =
                RequestMessage::operation(format!("r{i}"), "push", Some(i.to_string()), true, now);
            r.parent = Some("orch".into());
            r.parent_execution = Some("e1".into());
            sender.label_outgoing(&mut r, &log.scheduler_id(), now, DEFAULT_REORDER_WINDOW);
            r
        })
        .collect();
    let send = |r: &RequestMessage| {
        let message = TaskMessage::new(
            OrchestrationInstance {
                instance_id: log.scheduler_id(),
                execution_id: None,
            },
            HistoryEvent::new(
                now,
                EventKind::EventRaised {
                    name: OP.into(),
                    input: Some(serde_json::to_string(r).unwrap()),
                    parent_trace_context: None,
                },
            ),
        );
        let store = store.clone();
        async move {
            store
                .send_message(OrchestratorMessage {
                    message,
                    visible_at: None,
                })
                .await
                .unwrap()
        }
    };
    let state = || async { client.read_entity_state::<Vec<i64>>(&log).await.unwrap() };
    // The last two first: held back until the first arrives (nothing runs yet).
    send(&requests[2]).await;
    send(&requests[1]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(state().await, None);
    // The first, then resends of all three.
    send(&requests[0]).await;
    for r in &requests {
        send(r).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while state().await != Some(vec![1, 2, 3]) {
        assert!(Instant::now() < deadline, "{:?}", state().await);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        state().await,
        Some(vec![1, 2, 3]),
        "the resends did not run"
    );
    rt.shutdown().await;
}
