//! A host process for the crash test: runs a fixed set of 200 orchestrations (chains,
//! fan-outs, timers, external events, sub-orchestrations) on a SQLite task hub, starting the
//! ones that do not exist yet, and exits with "ALL DONE" when every one has finished. The test
//! kills it with SIGKILL at random moments and starts it again.

use std::sync::Arc;
use std::time::Duration;

use durable::store::sqlite::SqliteTaskHub;
use durable::store::TaskHub;
use durable::{Registry, Runtime, RuntimeOptions};
use tests::crash::{expected_output, instance_id, registry_for_crash_test, Kind, INSTANCES};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let path = std::env::args()
        .nth(1)
        .expect("usage: crash-worker <hub.db>");
    let store: Arc<dyn TaskHub> = Arc::new(SqliteTaskHub::open(&path)?);
    let registry: Registry = registry_for_crash_test();
    let options = RuntimeOptions {
        // short locks so that work locked by a killed process is taken over quickly
        orchestration_lock: Duration::from_secs(2),
        activity_lock: Duration::from_secs(2),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(store, registry, options).await?;
    let client = rt.client();
    for i in 0..INSTANCES {
        let id = instance_id(i);
        let kind = Kind::of(i);
        let status = client.get_status(&id).await?;
        if status.is_none() {
            client
                .start_new(kind.orchestrator(), Some(&id), &(i as i64))
                .await?;
        }
        if kind == Kind::Event && !status.is_some_and(|s| s.runtime_status.is_terminal()) {
            client.raise_event(&id, "go", &(i as i64 * 10)).await?;
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let mut done = 0;
        for i in 0..INSTANCES {
            if let Some(s) = client.get_status(&instance_id(i)).await? {
                if s.runtime_status.is_terminal() {
                    done += 1;
                    let expected = expected_output(i);
                    anyhow::ensure!(
                        s.output == serde_json::json!(expected),
                        "{} finished with {:?} {:?}, expected {expected}",
                        s.instance_id,
                        s.runtime_status,
                        s.output
                    );
                }
            }
        }
        if done == INSTANCES {
            println!("ALL DONE");
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {done} of {INSTANCES} finished in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
