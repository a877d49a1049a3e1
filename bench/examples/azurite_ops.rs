//! How many requests per second Azurite (in memory, this machine) answers, per kind of request
//! the Azure Storage task hub makes, with 64 in flight: the ceiling under W1 on Azurite.
//!
//! `cargo run --release -p bench --example azurite_ops`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable::store::azure::StorageAccount;
use durable_azure_storage::entity::{EdmValue, Entity};
use durable_azure_storage::tables::{IfMatch, UpdateMode};
use durable_azure_storage::StorageClients;
use durable_testing::azurite;

const IN_FLIGHT: usize = 64;
const N: usize = 3_000;

async fn measure<F, Fut>(what: &str, op: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= N {
                        return;
                    }
                    op(i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!("{what:<32} {:>8.0} requests/s", N as f64 / secs);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let emulator = azurite::shared().map_err(|e| anyhow::anyhow!("{e}"))?;
    let clients = StorageClients::new(StorageAccount::from_connection_string(
        &emulator.connection_string(),
    )?)?;
    let queue = clients.queue("probe");
    queue.create_if_not_exists().await?;
    let table = clients.table("Probe");
    table.create_if_not_exists().await?;

    let q = queue.clone();
    measure("queue put", move |_| {
        let q = q.clone();
        async move {
            q.put(b"{\"hello\":1}", Duration::ZERO).await.unwrap();
        }
    })
    .await;
    let q = queue.clone();
    measure("queue get 1 + delete", move |_| {
        let q = q.clone();
        async move {
            for m in q.get(1, Duration::from_secs(30)).await.unwrap() {
                q.delete_message(&m.id, &m.pop_receipt).await.unwrap();
            }
        }
    })
    .await;
    let t = table.clone();
    measure("table upsert (replace)", move |i| {
        let t = t.clone();
        async move {
            let e = Entity::new(format!("pk{i}"), "")
                .with("Status", EdmValue::String("Running".into()))
                .with("Input", EdmValue::String("x".repeat(100)));
            t.update(&e, UpdateMode::Replace, IfMatch::Upsert)
                .await
                .unwrap();
        }
    })
    .await;
    let t = table.clone();
    measure("table point get", move |i| {
        let t = t.clone();
        async move {
            t.get(&format!("pk{i}"), "").await.unwrap();
        }
    })
    .await;
    let t = Instant::now();
    let rows = table
        .query_all("RowKey eq '' and Status eq 'Running'")
        .await?;
    println!(
        "table query over {} rows            {:>8.0} ms",
        rows.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
