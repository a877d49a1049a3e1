//! S3 event notifications as they arrive on SQS: the objects created, with keys decoded.

use serde::Deserialize;

/// An object an event says was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    /// The bucket.
    pub bucket: String,
    /// The key, decoded.
    pub key: String,
    /// The version's ETag, quoted as listings give it.
    pub etag: Option<String>,
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: Option<Entity>,
}

#[derive(Deserialize)]
struct Entity {
    bucket: BucketRef,
    object: ObjectRef,
}

#[derive(Deserialize)]
struct BucketRef {
    name: String,
}

#[derive(Deserialize)]
struct ObjectRef {
    key: String,
    #[serde(rename = "eTag", default)]
    etag: Option<String>,
}

/// The created objects in one SQS message body: none for the test event S3 sends when the
/// notification is set up, for removals, and for a body that is not an S3 notification.
pub fn created_objects(body: &str) -> Vec<CreatedObject> {
    let Ok(notification) = serde_json::from_str::<Notification>(body) else {
        return Vec::new();
    };
    notification
        .records
        .into_iter()
        .filter(|r| r.event_name.starts_with("ObjectCreated:"))
        .filter_map(|r| r.s3)
        .map(|e| CreatedObject {
            bucket: e.bucket.name,
            key: decode_key(&e.object.key),
            etag: e
                .object
                .etag
                .filter(|t| !t.is_empty())
                .map(|t| format!("\"{}\"", t.trim_matches('"'))),
        })
        .collect()
}

/// An event's key is form-encoded: `+` is a space, `%XX` a byte.
fn decode_key(key: &str) -> String {
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode() {
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        assert!(created_objects(test_event).is_empty());
        let body = r#"{"Records":[
            {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},
             "object":{"key":"in%2Fc+d%C3%A9.txt","eTag":"abc","size":3}}},
            {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},
             "object":{"key":"gone.txt"}}}]}"#;
        assert_eq!(
            created_objects(body),
            [CreatedObject {
                bucket: "b".into(),
                key: "in/c dé.txt".into(),
                etag: Some("\"abc\"".into()),
            }]
        );
        assert!(created_objects("not json").is_empty());
    }
}
