//! Large table properties: values over 60 KB (UTF-16) go to gzip blobs in the
//! large-messages container. History rows keep `{Prop}BlobName` and an empty `{Prop}`;
//! Instances rows keep the blob's URL in `{Prop}`.

use super::hub::{gunzip, gzip, storage, AzureTaskHub};
use durable_azure_storage::entity::{EdmValue, Entity};
use durable_store::{StoreError, StoreResult};

/// Properties that may be offloaded.
const CANDIDATES: [&str; 9] = [
    "Name",
    "Input",
    "Result",
    "Output",
    "Reason",
    "Details",
    "Correlation",
    "FailureDetails",
    "Tags",
];

/// The largest property kept in the row: 60 KB of UTF-16.
const MAX_INLINE_UTF16_BYTES: usize = 60 * 1024;

fn too_large(s: &str) -> bool {
    // Cheap bound first: UTF-16 never needs more than two bytes per UTF-8 byte.
    s.len() * 2 > MAX_INLINE_UTF16_BYTES && s.encode_utf16().count() * 2 > MAX_INLINE_UTF16_BYTES
}

/// The large properties of a row, with the value of each.
fn large_properties(e: &Entity) -> Vec<(&'static str, String)> {
    CANDIDATES
        .iter()
        .filter_map(|name| match e.get(name) {
            Some(EdmValue::String(s)) if too_large(s) => Some((*name, s.clone())),
            _ => None,
        })
        .collect()
}

impl AzureTaskHub {
    /// `{PartitionKey}/history-{RowKey}-{EventType}-{RAND}-{Prop}.json.gz`.
    fn property_blob(partition_key: &str, row_key: &str, kind: &str, property: &str) -> String {
        let rand: u32 = rand::random();
        format!("{partition_key}/history-{row_key}-{kind}-{rand:08X}-{property}.json.gz")
    }

    async fn upload(&self, blob: &str, value: &str) -> StoreResult<()> {
        let data = gzip(value.as_bytes())?;
        self.large
            .put(
                blob,
                data,
                durable_azure_storage::blobs::WriteCondition::Always,
            )
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn download(&self, blob: &str) -> StoreResult<String> {
        let data = self
            .large
            .get(blob)
            .await
            .map_err(storage)?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("large property blob {blob:?} is missing"))
            })?;
        String::from_utf8(gunzip(&data)?)
            .map_err(|_| StoreError::Corrupt(format!("large property blob {blob:?} is not UTF-8")))
    }

    /// Moves a history row's large properties to blobs.
    pub(super) async fn offload_history_row(&self, e: &mut Entity) -> StoreResult<()> {
        let kind = e.str("EventType").unwrap_or("Event").to_owned();
        for (name, value) in large_properties(e) {
            let blob = Self::property_blob(&e.partition_key, &e.row_key, &kind, name);
            self.upload(&blob, &value).await?;
            e.properties
                .insert(format!("{name}BlobName"), EdmValue::String(blob));
            e.properties
                .insert(name.to_owned(), EdmValue::String(String::new()));
        }
        Ok(())
    }

    /// Brings a history row's offloaded properties back.
    pub(super) async fn restore_history_row(&self, e: &mut Entity) -> StoreResult<()> {
        for name in CANDIDATES {
            let Some(blob) = e.str(&format!("{name}BlobName")).map(str::to_owned) else {
                continue;
            };
            if blob.is_empty() {
                continue;
            }
            let value = self.download(&blob).await?;
            e.properties
                .insert(name.to_owned(), EdmValue::String(value));
        }
        Ok(())
    }

    /// Moves an Instances row's large properties to blobs, leaving their URLs.
    pub(super) async fn offload_instance_row(
        &self,
        e: &mut Entity,
        history_len: u64,
    ) -> StoreResult<()> {
        let row_key = super::layout::history_row_key(history_len);
        for (name, value) in large_properties(e) {
            let blob = Self::property_blob(&e.partition_key, &row_key, name, name);
            self.upload(&blob, &value).await?;
            e.properties.insert(
                name.to_owned(),
                EdmValue::String(self.large.blob_url(&blob)),
            );
        }
        Ok(())
    }

    /// Replaces blob URLs of this hub's large-messages container in an Instances row by the
    /// values they hold (large message blobs hold a whole envelope: its event's input).
    pub(super) async fn restore_instance_row(&self, e: &mut Entity) -> StoreResult<()> {
        let prefix = self.large.blob_url("");
        for name in ["Input", "Output", "Tags"] {
            let Some(url) = e
                .str(name)
                .filter(|v| v.starts_with(&prefix))
                .map(str::to_owned)
            else {
                continue;
            };
            let blob = percent_encoding::percent_decode_str(&url[prefix.len()..])
                .decode_utf8_lossy()
                .into_owned();
            let value = self.download(&blob).await?;
            e.properties
                .insert(name.to_owned(), EdmValue::String(value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_over_60_kb_of_utf16_are_large() {
        assert!(!too_large(&"a".repeat(30 * 1024)));
        assert!(too_large(&"a".repeat(30 * 1024 + 1)));
        // 3 UTF-8 bytes but one UTF-16 unit each.
        assert!(!too_large(&"€".repeat(30 * 1024)));
    }
}
