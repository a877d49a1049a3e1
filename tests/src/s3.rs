//! The outside system of the S3 tests: a plain AWS SDK client of a moto server, writing
//! objects and setting up event notifications as any other program would.

use aws_sdk_s3::primitives::ByteStream;
use durable_testing::moto::Moto;

/// S3 and SQS clients of one moto server, with a runtime to drive them from sync tests.
pub struct Outside {
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// Runs their calls.
    pub rt: tokio::runtime::Runtime,
}

impl Outside {
    /// Clients of `moto` (path-style, any credentials).
    pub fn of(moto: &Moto) -> Outside {
        let rt = tokio::runtime::Runtime::new().expect("a runtime");
        let (s3, sqs) = rt.block_on(async {
            let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .endpoint_url(moto.url())
                .load()
                .await;
            let s3 = aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build();
            (
                aws_sdk_s3::Client::from_conf(s3),
                aws_sdk_sqs::Client::new(&shared),
            )
        });
        Outside { s3, sqs, rt }
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, bucket: &str) {
        self.rt
            .block_on(self.s3.create_bucket().bucket(bucket).send())
            .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e:?}"));
    }

    /// Writes an object.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        self.rt
            .block_on(
                self.s3
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(body.to_vec()))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("writing {bucket}/{key}: {e:?}"));
    }

    /// The metadata of an object, if it exists.
    pub fn metadata(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<std::collections::HashMap<String, String>> {
        self.rt
            .block_on(self.s3.head_object().bucket(bucket).key(key).send())
            .ok()
            .map(|o| o.metadata().cloned().unwrap_or_default())
    }
}
