//! The Table service: tables, entity reads and writes with ETags, and queries with
//! continuation. Entity-group transactions are in `transaction.rs`.

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde_json::Value;

use super::entity::Entity;
use super::signing::Scheme;
use super::transport::{encode, url, Answer, AzureError, AzureResult, Transport};

/// The ETag condition of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch<'a> {
    /// No condition: the write inserts the entity when missing (upsert).
    Upsert,
    /// The entity must exist (`If-Match: *`).
    Exists,
    /// The entity must still have this ETag.
    Etag(&'a str),
}

impl IfMatch<'_> {
    /// The `If-Match` header value, if any.
    pub(crate) fn header(&self) -> Option<&str> {
        match self {
            IfMatch::Upsert => None,
            IfMatch::Exists => Some("*"),
            IfMatch::Etag(e) => Some(e),
        }
    }
}

/// How an update treats properties it does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// Replace the whole entity.
    Replace,
    /// Merge: keep properties not in the update.
    Merge,
}

/// One page of a query.
#[derive(Debug, Clone, Default)]
pub struct QueryPage {
    /// The entities, in key order.
    pub entities: Vec<Entity>,
    /// Where the next page starts (`NextPartitionKey`, `NextRowKey`); `None` on the last page.
    pub continuation: Option<(String, String)>,
}

/// A client for one table.
#[derive(Clone)]
pub struct TableClient {
    pub(crate) transport: Transport,
    name: String,
}

/// `(PartitionKey='…',RowKey='…')` with quotes doubled and the keys percent-encoded.
pub(crate) fn entity_path(table: &str, pk: &str, rk: &str) -> String {
    let quote = |k: &str| encode(&k.replace('\'', "''"));
    format!(
        "/{table}(PartitionKey='{}',RowKey='{}')",
        quote(pk),
        quote(rk)
    )
}

/// The headers every JSON table request carries.
pub(crate) fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "accept",
        HeaderValue::from_static("application/json;odata=minimalmetadata"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("dataserviceversion", HeaderValue::from_static("3.0"));
    headers.insert("maxdataserviceversion", HeaderValue::from_static("3.0"));
    headers
}

