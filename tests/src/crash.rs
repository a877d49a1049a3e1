//! The workload of the crash test, shared by the worker process and the test that checks it.

use std::time::Duration;

use durable::{OrchestrationContext, Registry};

/// How many orchestrations the crash test runs.
pub const INSTANCES: usize = 200;

/// The instance id of orchestration `i`.
pub fn instance_id(i: usize) -> String {
    format!("crash-{i:03}")
}

/// The shapes of orchestration in the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Five activities one after another.
    Chain,
    /// Ten activities in parallel.
    FanOut,
    /// A durable timer, then an activity.
    Timer,
    /// An external event, then an activity.
    Event,
    /// A sub-orchestration (a chain), then an activity.
    Parent,
}

impl Kind {
    /// The kind of orchestration `i`.
    pub fn of(i: usize) -> Kind {
        [
            Kind::Chain,
            Kind::FanOut,
            Kind::Timer,
            Kind::Event,
            Kind::Parent,
        ][i % 5]
    }

    /// The orchestrator name.
    pub fn orchestrator(self) -> &'static str {
        match self {
            Kind::Chain => "crash_chain",
            Kind::FanOut => "crash_fanout",
            Kind::Timer => "crash_timer",
            Kind::Event => "crash_event",
            Kind::Parent => "crash_parent",
        }
    }
}

/// The serialized output orchestration `i` must finish with.
pub fn expected_output(i: usize) -> i64 {
    let n = i as i64;
    match Kind::of(i) {
        Kind::Chain => n + 5,
        Kind::FanOut => (0..10).map(|k| 2 * (n + k)).sum(),
        Kind::Timer => n + 1,
        Kind::Event => n * 10 + 1,
        Kind::Parent => n + 6,
    }
}

async fn busy() {
    // long enough that kills land while activities are in flight
    let ms = 5 + rand::random::<u64>() % 40;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The orchestrators and activities of the workload.
pub fn registry_for_crash_test() -> Registry {
    Registry::new()
        .activity("add_one", |_ctx, n: i64| async move {
            busy().await;
            Ok(n + 1)
        })
        .activity("double", |_ctx, n: i64| async move {
            busy().await;
            Ok(2 * n)
        })
        .orchestration(
            "crash_chain",
            |ctx: OrchestrationContext, n: i64| async move {
                let mut v = n;
                for _ in 0..5 {
                    v = ctx.call_activity_by_name("add_one", &v).await?;
                }
                Ok(v)
            },
        )
        .orchestration(
            "crash_fanout",
            |ctx: OrchestrationContext, n: i64| async move {
                let tasks =
                    (0..10).map(|k| ctx.call_activity_by_name::<_, i64>("double", &(n + k)));
                let mut sum = 0;
                for r in durable::when_all(tasks).await {
                    sum += r?;
                }
                Ok(sum)
            },
        )
        .orchestration(
            "crash_timer",
            |ctx: OrchestrationContext, n: i64| async move {
                ctx.sleep(Duration::from_millis(300 + (n as u64 % 7) * 100))
                    .await;
                Ok(ctx.call_activity_by_name::<_, i64>("add_one", &n).await?)
            },
        )
        .orchestration(
            "crash_event",
            |ctx: OrchestrationContext, _n: i64| async move {
                let v: i64 = ctx.wait_for_external_event("go").await?;
                Ok(ctx.call_activity_by_name::<_, i64>("add_one", &v).await?)
            },
        )
        .orchestration(
            "crash_parent",
            |ctx: OrchestrationContext, n: i64| async move {
                let v: i64 = ctx
                    .call_sub_orchestrator_by_name("crash_chain", None, &n)
                    .await?;
                Ok(ctx.call_activity_by_name::<_, i64>("add_one", &v).await?)
            },
        )
}
