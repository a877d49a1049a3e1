//! What an autoscaler needs, from the task hub the host runs on: `GET /admin/host/scale`
//! answers JSON (the backlog of every queue, the age of its oldest message, the partitions'
//! holders, and a recommended worker count); `GET /admin/host/scale/metrics` answers the same
//! as Prometheus text. Both need the master key outside local development mode. Any replica
//! answers for the whole task hub.

use durable_http::{HttpResponse, StatusCode};
use durable_store::{Backlog, TaskHub};
use serde_json::json;

/// The JSON endpoint.
pub const SCALE_PATH: &str = "/admin/host/scale";
/// The Prometheus endpoint.
pub const SCALE_METRICS_PATH: &str = "/admin/host/scale/metrics";

/// How much work one worker takes on at once: the host's concurrency limits, which every
/// replica of an app shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleTargets {
    /// `maxConcurrentActivityFunctions`.
    pub activities_per_worker: usize,
    /// `maxConcurrentOrchestratorFunctions`.
    pub orchestrations_per_worker: usize,
}

/// Reads the backlog and answers in JSON or, with `prometheus`, in Prometheus text.
pub async fn answer(store: &dyn TaskHub, targets: ScaleTargets, prometheus: bool) -> HttpResponse {
    let backlog = match store.backlog().await {
        Ok(b) => b,
        Err(e) => {
            return HttpResponse::error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("cannot read the task hub's backlog: {e}"),
            )
        }
    };
    let recommended = backlog.recommended_workers(
        targets.activities_per_worker,
        targets.orchestrations_per_worker,
    );
    if prometheus {
        return HttpResponse::new(StatusCode::OK)
            .with_header(
                http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .with_body(exposition(&backlog, recommended));
    }
    HttpResponse::json(
        StatusCode::OK,
        &json!({
            "recommendedWorkers": recommended,
            "controlQueueMessages": backlog.control_messages(),
            "workItemMessages": backlog.work_items.messages,
            "targets": {
                "activitiesPerWorker": targets.activities_per_worker,
                "orchestrationsPerWorker": targets.orchestrations_per_worker,
            },
            "backlog": backlog,
        }),
    )
}

/// The backlog as Prometheus metrics.
pub(crate) fn exposition(backlog: &Backlog, recommended: u64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, value) in samples {
            out.push_str(&format!("{name}{labels} {value}\n"));
        }
    };
    let queues: Vec<(&str, &durable_store::QueueBacklog)> = backlog
        .control_queues
        .iter()
        .map(|q| ("control", q))
        .chain(std::iter::once(("work_item", &backlog.work_items)))
        .collect();
    family(
        "durable_queue_messages",
        "Messages waiting in a task hub queue.",
        queues
            .iter()
            .map(|(kind, q)| {
                (
                    labels(&[("kind", kind), ("queue", &q.name)]),
                    q.messages.to_string(),
                )
            })
            .collect(),
    );
    family(
        "durable_queue_oldest_message_age_seconds",
        "How long the oldest message ready to be taken has waited (0 when none).",
        queues
            .iter()
            .map(|(kind, q)| {
                let age = q.oldest_message_age.map_or(0.0, |d| d.as_secs_f64());
                (
                    labels(&[("kind", kind), ("queue", &q.name)]),
                    format!("{age:.3}"),
                )
            })
            .collect(),
    );
    family(
        "durable_partition_leased",
        "1 for each partition and the worker holding its lease.",
        backlog
            .partitions
            .iter()
            .map(|p| {
                let owner = p.owner.as_deref().unwrap_or("");
                (
                    labels(&[("partition", &p.partition), ("owner", owner)]),
                    u8::from(p.owner.is_some()).to_string(),
                )
            })
            .collect(),
    );
    family(
        "durable_recommended_workers",
        "Workers that would take the whole backlog on at once.",
        vec![(String::new(), recommended.to_string())],
    );
    out
}

/// `{k="v",...}` with Prometheus' escaping.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_store::{PartitionOwner, QueueBacklog};
    use std::time::Duration;

    #[test]
    fn exposition_has_every_queue_partition_and_the_recommendation() {
        let backlog = Backlog {
            control_queues: vec![QueueBacklog {
                name: "hub-control-00".into(),
                messages: 3,
                oldest_message_age: Some(Duration::from_millis(1500)),
            }],
            work_items: QueueBacklog {
                name: "hub-workitems".into(),
                messages: 0,
                oldest_message_age: None,
            },
            partitions: vec![PartitionOwner {
                partition: "hub-control-00".into(),
                owner: Some("host \"a\"".into()),
            }],
        };
        let text = exposition(&backlog, 2);
        assert!(
            text.contains("durable_queue_messages{kind=\"control\",queue=\"hub-control-00\"} 3\n")
        );
        assert!(text.contains(
            "durable_queue_oldest_message_age_seconds{kind=\"work_item\",queue=\"hub-workitems\"} 0.000\n"
        ));
        assert!(text.contains(
            "durable_partition_leased{partition=\"hub-control-00\",owner=\"host \\\"a\\\"\"} 1\n"
        ));
        assert!(text.contains("durable_recommended_workers 2\n"));
    }
}
