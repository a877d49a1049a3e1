//! The few S3 calls the trigger makes, over `aws-sdk-s3`: list a page, read a version, write
//! with a condition, and move an object aside.

use std::fmt;

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};

/// A failed S3 (or SQS) call: the HTTP status when there was an answer, and the SDK's message.
#[derive(Debug, Clone)]
pub struct S3Failure {
    /// The HTTP status of the answer, if one came.
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for S3Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "{} (HTTP {s})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The result of an S3 call.
pub type S3Result<T> = Result<T, S3Failure>;

/// The failure of an SDK call (S3 or SQS: both use the same error type).
pub fn failed<E, R>(e: SdkError<E, R>) -> S3Failure
where
    E: std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + HasStatus,
{
    S3Failure {
        status: e.raw_response().map(HasStatus::status),
        message: DisplayErrorContext(&e).to_string(),
    }
}

/// A raw response's HTTP status.
pub trait HasStatus {
    /// The status code.
    fn status(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// One object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectItem {
    /// The key.
    pub key: String,
    /// The version's ETag, quotes included as S3 gives it.
    pub etag: String,
    /// When the version was written.
    pub last_modified: Option<DateTime<Utc>>,
}

/// One page of a listing.
pub struct ObjectPage {
    /// The objects, in key order.
    pub items: Vec<ObjectItem>,
    /// The token of the next page.
    pub next: Option<String>,
}

/// What reading one version found.
pub enum ObjectVersion {
    /// The version's content.
    Found(Vec<u8>),
    /// The object has another version now.
    Changed,
    /// The object is gone.
    Missing,
}

/// A condition on a write.
pub enum WriteIf<'a> {
    /// Only if the key does not exist (`If-None-Match: *`).
    Absent,
    /// Only if the current version has this ETag (`If-Match`).
    Matches(&'a str),
}

/// One bucket.
#[derive(Clone)]
pub struct Bucket {
    s3: Client,
    name: String,
}

impl Bucket {
    /// `name` through `s3`.
    pub fn new(s3: Client, name: &str) -> Self {
        Self {
            s3,
            name: name.to_string(),
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One page of the objects whose keys start with `prefix`.
    pub async fn list_page(&self, prefix: &str, token: Option<&str>) -> S3Result<ObjectPage> {
        let mut call = self.s3.list_objects_v2().bucket(&self.name);
        if !prefix.is_empty() {
            call = call.prefix(prefix);
        }
        if let Some(t) = token {
            call = call.continuation_token(t);
        }
        let out = call.send().await.map_err(failed)?;
        let items = out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ObjectItem {
                    key: o.key()?.to_string(),
                    etag: o.e_tag()?.to_string(),
                    last_modified: o
                        .last_modified()
                        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
                })
            })
            .collect();
        let next = out
            .is_truncated()
            .unwrap_or(false)
            .then(|| out.next_continuation_token().map(str::to_string))
            .flatten();
        Ok(ObjectPage { items, next })
    }

    /// The current version's ETag of `key`, if it exists.
    pub async fn head(&self, key: &str) -> S3Result<Option<ObjectItem>> {
        match self
            .s3
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(out.e_tag().map(|etag| ObjectItem {
                key: key.to_string(),
                etag: etag.to_string(),
                last_modified: out
                    .last_modified()
                    .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
            })),
            Err(e) => match failed(e) {
                S3Failure {
                    status: Some(404), ..
                } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// The content of `key` if its version is still `etag`.
    pub async fn get_version(&self, key: &str, etag: &str) -> S3Result<ObjectVersion> {
        let call = self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(key)
            .if_match(etag);
        match call.send().await {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| S3Failure {
                    status: None,
                    message: format!("reading the object's body failed: {e}"),
                })?;
                Ok(ObjectVersion::Found(bytes.into_bytes().to_vec()))
            }
            Err(e) => match failed(e) {
                S3Failure {
                    status: Some(412), ..
                } => Ok(ObjectVersion::Changed),
                S3Failure {
                    status: Some(404), ..
                } => Ok(ObjectVersion::Missing),
                other => Err(other),
            },
        }
    }

    /// The content of `key` with its ETag, if it exists.
    pub async fn get(&self, key: &str) -> S3Result<Option<(Vec<u8>, String)>> {
        match self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_string();
                let bytes = out.body.collect().await.map_err(|e| S3Failure {
                    status: None,
                    message: format!("reading the object's body failed: {e}"),
                })?;
                Ok(Some((bytes.into_bytes().to_vec(), etag)))
            }
            Err(e) => match failed(e) {
                S3Failure {
                    status: Some(404), ..
                } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Writes `content` to `key` if `condition` holds; returns the new ETag. A condition that
    /// does not hold is a failure with status 412 (or 409 for a concurrent write).
    pub async fn put(
        &self,
        key: &str,
        content: Vec<u8>,
        condition: WriteIf<'_>,
    ) -> S3Result<String> {
        let mut call = self
            .s3
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(content));
        call = match condition {
            WriteIf::Absent => call.if_none_match("*"),
            WriteIf::Matches(etag) => call.if_match(etag),
        };
        let out = call.send().await.map_err(failed)?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }

    /// Copies version `etag` of `key` to `to` with the metadata `reason`, then deletes `key`
    /// if it is still that version.
    pub async fn move_aside(&self, key: &str, etag: &str, to: &str, reason: &str) -> S3Result<()> {
        let source = format!("{}/{}", self.name, percent_encode_key(key));
        self.s3
            .copy_object()
            .bucket(&self.name)
            .key(to)
            .copy_source(source)
            .copy_source_if_match(etag)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .metadata("durable-poison-reason", ascii(reason))
            .metadata("durable-source-key", ascii(key))
            .send()
            .await
            .map_err(failed)?;
        match self
            .s3
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Written again meanwhile: the new version stays.
            Err(e) => match failed(e) {
                S3Failure {
                    status: Some(412 | 404),
                    ..
                } => Ok(()),
                other => Err(other),
            },
        }
    }
}

/// A key as a copy source names it: every byte but unreserved characters and `/`
/// percent-encoded.
fn percent_encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Metadata values are ASCII: anything else becomes `?`, and the value is cut at 1 KiB.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .take(1024)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_are_encoded() {
        assert_eq!(percent_encode_key("in/a b+c.txt"), "in/a%20b%2Bc.txt");
        assert_eq!(percent_encode_key("é"), "%C3%A9");
        assert_eq!(ascii("bad\nvalue é"), "bad?value ?");
    }
}
