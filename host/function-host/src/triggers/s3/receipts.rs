//! Receipts on S3: one object per (function, object version) under
//! `.durable/receipts/{hostId}/{function}/{etag}/{key}` in the watched bucket. S3 has no
//! leases, so the claim is written into the receipt: a run claims it for [`CLAIM`] with a
//! conditional write (`If-None-Match: *` to create it, `If-Match` on its ETag to take over an
//! expired claim), renews it the same way while the function runs, and writes the outcome
//! under the same condition. Two hosts never both win a conditional write, so one version
//! runs on one host at a time; a host that dies leaves a claim that expires.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::bucket::{Bucket, S3Failure, S3Result, WriteIf};
use super::{CLAIM, RESERVED_PREFIX};
use crate::triggers::blob::{Claimed, ReceiptState};

/// A receipt's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// How the version fared.
    pub state: ReceiptState,
    /// Failed runs so far.
    pub failures: u32,
    /// Until when a run holds the version (none when settled or between runs).
    #[serde(default)]
    pub claimed_until: Option<DateTime<Utc>>,
    /// Which host holds it.
    #[serde(default)]
    pub claimed_by: Option<String>,
}

/// A held claim on one version's run.
#[derive(Debug)]
pub struct Claim {
    key: String,
    etag: String,
    /// The receipt as claimed.
    pub receipt: Receipt,
}

/// The receipts of one function.
#[derive(Clone)]
pub struct Receipts {
    bucket: Bucket,
    prefix: String,
    owner: String,
}

/// Whether a failure is a condition that did not hold (someone else wrote first).
fn lost_race(e: &S3Failure) -> bool {
    matches!(e.status, Some(409 | 412))
}

impl Receipts {
    /// Receipts of `function` in `bucket` for the hosts sharing `host_id`; `owner` names this
    /// host in the claims.
    pub fn new(bucket: Bucket, host_id: &str, function: &str, owner: &str) -> Self {
        Self {
            bucket,
            prefix: format!("{RESERVED_PREFIX}receipts/{host_id}/{function}"),
            owner: owner.to_string(),
        }
    }

    fn key(&self, etag: &str, object: &str) -> String {
        format!("{}/{}/{object}", self.prefix, etag.trim_matches('"'))
    }

    fn claimed(&self, mut receipt: Receipt) -> Receipt {
        let until = Utc::now() + chrono::Duration::from_std(CLAIM).unwrap_or_default();
        receipt.claimed_until = Some(until);
        receipt.claimed_by = Some(self.owner.clone());
        receipt
    }

    fn encode(receipt: &Receipt) -> Vec<u8> {
        serde_json::to_vec(receipt).unwrap_or_default()
    }

    /// Claims the run of version `etag` of `object`.
    pub async fn claim(&self, etag: &str, object: &str) -> S3Result<Claimed<Claim>> {
        let key = self.key(etag, object);
        let fresh = self.claimed(Receipt {
            state: ReceiptState::Incomplete,
            failures: 0,
            claimed_until: None,
            claimed_by: None,
        });
        match self
            .bucket
            .put(&key, Self::encode(&fresh), WriteIf::Absent)
            .await
        {
            Ok(etag) => {
                return Ok(Claimed::Run(Claim {
                    key,
                    etag,
                    receipt: fresh,
                }))
            }
            Err(e) if lost_race(&e) => {}
            Err(e) => return Err(e),
        }
        let Some((bytes, current)) = self.bucket.get(&key).await? else {
            // Deleted between the two calls: the next scan creates it again.
            return Ok(Claimed::Busy);
        };
        let receipt: Receipt = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(receipt = %key, error = %e, "unreadable receipt; treated as new");
                Receipt {
                    state: ReceiptState::Incomplete,
                    failures: 0,
                    claimed_until: None,
                    claimed_by: None,
                }
            }
        };
        if receipt.state != ReceiptState::Incomplete {
            return Ok(Claimed::Settled);
        }
        if receipt.claimed_until.is_some_and(|t| t > Utc::now()) {
            return Ok(Claimed::Busy);
        }
        let taken = self.claimed(receipt);
        match self
            .bucket
            .put(&key, Self::encode(&taken), WriteIf::Matches(&current))
            .await
        {
            Ok(etag) => Ok(Claimed::Run(Claim {
                key,
                etag,
                receipt: taken,
            })),
            Err(e) if lost_race(&e) => Ok(Claimed::Busy),
            Err(e) => Err(e),
        }
    }

    /// Extends a claim by another [`CLAIM`].
    pub async fn renew(&self, claim: &mut Claim) -> S3Result<()> {
        let renewed = self.claimed(claim.receipt.clone());
        let etag = self
            .bucket
            .put(
                &claim.key,
                Self::encode(&renewed),
                WriteIf::Matches(&claim.etag),
            )
            .await?;
        claim.etag = etag;
        claim.receipt = renewed;
        Ok(())
    }

    /// Records `receipt` (the claim released) if the claim still holds.
    pub async fn settle(&self, claim: Claim, mut receipt: Receipt) -> S3Result<()> {
        receipt.claimed_until = None;
        receipt.claimed_by = None;
        self.bucket
            .put(
                &claim.key,
                Self::encode(&receipt),
                WriteIf::Matches(&claim.etag),
            )
            .await
            .map(|_| ())
    }
}
