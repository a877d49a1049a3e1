//! The Blob service: containers, block blobs with conditional writes, listing and leases.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;

use super::signing::Scheme;
use super::transport::{encode, url, Answer, AzureError, AzureResult, Transport};
use super::xml;

/// A condition on a blob write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCondition<'a> {
    /// Write unconditionally.
    Always,
    /// Only create: fail with 409 if the blob exists (`If-None-Match: *`).
    IfNotExists,
    /// Only while holding this lease.
    Lease(&'a str),
}

/// A client for one container.
#[derive(Clone)]
pub struct ContainerClient {
    transport: Transport,
    name: String,
}

fn blob_path(name: &str) -> String {
    name.split('/').map(encode).collect::<Vec<_>>().join("/")
}

impl ContainerClient {
    pub(crate) fn new(transport: Transport, name: &str) -> Self {
        ContainerClient {
            transport,
            name: name.to_owned(),
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The absolute URL of a blob in this container (its path segments percent-escaped).
    pub fn blob_url(&self, blob: &str) -> String {
        let endpoint = &self.transport.account().blob_endpoint;
        format!("{endpoint}/{}/{}", self.name, blob_path(blob))
    }

    async fn call(
        &self,
        method: Method,
        blob: Option<&str>,
        query: &[(&str, &str)],
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> AzureResult<Answer> {
        let path = match blob {
            Some(b) => format!("/{}/{}", self.name, blob_path(b)),
            None => format!("/{}", self.name),
        };
        let endpoint = &self.transport.account().blob_endpoint;
        let url = url(endpoint, &path, query)?;
        self.transport
            .send(Scheme::BlobQueue, method, url, headers, body)
            .await
    }

    /// Creates the container; succeeds if it exists.
    pub async fn create_if_not_exists(&self) -> AzureResult<()> {
        let query = [("restype", "container")];
        match self
            .call(Method::PUT, None, &query, HeaderMap::new(), Vec::new())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(409) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes the container with its blobs; succeeds if it does not exist.
    pub async fn delete(&self) -> AzureResult<()> {
        let query = [("restype", "container")];
        match self
            .call(Method::DELETE, None, &query, HeaderMap::new(), Vec::new())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Writes a block blob; returns its new ETag.
    pub async fn put(
        &self,
        blob: &str,
        content: Vec<u8>,
        condition: WriteCondition<'_>,
    ) -> AzureResult<String> {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        match condition {
            WriteCondition::Always => {}
            WriteCondition::IfNotExists => {
                headers.insert("if-none-match", HeaderValue::from_static("*"));
            }
            WriteCondition::Lease(id) => {
                headers.insert("x-ms-lease-id", header_value(id)?);
            }
        }
        let answer = self
            .call(Method::PUT, Some(blob), &[], headers, content)
            .await?;
        Ok(answer.header("etag").unwrap_or_default().to_owned())
    }

    /// Reads a blob; `None` if it does not exist.
    pub async fn get(&self, blob: &str) -> AzureResult<Option<Vec<u8>>> {
        match self
            .call(Method::GET, Some(blob), &[], HeaderMap::new(), Vec::new())
            .await
        {
            Ok(answer) => Ok(Some(answer.body.to_vec())),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads a blob and whether a lease on it is held now (`x-ms-lease-state: leased`);
    /// `None` if it does not exist.
    pub async fn get_with_lease(&self, blob: &str) -> AzureResult<Option<(Vec<u8>, bool)>> {
        match self
            .call(Method::GET, Some(blob), &[], HeaderMap::new(), Vec::new())
            .await
        {
            Ok(answer) => {
                let leased = answer.header("x-ms-lease-state") == Some("leased");
                Ok(Some((answer.body.to_vec(), leased)))
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a blob; false if it did not exist.
    pub async fn delete_blob(&self, blob: &str) -> AzureResult<bool> {
        match self
            .call(
                Method::DELETE,
                Some(blob),
                &[],
                HeaderMap::new(),
                Vec::new(),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Names of every blob starting with `prefix`, following continuation markers.
    pub async fn list(&self, prefix: &str) -> AzureResult<Vec<String>> {
        let mut names = Vec::new();
        let mut marker = String::new();
        loop {
            let mut query = vec![("restype", "container"), ("comp", "list")];
            if !prefix.is_empty() {
                query.push(("prefix", prefix));
            }
            if !marker.is_empty() {
                query.push(("marker", marker.as_str()));
            }
            let answer = self
                .call(Method::GET, None, &query, HeaderMap::new(), Vec::new())
                .await?;
            let text = String::from_utf8_lossy(&answer.body);
            for blob in xml::blocks(&text, "Blob") {
                names.extend(xml::first(blob, "Name"));
            }
            marker = xml::first(&text, "NextMarker").unwrap_or_default();
            if marker.is_empty() {
                return Ok(names);
            }
        }
    }

    /// Acquires a lease on a blob for `duration` (15–60 s, or `None` for infinite), proposing
    /// `lease_id`; returns the lease id.
    pub async fn acquire_lease(
        &self,
        blob: &str,
        lease_id: &str,
        duration: Option<Duration>,
    ) -> AzureResult<String> {
        let seconds = duration.map_or(-1, |d| d.as_secs() as i64).to_string();
        let mut headers = lease_headers("acquire")?;
        headers.insert("x-ms-lease-duration", header_value(&seconds)?);
        headers.insert("x-ms-proposed-lease-id", header_value(lease_id)?);
        let answer = self.lease_call(blob, headers).await?;
        Ok(answer
            .header("x-ms-lease-id")
            .unwrap_or(lease_id)
            .to_owned())
    }

    /// Renews a held lease.
    pub async fn renew_lease(&self, blob: &str, lease_id: &str) -> AzureResult<()> {
        let mut headers = lease_headers("renew")?;
        headers.insert("x-ms-lease-id", header_value(lease_id)?);
        self.lease_call(blob, headers).await.map(|_| ())
    }

    /// Releases a held lease.
    pub async fn release_lease(&self, blob: &str, lease_id: &str) -> AzureResult<()> {
        let mut headers = lease_headers("release")?;
        headers.insert("x-ms-lease-id", header_value(lease_id)?);
        self.lease_call(blob, headers).await.map(|_| ())
    }

    /// Replaces the held lease `lease_id` by `proposed` (how a lease is taken over by whoever
    /// knows the current id); returns the new lease id.
    pub async fn change_lease(
        &self,
        blob: &str,
        lease_id: &str,
        proposed: &str,
    ) -> AzureResult<String> {
        let mut headers = lease_headers("change")?;
        headers.insert("x-ms-lease-id", header_value(lease_id)?);
        headers.insert("x-ms-proposed-lease-id", header_value(proposed)?);
        let answer = self.lease_call(blob, headers).await?;
        Ok(answer.header("x-ms-lease-id").unwrap_or(proposed).to_owned())
    }

    /// Breaks whatever lease is held, at once.
    pub async fn break_lease(&self, blob: &str) -> AzureResult<()> {
        let mut headers = lease_headers("break")?;
        headers.insert("x-ms-lease-break-period", HeaderValue::from_static("0"));
        self.lease_call(blob, headers).await.map(|_| ())
    }

    async fn lease_call(&self, blob: &str, headers: HeaderMap) -> AzureResult<Answer> {
        let query = [("comp", "lease")];
        self.call(Method::PUT, Some(blob), &query, headers, Vec::new())
            .await
    }
}

fn lease_headers(action: &'static str) -> AzureResult<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-ms-lease-action"),
        HeaderValue::from_static(action),
    );
    Ok(headers)
}

fn header_value(s: &str) -> AzureResult<HeaderValue> {
    HeaderValue::from_str(s).map_err(|_| AzureError::Invalid(format!("bad header value {s:?}")))
}
