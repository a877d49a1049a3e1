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
        Ok(answer
            .header("x-ms-lease-id")
            .unwrap_or(proposed)
            .to_owned())
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

/// One blob in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobItem {
    /// The blob's name in its container.
    pub name: String,
    /// Its current version, without quotes.
    pub etag: String,
    /// Its size in bytes.
    pub length: u64,
    /// When it was last written, as the service reports it (RFC 1123).
    pub last_modified: String,
}

/// One page of a listing and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPage {
    /// The blobs of this page.
    pub items: Vec<BlobItem>,
    /// The marker of the next page; `None` on the last one.
    pub next_marker: Option<String>,
}

/// A blob read with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedBlob {
    /// The content.
    pub content: Vec<u8>,
    /// The version read, without quotes.
    pub etag: String,
    /// When it was last written (RFC 1123), if the service said.
    pub last_modified: Option<String>,
}

/// What reading a given version of a blob found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobVersion {
    /// The blob, at the version asked for.
    Found(DownloadedBlob),
    /// The blob has been written again since.
    Changed,
    /// There is no such blob.
    Missing,
}

impl ContainerClient {
    /// One page (up to `max` blobs) of the blobs starting with `prefix`, with their
    /// properties, from `marker` on (`None`: the first page).
    pub async fn list_page(
        &self,
        prefix: &str,
        marker: Option<&str>,
        max: usize,
    ) -> AzureResult<BlobPage> {
        let max = max.clamp(1, 5000).to_string();
        let mut query = vec![
            ("restype", "container"),
            ("comp", "list"),
            ("maxresults", max.as_str()),
        ];
        if !prefix.is_empty() {
            query.push(("prefix", prefix));
        }
        if let Some(marker) = marker.filter(|m| !m.is_empty()) {
            query.push(("marker", marker));
        }
        let answer = self
            .call(Method::GET, None, &query, HeaderMap::new(), Vec::new())
            .await?;
        let text = String::from_utf8_lossy(&answer.body);
        let mut items = Vec::new();
        for blob in xml::blocks(&text, "Blob") {
            let Some(name) = xml::first(blob, "Name") else {
                return Err(AzureError::Protocol("a listed blob without <Name>".into()));
            };
            items.push(BlobItem {
                name,
                etag: unquote(&xml::first(blob, "Etag").unwrap_or_default()),
                length: xml::first(blob, "Content-Length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0),
                last_modified: xml::first(blob, "Last-Modified").unwrap_or_default(),
            });
        }
        let next_marker = xml::first(&text, "NextMarker").filter(|m| !m.is_empty());
        Ok(BlobPage { items, next_marker })
    }

    /// Reads a blob if it is still at version `etag` (with or without quotes).
    pub async fn get_version(&self, blob: &str, etag: &str) -> AzureResult<BlobVersion> {
        let mut headers = HeaderMap::new();
        headers.insert("if-match", header_value(&format!("\"{}\"", unquote(etag)))?);
        match self
            .call(Method::GET, Some(blob), &[], headers, Vec::new())
            .await
        {
            Ok(answer) => Ok(BlobVersion::Found(DownloadedBlob {
                etag: unquote(answer.header("etag").unwrap_or(etag)),
                last_modified: answer.header("last-modified").map(str::to_owned),
                content: answer.body.to_vec(),
            })),
            Err(e) if e.status() == Some(412) => Ok(BlobVersion::Changed),
            Err(e) if e.status() == Some(404) => Ok(BlobVersion::Missing),
            Err(e) => Err(e),
        }
    }
}

/// An ETag without its surrounding quotes.
pub fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_owned()
}
