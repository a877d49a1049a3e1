//! The app of the S3 blob trigger tests (`tests/tests/s3_trigger.rs`): blob functions whose
//! connection `S3Storage` is an S3 connection (`Provider=S3;...`). Each run appends a line
//! to the file named by the setting `RUNS_FILE`: `function key etag attempt pid what-it-read`
//! (spaces in the key as `%20`).
//!
//! - `text_upload`: `uploads/{name}.txt`, the content as a string;
//! - `order_upload`: `orders/{id}.json`, the content as a typed order;
//! - `raw_upload`: `raw/{name}.{ext}`, the content as bytes (their count is written);
//! - `slow_upload`: `slow/{name}`, runs for ten minutes when the setting `HOLD_SLOW` is `true`
//!   (so that a test can kill the host mid-run);
//! - `always_fails`: `broken/{name}`, fails every run.

use std::io::Write;

use durable::app::BlobInfo;
use durable::{blob_trigger, Failure};
use serde::Deserialize;

/// Appends one run's line to `RUNS_FILE`.
fn record(function: &str, info: &BlobInfo, what: &str) -> Result<(), Failure> {
    let path = std::env::var("RUNS_FILE").map_err(|_| Failure::new("Config", "RUNS_FILE"))?;
    let line = format!(
        "{function} {} {} {} {} {what}\n",
        info.name.replace(' ', "%20"),
        info.etag.trim_matches('"'),
        info.attempt,
        std::process::id()
    );
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Failure::new("Io", e.to_string()))?;
    file.write_all(line.as_bytes())
        .map_err(|e| Failure::new("Io", e.to_string()))
}

#[blob_trigger(path = "uploads/{name}.txt", connection = "S3Storage")]
async fn text_upload(text: String, info: BlobInfo) -> Result<(), Failure> {
    let name = info.param("name").unwrap_or_default().to_string();
    record(
        "text_upload",
        &info,
        &format!("name={name} text={}", text.trim()),
    )
}

/// An order as the upstream system writes it.
#[derive(Deserialize)]
struct Order {
    id: String,
    total: u32,
}

#[blob_trigger(path = "orders/{id}.json", connection = "S3Storage")]
async fn order_upload(order: Order, info: BlobInfo) -> Result<(), Failure> {
    record(
        "order_upload",
        &info,
        &format!("id={} total={}", order.id, order.total),
    )
}

#[blob_trigger(path = "raw/{name}.{ext}", connection = "S3Storage")]
async fn raw_upload(bytes: Vec<u8>, info: BlobInfo) -> Result<(), Failure> {
    let ext = info.param("ext").unwrap_or_default().to_string();
    record(
        "raw_upload",
        &info,
        &format!("ext={ext} bytes={}", bytes.len()),
    )
}

#[blob_trigger(path = "slow/{name}", connection = "S3Storage")]
async fn slow_upload(_content: Vec<u8>, info: BlobInfo) -> Result<(), Failure> {
    record("slow_upload", &info, "started")?;
    if std::env::var("HOLD_SLOW").as_deref() == Ok("true") {
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
    Ok(())
}

#[blob_trigger(path = "broken/{name}", connection = "S3Storage")]
async fn always_fails(_content: Vec<u8>, info: BlobInfo) -> Result<(), Failure> {
    record("always_fails", &info, "failing")?;
    Err(Failure::new("Broken", "this function always fails"))
}

fn main() -> std::process::ExitCode {
    durable::host::main()
}
