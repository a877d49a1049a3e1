//! Checks of instance queries and purges.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::fixtures::*;
use crate::{InstanceOrder, InstanceQuery, InstanceState, PurgeFilter, StoreError, TaskHub};
use durable_engine::history::OrchestrationStatus;

use crate::clock;
use OrchestrationStatus::*;

/// Creates `<tag>-<i>` for each status, in order; returns the ids.
async fn create_with_statuses(
    hub: &dyn TaskHub,
    tag: &str,
    statuses: &[OrchestrationStatus],
) -> Vec<(String, OrchestrationStatus)> {
    let mut created = Vec::new();
    for (i, &status) in statuses.iter().enumerate() {
        let id = format!("{tag}-{i:02}");
        if status == Pending {
            hub.create_instance(start_message(&id, &new_execution_id()))
                .await
                .expect("create_instance failed");
        } else {
            started_instance(hub, &id, status).await;
        }
        created.push((id, status));
    }
    created
}

/// A time strictly between two creation batches.
async fn pause() -> DateTime<Utc> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    let mid = clock::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    mid
}

/// The ids on every page of a query, following continuations.
async fn all_ids(hub: &dyn TaskHub, mut query: InstanceQuery) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..1000 {
        let page = hub
            .query_instances(&query)
            .await
            .expect("query_instances failed");
        ids.extend(page.instances.into_iter().map(|i| i.instance_id));
        match page.continuation {
            Some(token) => query.continuation = Some(token),
            None => return ids,
        }
    }
    panic!("query_instances never returned a last page");
}

/// The ids of `created` that satisfy `keep`, sorted.
fn ids_where(
    created: &[(String, OrchestrationStatus)],
    keep: impl Fn(&str, OrchestrationStatus) -> bool,
) -> Vec<String> {
    let mut ids: Vec<String> = created
        .iter()
        .filter(|(id, status)| keep(id, *status))
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort();
    ids
}

/// Status sets, created-time ranges and id prefixes filter instances, ordered by id.
pub async fn query_filters(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let run = new_id("query");
    let early = create_with_statuses(
        hub,
        &format!("{run}-a"),
        &[Running, Completed, Pending, Failed],
    )
    .await;
    let mid = pause().await;
    let late =
        create_with_statuses(hub, &format!("{run}-b"), &[Completed, Terminated, Running]).await;
    let all: Vec<_> = early.iter().chain(&late).cloned().collect();
    let scoped = |q: InstanceQuery| InstanceQuery {
        instance_id_prefix: q.instance_id_prefix.or_else(|| Some(run.clone())),
        ..q
    };

    let everything = all_ids(hub, scoped(InstanceQuery::default())).await;
    assert_eq!(
        everything,
        ids_where(&all, |_, _| true),
        "prefix only, by id"
    );

    let completed = all_ids(
        hub,
        scoped(InstanceQuery {
            statuses: vec![Completed],
            ..InstanceQuery::default()
        }),
    )
    .await;
    assert_eq!(completed, ids_where(&all, |_, s| s == Completed));

    let active = all_ids(
        hub,
        scoped(InstanceQuery {
            statuses: vec![Running, Pending],
            ..InstanceQuery::default()
        }),
    )
    .await;
    assert_eq!(active, ids_where(&all, |_, s| s == Running || s == Pending));

    let from_mid = all_ids(
        hub,
        scoped(InstanceQuery {
            created_from: Some(mid),
            ..InstanceQuery::default()
        }),
    )
    .await;
    assert_eq!(from_mid, ids_where(&late, |_, _| true), "created_from");

    let to_mid = all_ids(
        hub,
        scoped(InstanceQuery {
            created_to: Some(mid),
            ..InstanceQuery::default()
        }),
    )
    .await;
    assert_eq!(to_mid, ids_where(&early, |_, _| true), "created_to");

    let row = hub
        .get_instance(&early[1].0)
        .await
        .expect("get")
        .expect("row");
    let exact = all_ids(
        hub,
        scoped(InstanceQuery {
            created_from: Some(row.created_at),
            created_to: Some(row.created_at),
            ..InstanceQuery::default()
        }),
    )
    .await;
    assert_eq!(
        exact,
        std::slice::from_ref(&row.instance_id),
        "the created range is inclusive"
    );

    let prefix_b = all_ids(
        hub,
        InstanceQuery {
            instance_id_prefix: Some(format!("{run}-b")),
            ..InstanceQuery::default()
        },
    )
    .await;
    assert_eq!(prefix_b, ids_where(&late, |_, _| true), "id prefix");

    let combined = all_ids(
        hub,
        InstanceQuery {
            instance_id_prefix: Some(format!("{run}-a")),
            statuses: vec![Running, Completed],
            created_to: Some(mid),
            ..InstanceQuery::default()
        },
    )
    .await;
    assert_eq!(
        combined,
        ids_where(&early, |_, s| s == Running || s == Completed),
        "filters combine"
    );

    let nothing = all_ids(
        hub,
        InstanceQuery {
            instance_id_prefix: Some(format!("{run}-c")),
            ..InstanceQuery::default()
        },
    )
    .await;
    assert!(nothing.is_empty(), "an unmatched prefix finds nothing");

    let page = hub
        .query_instances(&scoped(InstanceQuery::default()))
        .await
        .expect("query");
    let listed = page
        .instances
        .iter()
        .find(|i| i.instance_id == row.instance_id)
        .expect("the row is listed");
    assert_eq!(listed, &row, "queries return whole rows");

    let page = hub
        .query_instances(&scoped(InstanceQuery {
            skip_inputs: true,
            ..InstanceQuery::default()
        }))
        .await
        .expect("query");
    let listed = page
        .instances
        .iter()
        .find(|i| i.instance_id == row.instance_id)
        .expect("the row is listed without its input");
    assert!(row.input.is_some(), "the row has an input to leave out");
    let without_input = InstanceState {
        input: None,
        ..row.clone()
    };
    assert_eq!(
        listed, &without_input,
        "skip_inputs leaves only the input out"
    );
}

