//! S3 connections: an app setting whose value is `Provider=S3` followed by optional
//! `;Key=value` parts (keys in any case):
//!
//! - `ServiceUrl` (or `Endpoint`): an S3-compatible store's URL, e.g. `http://127.0.0.1:9000`;
//!   Amazon S3 when absent (or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`);
//! - `Region`: else the AWS configuration chain's (`AWS_REGION`, the profile), else
//!   `us-east-1`;
//! - `ForcePathStyle`: `true` for stores that do not serve bucket names as host names;
//! - `AccessKeyId` and `SecretAccessKey` (both or neither): else the AWS credential chain
//!   (environment, profile, web identity, container and instance roles);
//! - `EventQueueUrl`: an SQS queue that receives the bucket's event notifications, for runs
//!   that start within milliseconds of a write instead of at the next scan.

use std::fmt;

/// The prefix that makes a connection setting an S3 connection.
const PROVIDER: &str = "S3";

/// A parsed S3 connection setting.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct S3Connection {
    /// `ServiceUrl`.
    pub service_url: Option<String>,
    /// `Region`.
    pub region: Option<String>,
    /// `ForcePathStyle`.
    pub force_path_style: bool,
    /// `AccessKeyId` and `SecretAccessKey`.
    pub keys: Option<(String, String)>,
    /// `EventQueueUrl`.
    pub event_queue_url: Option<String>,
}

impl fmt::Debug for S3Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Connection")
            .field("service_url", &self.service_url)
            .field("region", &self.region)
            .field("force_path_style", &self.force_path_style)
            .field("access_key_id", &self.keys.as_ref().map(|(id, _)| id))
            .field("event_queue_url", &self.event_queue_url)
            .finish()
    }
}

/// The parts of a setting value, split at `;` and `=`, names trimmed.
fn parts(value: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (p, None),
        })
}

/// Whether a connection setting's value names S3 (`Provider=S3;...`).
pub fn is_s3(value: &str) -> bool {
    parts(value).any(|(k, v)| {
        k.eq_ignore_ascii_case("Provider") && v.is_some_and(|v| v.eq_ignore_ascii_case(PROVIDER))
    })
}

impl S3Connection {
    /// Parses a setting value; a message naming what is wrong.
    pub fn parse(value: &str) -> Result<Self, String> {
        if !is_s3(value) {
            return Err("an S3 connection starts with Provider=S3".into());
        }
        let mut c = S3Connection::default();
        let (mut id, mut secret) = (None, None);
        for (key, v) in parts(value) {
            let v = v
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{key} has no value (write {key}=...)"))?;
            let text = Some(v.to_string());
            match key.to_ascii_lowercase().as_str() {
                "provider" => {}
                "serviceurl" | "endpoint" => {
                    if !(v.starts_with("http://") || v.starts_with("https://")) {
                        return Err(format!("ServiceUrl must be an http(s) URL, not {v:?}"));
                    }
                    c.service_url = text;
                }
                "region" => c.region = text,
                "forcepathstyle" => {
                    c.force_path_style = match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(format!("ForcePathStyle must be true or false, not {v:?}"))
                        }
                    }
                }
                "accesskeyid" => id = text,
                "secretaccesskey" => secret = text,
                "eventqueueurl" => c.event_queue_url = text,
                _ => {
                    return Err(format!(
                        "unknown part {key:?}; an S3 connection takes Provider, ServiceUrl, \
                         Region, ForcePathStyle, AccessKeyId, SecretAccessKey and EventQueueUrl"
                    ))
                }
            }
        }
        c.keys = match (id, secret) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => return Err("give AccessKeyId and SecretAccessKey together, or neither".into()),
        };
        Ok(c)
    }

    /// The S3 and (with an event queue) SQS clients, from the AWS configuration chain with
    /// this connection's parts over it.
    #[cfg(feature = "s3")]
    pub async fn clients(&self) -> (aws_sdk_s3::Client, Option<aws_sdk_sqs::Client>) {
        use aws_config::{BehaviorVersion, Region};

        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some((id, secret)) = &self.keys {
            let keys = aws_sdk_s3::config::Credentials::new(id, secret, None, None, "connection");
            loader = loader.credentials_provider(keys);
        }
        if let Some(url) = &self.service_url {
            loader = loader.endpoint_url(url.clone());
        }
        let mut shared = loader.load().await;
        if shared.region().is_none() {
            shared = shared
                .into_builder()
                .region(Region::new("us-east-1"))
                .build();
        }
        let s3 = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(self.force_path_style)
            .build();
        let sqs = self
            .event_queue_url
            .as_ref()
            .map(|_| aws_sdk_sqs::Client::new(&shared));
        (aws_sdk_s3::Client::from_conf(s3), sqs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        assert!(is_s3("Provider=S3"));
        assert!(is_s3(" provider = s3 ; Region=eu-west-1"));
        assert!(!is_s3("UseDevelopmentStorage=true"));
        assert!(!is_s3(
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k"
        ));
        let c = S3Connection::parse(
            "Provider=S3;ServiceUrl=http://127.0.0.1:9000;Region=eu-west-1;ForcePathStyle=true;\
             AccessKeyId=id;SecretAccessKey=secret;EventQueueUrl=http://127.0.0.1:9000/1/q",
        )
        .unwrap();
        assert_eq!(c.service_url.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert!(c.force_path_style);
        assert_eq!(c.keys, Some(("id".into(), "secret".into())));
        assert!(c.event_queue_url.is_some());
        assert!(!format!("{c:?}").contains("secret"));
        assert_eq!(
            S3Connection::parse("Provider=S3").unwrap(),
            S3Connection::default()
        );
        for bad in [
            "Provider=S3;ServiceUrl=ftp://x",
            "Provider=S3;AccessKeyId=id",
            "Provider=S3;ForcePathStyle=yes",
            "Provider=S3;Bucket=x",
            "Provider=S3;Region",
        ] {
            assert!(S3Connection::parse(bad).is_err(), "{bad}");
        }
    }
}
