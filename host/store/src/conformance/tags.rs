//! Checks of instance tags: kept from the start through commits, and a filter of queries.

use std::sync::Arc;

use super::fixtures::*;
use crate::{InstanceQuery, TaskHub};
use durable_engine::history::{OrchestrationStatus, Tags};

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The tags of a start are in the instance row, stay there through a commit, and filter
/// instance queries and counts (every tag of the filter must match).
pub async fn tags_are_kept_and_filter_queries(hub: Arc<dyn TaskHub>) {
    let hub = &*hub;
    let run = new_id("tags");
    let (eu, us, none) = (
        format!("{run}-eu"),
        format!("{run}-us"),
        format!("{run}-none"),
    );
    let eu_tags = tags(&[("region", "eu"), ("tier", "gold"), ("odd key \"x\"", "a'b")]);
    for (id, t) in [(&eu, eu_tags.clone()), (&us, tags(&[("region", "us")]))] {
        let start = start_message_with(id, &new_execution_id(), |s| s.tags = Some(t));
        hub.create_instance(start)
            .await
            .expect("create_instance failed");
    }
    hub.create_instance(start_message(&none, &new_execution_id()))
        .await
        .expect("create_instance failed");
    let row = |id: String| async move {
        hub.get_instance(&id)
            .await
            .expect("get_instance failed")
            .expect("the row exists")
    };
    assert_eq!(
        row(eu.clone()).await.tags,
        eu_tags,
        "tags of a new instance"
    );
    assert!(row(none.clone()).await.tags.is_empty());

    let item = lock_instance(hub, &eu).await;
    hub.complete_orchestration(&item, episode(&item, OrchestrationStatus::Running))
        .await
        .expect("commit failed");
    let running = row(eu.clone()).await;
    assert_eq!(running.status, OrchestrationStatus::Running);
    assert_eq!(running.tags, eu_tags, "tags after a commit");

    let ids = |filter: Tags| {
        let query = InstanceQuery {
            instance_id_prefix: Some(run.clone()),
            tags: filter,
            ..InstanceQuery::default()
        };
        async move {
            let page = hub.query_instances(&query).await.expect("query failed");
            assert!(page.continuation.is_none());
            page.instances
                .into_iter()
                .map(|i| i.instance_id)
                .collect::<Vec<_>>()
        }
    };
    let only_eu = vec![eu.clone()];
    assert_eq!(ids(tags(&[("region", "eu")])).await, only_eu);
    assert_eq!(ids(eu_tags.clone()).await, only_eu, "every tag");
    assert_eq!(
        ids(tags(&[("odd key \"x\"", "a'b")])).await,
        only_eu,
        "keys and values are matched as text"
    );
    assert!(ids(tags(&[("region", "eu"), ("tier", "silver")]))
        .await
        .is_empty());
    assert!(ids(tags(&[("colour", "eu")])).await.is_empty());
    assert_eq!(
        ids(Tags::new()).await,
        [eu.clone(), none.clone(), us.clone()]
    );

    let counts = hub
        .count_instances(&InstanceQuery {
            instance_id_prefix: Some(run.clone()),
            tags: tags(&[("region", "us")]),
            ..InstanceQuery::default()
        })
        .await
        .expect("count failed");
    let expected = [(OrchestrationStatus::Pending, 1)].into_iter().collect();
    assert_eq!(counts, expected, "counts by tag");
}