/// The orchestrator name filters a listing, and counts by status follow the name, created
/// range and prefix of a query but not its statuses.
pub async fn query_by_name_and_counts(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let run = new_id("names");
    let named =
        create_with_statuses(hub, &format!("{run}-a"), &[Running, Completed, Completed]).await;
    let mut others = Vec::new();
    for i in 0..2 {
        let id = format!("{run}-b-{i:02}");
        let start = start_message_with(&id, &new_execution_id(), |s| s.name = "Other".into());
        hub.create_instance(start)
            .await
            .expect("create_instance failed");
        others.push((id, Pending));
    }
    let scoped = |name: Option<&str>| InstanceQuery {
        instance_id_prefix: Some(run.clone()),
        name: name.map(str::to_owned),
        ..InstanceQuery::default()
    };
    let conformance = all_ids(hub, scoped(Some("Conformance"))).await;
    assert_eq!(conformance, ids_where(&named, |_, _| true), "by name");
    let other = all_ids(hub, scoped(Some("Other"))).await;
    assert_eq!(other, ids_where(&others, |_, _| true), "by the other name");
    assert!(
        all_ids(hub, scoped(Some("conformance"))).await.is_empty(),
        "names match exactly"
    );

    let counts = hub.count_instances(&scoped(None)).await.expect("count");
    let expected = [(Running, 1), (Completed, 2), (Pending, 2)]
        .into_iter()
        .collect();
    assert_eq!(counts, expected, "counts by status under the prefix");

    // Entity instances (`@name@key`) are left out when asked.
    let entity = format!("@{run}@key");
    hub.create_instance(start_message(&entity, &new_execution_id()))
        .await
        .expect("create_instance failed");
    let orchestrations_only = |prefix: &str| InstanceQuery {
        instance_id_prefix: Some(prefix.to_owned()),
        exclude_entities: true,
        ..InstanceQuery::default()
    };
    assert!(
        all_ids(hub, orchestrations_only(&entity)).await.is_empty(),
        "entity left out"
    );
    assert_eq!(
        all_ids(
            hub,
            InstanceQuery {
                exclude_entities: false,
                ..orchestrations_only(&entity)
            }
        )
        .await,
        vec![entity.clone()],
        "entity listed when not left out"
    );
    assert_eq!(
        all_ids(hub, orchestrations_only(&run)).await.len(),
        5,
        "others kept"
    );
    let counts = hub
        .count_instances(&orchestrations_only(&entity))
        .await
        .expect("count");
    assert!(counts.is_empty(), "entity not counted: {counts:?}");
    let counts = hub
        .count_instances(&InstanceQuery {
            statuses: vec![Failed],
            page_size: 1,
            ..scoped(Some("Conformance"))
        })
        .await
        .expect("count");
    let expected = [(Running, 1), (Completed, 2)].into_iter().collect();
    assert_eq!(counts, expected, "counts ignore statuses and paging");
    let none = hub
        .count_instances(&InstanceQuery {
            instance_id_prefix: Some(format!("{run}-c")),
            ..InstanceQuery::default()
        })
        .await
        .expect("count");
    assert!(none.is_empty(), "nothing matched, nothing counted");
}