impl TableClient {
    pub(crate) fn new(transport: Transport, name: &str) -> Self {
        TableClient {
            transport,
            name: name.to_owned(),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> AzureResult<Answer> {
        let url = url(&self.transport.account().table_endpoint, path, query)?;
        self.transport
            .send(Scheme::Table, method, url, headers, body)
            .await
    }

    /// Creates the table; succeeds if it exists.
    pub async fn create_if_not_exists(&self) -> AzureResult<()> {
        let body = serde_json::json!({ "TableName": self.name }).to_string();
        let mut headers = json_headers();
        headers.insert("prefer", HeaderValue::from_static("return-no-content"));
        match self
            .call(Method::POST, "/Tables", &[], headers, body.into_bytes())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(409) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes the table; succeeds if it does not exist.
    pub async fn delete_table(&self) -> AzureResult<()> {
        let path = format!("/Tables('{}')", self.name);
        match self
            .call(Method::DELETE, &path, &[], json_headers(), Vec::new())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Reads one entity; `None` if it does not exist.
    pub async fn get(&self, pk: &str, rk: &str) -> AzureResult<Option<Entity>> {
        let path = entity_path(&self.name, pk, rk);
        match self
            .call(Method::GET, &path, &[], json_headers(), Vec::new())
            .await
        {
            Ok(answer) => {
                let mut entity = Entity::from_json(&parse_json(&answer.body)?)?;
                if let Some(etag) = answer.header("etag") {
                    entity.etag = Some(etag.to_owned());
                }
                Ok(Some(entity))
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Inserts a new entity (409 if it exists); returns its ETag.
    pub async fn insert(&self, entity: &Entity) -> AzureResult<String> {
        let mut headers = json_headers();
        headers.insert("prefer", HeaderValue::from_static("return-no-content"));
        let body = entity.to_json().to_string().into_bytes();
        let path = format!("/{}", self.name);
        let answer = self.call(Method::POST, &path, &[], headers, body).await?;
        etag_of(&answer)
    }

    /// Replaces or merges an entity under an ETag condition; returns the new ETag.
    pub async fn update(
        &self,
        entity: &Entity,
        mode: UpdateMode,
        condition: IfMatch<'_>,
    ) -> AzureResult<String> {
        let mut headers = json_headers();
        if let Some(value) = condition.header() {
            headers.insert("if-match", header_value(value)?);
        }
        let method = match mode {
            UpdateMode::Replace => Method::PUT,
            UpdateMode::Merge => Method::from_bytes(b"MERGE").expect("MERGE is a valid method"),
        };
        let path = entity_path(&self.name, &entity.partition_key, &entity.row_key);
        let body = entity.to_json().to_string().into_bytes();
        let answer = self.call(method, &path, &[], headers, body).await?;
        etag_of(&answer)
    }

    /// Deletes an entity (`If-Match: *` unless an ETag is given); false if it did not exist.
    pub async fn delete(&self, pk: &str, rk: &str, etag: Option<&str>) -> AzureResult<bool> {
        let mut headers = json_headers();
        headers.insert("if-match", header_value(etag.unwrap_or("*"))?);
        let path = entity_path(&self.name, pk, rk);
        match self
            .call(Method::DELETE, &path, &[], headers, Vec::new())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One page of entities matching an OData `filter` (empty = all), at most `top` (0 = the
    /// service's 1000), starting at `continuation`.
    pub async fn query(
        &self,
        filter: &str,
        top: usize,
        continuation: Option<&(String, String)>,
    ) -> AzureResult<QueryPage> {
        let top_text = top.to_string();
        let mut query: Vec<(&str, &str)> = Vec::new();
        if !filter.is_empty() {
            query.push(("$filter", filter));
        }
        if top > 0 {
            query.push(("$top", top_text.as_str()));
        }
        if let Some((pk, rk)) = continuation {
            query.push(("NextPartitionKey", pk));
            if !rk.is_empty() {
                query.push(("NextRowKey", rk));
            }
        }
        let path = format!("/{}()", self.name);
        let answer = self
            .call(Method::GET, &path, &query, json_headers(), Vec::new())
            .await?;
        let json = parse_json(&answer.body)?;
        let entities = json["value"]
            .as_array()
            .ok_or_else(|| AzureError::Protocol("query answer without value".into()))?
            .iter()
            .map(Entity::from_json)
            .collect::<AzureResult<Vec<_>>>()?;
        let continuation = answer
            .header("x-ms-continuation-nextpartitionkey")
            .map(|pk| {
                let rk = answer
                    .header("x-ms-continuation-nextrowkey")
                    .unwrap_or_default();
                (pk.to_owned(), rk.to_owned())
            });
        Ok(QueryPage {
            entities,
            continuation,
        })
    }

    /// Every entity matching `filter`, following continuations.
    pub async fn query_all(&self, filter: &str) -> AzureResult<Vec<Entity>> {
        let mut all = Vec::new();
        let mut next = None;
        loop {
            let page = self.query(filter, 0, next.as_ref()).await?;
            all.extend(page.entities);
            match page.continuation {
                Some(c) => next = Some(c),
                None => return Ok(all),
            }
        }
    }
}

/// An OData string literal: `'…'` with quotes doubled.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn parse_json(body: &[u8]) -> AzureResult<Value> {
    serde_json::from_slice(body).map_err(|e| AzureError::Protocol(format!("bad JSON: {e}")))
}

fn etag_of(answer: &Answer) -> AzureResult<String> {
    answer
        .header("etag")
        .map(str::to_owned)
        .ok_or_else(|| AzureError::Protocol("write answered without an ETag".into()))
}

pub(crate) fn header_value(s: &str) -> AzureResult<HeaderValue> {
    HeaderValue::from_str(s).map_err(|_| AzureError::Invalid(format!("bad header value {s:?}")))
}
