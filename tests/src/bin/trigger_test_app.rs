//! A function app for the queue and blob trigger tests (`tests/tests/triggers_azure.rs`).
//! Each function records what it received as a JSON blob in the `trigger-results`
//! container of the same storage account (through the connection string in
//! `TriggerResultsStorage`, else `AzureWebJobsStorage`), where the test reads it back:
//! `{function}/{key}/{etag or dequeue count}-{pid}`.

use std::process::ExitCode;
use std::sync::OnceLock;

use durable::app::{BlobInfo, QueueMessageInfo};
use durable::store::azure::StorageAccount;
use durable::{blob_trigger, queue_trigger, Failure};
use durable_azure_storage::blobs::{ContainerClient, WriteCondition};
use durable_azure_storage::StorageClients;
use serde::Deserialize;
use serde_json::{json, Value};

/// Where the functions record their runs.
const RESULTS: &str = "trigger-results";

fn results() -> Result<&'static ContainerClient, Failure> {
    static RESULTS_CONTAINER: OnceLock<Result<ContainerClient, String>> = OnceLock::new();
    RESULTS_CONTAINER
        .get_or_init(|| {
            // `TriggerResultsStorage` when the triggers' own connections have no account key.
            let text = std::env::var("TriggerResultsStorage")
                .or_else(|_| std::env::var("AzureWebJobsStorage"))
                .map_err(|e| e.to_string())?;
            let account =
                StorageAccount::from_connection_string(&text).map_err(|e| e.to_string())?;
            let clients = StorageClients::new(account).map_err(|e| e.to_string())?;
            Ok(clients.container(RESULTS))
        })
        .as_ref()
        .map_err(|e| Failure::msg(e.clone()))
}

/// Records one run.
async fn record(function: &str, key: &str, version: &str, what: Value) -> Result<(), Failure> {
    let container = results()?;
    container.create_if_not_exists().await?;
    let name = format!("{function}/{key}/{version}-{}", std::process::id());
    let mut what = what;
    what["pid"] = json!(std::process::id());
    container
        .put(&name, what.to_string().into_bytes(), WriteCondition::Always)
        .await?;
    Ok(())
}

/// A JSON message or blob.
#[derive(Debug, Deserialize)]
struct Order {
    id: String,
    amount: u32,
}

/// Text messages, recorded under their text.
#[queue_trigger(queue_name = "q-text")]
async fn queue_text(msg: String, info: QueueMessageInfo) -> Result<(), Failure> {
    let version = info.dequeue_count.to_string();
    let what = json!({"body": msg, "dequeueCount": info.dequeue_count, "queue": info.queue_name});
    record("queue_text", &msg, &version, what).await
}

/// Byte messages, recorded under their hex.
#[queue_trigger(queue_name = "q-bytes")]
async fn queue_bytes(bytes: Vec<u8>) -> Result<(), Failure> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    record("queue_bytes", &hex, "1", json!({"bytes": bytes})).await
}

/// JSON messages, recorded under their id.
#[queue_trigger(queue_name = "q-json", connection = "TriggerStorage")]
async fn queue_json(order: Order, info: QueueMessageInfo) -> Result<(), Failure> {
    let what = json!({"id": order.id, "amount": order.amount, "dequeueCount": info.dequeue_count});
    record("queue_json", &order.id, "1", what).await
}

/// Fails or panics as its text says: `fail-twice-*` succeeds on the third try, `always-*`
/// never does, `panic-*` panics. Every attempt is recorded.
#[queue_trigger(queue_name = "q-flaky")]
async fn queue_flaky(msg: String, info: QueueMessageInfo) -> Result<(), Failure> {
    let count = info.dequeue_count;
    record(
        "queue_flaky",
        &msg,
        &count.to_string(),
        json!({"dequeueCount": count}),
    )
    .await?;
    if msg.starts_with("panic") {
        panic!("asked to panic on {msg}");
    }
    if msg.starts_with("always") || (msg.starts_with("fail-twice") && count < 3) {
        return Err(Failure::new("Flaky", format!("{msg} fails on try {count}")));
    }
    Ok(())
}

/// Records that it started, takes two seconds, records that it finished: a run in flight
/// when the host is asked to stop.
#[queue_trigger(queue_name = "q-slow")]
async fn queue_slow(msg: String, info: QueueMessageInfo) -> Result<(), Failure> {
    let count = info.dequeue_count.to_string();
    record("queue_slow", &msg, &format!("{count}-started"), json!({})).await?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    record("queue_slow", &msg, &format!("{count}-finished"), json!({})).await
}

/// Text blobs named `{name}.{ext}`, recorded under the blob name and ETag.
#[blob_trigger(path = "b-text/{name}.{ext}")]
async fn blob_text(content: String, info: BlobInfo) -> Result<(), Failure> {
    let what = json!({
        "content": content,
        "name": info.param("name"),
        "ext": info.param("ext"),
        "blob": info.name,
        "container": info.container,
        "etag": info.etag,
        "attempt": info.attempt,
        "length": info.length,
    });
    record("blob_text", &info.name, &info.etag, what).await
}

/// JSON blobs under `in/`, recorded under their id; content that is not an `Order` fails.
#[blob_trigger(path = "b-json/in/{id}.json")]
async fn blob_json(order: Order, info: BlobInfo) -> Result<(), Failure> {
    let what = json!({"id": order.id, "amount": order.amount, "param": info.param("id")});
    record("blob_json", &order.id, &info.etag, what).await
}

/// Always fails; every attempt is recorded.
#[blob_trigger(path = "b-poison/{name}")]
async fn blob_poison(_content: Vec<u8>, info: BlobInfo) -> Result<(), Failure> {
    let version = format!("{}-{}", info.etag, info.attempt);
    record(
        "blob_poison",
        &info.name,
        &version,
        json!({"attempt": info.attempt}),
    )
    .await?;
    Err(Failure::new(
        "AlwaysFails",
        "this blob function always fails",
    ))
}

fn main() -> ExitCode {
    durable::host::main()
}