/// Newest-first listings, where the store has them: creation time descending (ties by id,
/// descending), filters applied, pages covering every instance once; elsewhere a typed refusal.
pub async fn query_newest_first(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let run = new_id("newest");
    let query = InstanceQuery {
        instance_id_prefix: Some(run.clone()),
        order: InstanceOrder::NewestFirst,
        page_size: 2,
        ..InstanceQuery::default()
    };
    if !hub.lists_newest_first() {
        let refused = hub.query_instances(&query).await;
        assert!(
            matches!(refused, Err(StoreError::Unsupported(_))),
            "a store that does not list newest first says so, got {refused:?}"
        );
        return;
    }
    let mut created = create_with_statuses(hub, &format!("{run}-a"), &[Completed, Running]).await;
    pause().await;
    created.extend(
        create_with_statuses(hub, &format!("{run}-b"), &[Completed, Failed, Completed]).await,
    );
    let mut expected = Vec::new();
    for (id, status) in &created {
        let row = hub.get_instance(id).await.expect("get").expect("row");
        expected.push((row.created_at, id.clone(), *status));
    }
    expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    let ids = |keep: &dyn Fn(OrchestrationStatus) -> bool| -> Vec<String> {
        expected
            .iter()
            .filter(|e| keep(e.2))
            .map(|e| e.1.clone())
            .collect()
    };
    assert_eq!(
        all_ids(hub, query.clone()).await,
        ids(&|_| true),
        "newest first"
    );
    let completed = InstanceQuery {
        statuses: vec![Completed],
        ..query.clone()
    };
    assert_eq!(
        all_ids(hub, completed).await,
        ids(&|s| s == Completed),
        "newest first, one status"
    );
    let bad = hub
        .query_instances(&InstanceQuery {
            continuation: Some("sq1.00".into()),
            ..query
        })
        .await;
    assert!(
        matches!(bad, Err(StoreError::BadContinuation(_))),
        "a token of the other order is refused, got {bad:?}"
    );
}

/// Pages hold at most `page_size` instances and continuations cover every instance once.
pub async fn query_pages_cover_everything_once(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let run = new_id("pages");
    let mut expected = Vec::new();
    for i in 0..23 {
        let id = format!("{run}-{i:03}");
        hub.create_instance(start_message(&id, &new_execution_id()))
            .await
            .expect("create_instance");
        expected.push(id);
    }
    for page_size in [1, 5, 7, 23, 100] {
        let mut query = InstanceQuery {
            instance_id_prefix: Some(run.clone()),
            page_size,
            ..InstanceQuery::default()
        };
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = hub.query_instances(&query).await.expect("query");
            pages += 1;
            assert!(pages <= 100, "too many pages");
            assert!(
                page.instances.len() <= page_size,
                "a page of {} holds {} instances",
                page_size,
                page.instances.len()
            );
            seen.extend(page.instances.into_iter().map(|i| i.instance_id));
            match page.continuation {
                Some(token) => query.continuation = Some(token),
                None => break,
            }
        }
        assert_eq!(
            seen, expected,
            "page size {page_size}: every instance once, by id"
        );
        let unique: BTreeSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len());
    }

    let default_page = hub
        .query_instances(&InstanceQuery {
            instance_id_prefix: Some(run.clone()),
            ..InstanceQuery::default()
        })
        .await
        .expect("query");
    assert_eq!(
        default_page.instances.len(),
        23,
        "the default page size is 100"
    );
    assert_eq!(default_page.continuation, None);

    let bad = hub
        .query_instances(&InstanceQuery {
            continuation: Some("not-a-token".into()),
            ..InstanceQuery::default()
        })
        .await;
    assert!(
        matches!(bad, Err(StoreError::BadContinuation(_))),
        "an unknown continuation must fail with BadContinuation, got {bad:?}"
    );
}

