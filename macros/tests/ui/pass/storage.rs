//! Every `#[queue_trigger]` and `#[blob_trigger]` form. The functions stay callable as written.
#![deny(warnings)]

use std::collections::HashMap;

use durable::app::{BlobInfo, QueueMessageInfo};
use durable::{blob_trigger, durable_client, queue_trigger, DurableClient, Failure};
use serde::Deserialize;

/// A JSON message.
#[derive(Debug, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: String,
}

/// A serde body, the info and the client, returning a `Result`.
#[queue_trigger(queue_name = "orders", connection = "OrdersStorage")]
pub async fn process_order(
    order: Order,
    info: QueueMessageInfo,
    #[durable_client] client: DurableClient,
) -> Result<(), Failure> {
    if info.dequeue_count > 1 {
        client.start_new("retry", Some(&order.id), &()).await?;
    }
    Ok(())
}

/// Text, nothing returned, renamed.
#[queue_trigger(queue_name = "lines", name = "LineReader")]
async fn read_line(_line: String) {}

/// Bytes first after the info, a std error type.
#[queue_trigger(queue_name = "raw-bytes")]
async fn raw(_info: QueueMessageInfo, _bytes: Vec<u8>) -> Result<(), std::io::Error> {
    Ok(())
}

/// A blob with its info and the client.
#[blob_trigger(path = "weather-results/{requestId}.txt")]
pub async fn weather_result(
    report: String,
    info: BlobInfo,
    #[durable_client] client: DurableClient,
) -> Result<(), Failure> {
    let id = info.param("requestId").unwrap_or_default();
    client.raise_event(id, "WeatherResult", &report).await?;
    Ok(())
}

/// Bytes, `{name}.{ext}`, another connection.
#[blob_trigger(path = "images/{name}.{ext}", connection = "ImagesStorage")]
async fn image(_content: Vec<u8>) {}

/// JSON content, `-> ()` written out.
#[blob_trigger(path = "orders/in/{id}.json")]
async fn order_blob(_order: Order, _info: BlobInfo) -> () {}

fn main() {
    let info = QueueMessageInfo {
        queue_name: "lines".into(),
        id: "1".into(),
        dequeue_count: 1,
        insertion_time: durable::store::clock::now(),
        next_visible_time: durable::store::clock::now(),
        pop_receipt: "r".into(),
    };
    let _ = read_line(String::new());
    let _ = raw(info, Vec::new());
    let blob = BlobInfo {
        container: "images".into(),
        name: "a.png".into(),
        path: "images/a.png".into(),
        path_params: HashMap::new(),
        etag: "0x1".into(),
        uri: String::new(),
        length: 0,
        last_modified: None,
        attempt: 1,
    };
    let _ = image(Vec::new());
    let _ = order_blob(Order { id: "1".into() }, blob);
    let _ = (process_order, weather_result);
}