/// `purge_instance` removes the row, history and queued work of any instance.
pub async fn purge_instance_removes_everything(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let id = new_id("purge");
    let (row, _) = instance_with_activity(hub, &id).await;
    assert_eq!(row.status, Running);
    hub.send_message(now_message(event_raised(&id, "pending")))
        .await
        .expect("send_message");
    let keep = new_id("keep");
    let kept = started_instance(hub, &keep, Completed).await;

    assert!(hub.purge_instance(&id).await.expect("purge"), "it existed");
    assert_eq!(hub.get_instance(&id).await.expect("get"), None);
    assert!(hub.get_history(&id).await.expect("history").is_empty());
    assert_no_orchestration_work(hub, "after purging").await;
    assert_no_activity_work(hub, "after purging").await;
    assert!(
        !hub.purge_instance(&id).await.expect("purge"),
        "already gone"
    );
    assert!(!hub.purge_instance("no-such-instance").await.expect("purge"));
    assert_eq!(hub.get_instance(&keep).await.expect("get"), Some(kept));
}

/// `purge_instances` removes only terminal instances matching the filter.
pub async fn purge_instances_by_filter(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let run = new_id("purges");
    let early = create_with_statuses(
        hub,
        &format!("{run}-a"),
        &[Completed, Failed, Running, Terminated, Pending],
    )
    .await;
    let mid = pause().await;
    let late = create_with_statuses(
        hub,
        &format!("{run}-b"),
        &[Completed, Canceled, Suspended, Failed, Running],
    )
    .await;
    let all: Vec<_> = early.iter().chain(&late).cloned().collect();
    let remaining = || async {
        all_ids(
            hub,
            InstanceQuery {
                instance_id_prefix: Some(run.clone()),
                ..InstanceQuery::default()
            },
        )
        .await
    };

    let purged = hub
        .purge_instances(&PurgeFilter {
            created_to: Some(mid),
            ..PurgeFilter::default()
        })
        .await
        .expect("purge_instances");
    assert_eq!(purged, 3, "the early terminal instances");
    assert_eq!(
        remaining().await,
        ids_where(&all, |id, s| !(early.iter().any(|(e, _)| e == id)
            && s.is_terminal()))
    );
    for (id, _) in early.iter().filter(|(_, s)| s.is_terminal()) {
        assert!(hub.get_history(id).await.expect("history").is_empty());
    }

    let purged = hub
        .purge_instances(&PurgeFilter {
            statuses: vec![Completed, Running, Suspended],
            ..PurgeFilter::default()
        })
        .await
        .expect("purge_instances");
    assert_eq!(purged, 1, "only the terminal statuses of the filter");

    let purged = hub
        .purge_instances(&PurgeFilter {
            created_from: Some(mid),
            ..PurgeFilter::default()
        })
        .await
        .expect("purge_instances");
    assert_eq!(purged, 2, "the late Canceled and Failed instances");

    assert_eq!(remaining().await, ids_where(&all, |_, s| !s.is_terminal()));
    let purged = hub
        .purge_instances(&PurgeFilter::default())
        .await
        .expect("purge_instances");
    assert_eq!(
        purged, 0,
        "non-terminal instances are never purged by filter"
    );
}
