//! Entity-group transactions: up to 100 operations on one partition, applied all or nothing,
//! sent as the Table service's `multipart/mixed` batch.

use reqwest::header::HeaderValue;
use reqwest::Method;

use super::entity::Entity;
use super::signing::Scheme;
use super::tables::{entity_path, json_headers, TableClient, UpdateMode};
use super::transport::{error_message, url, AzureError, AzureResult};

/// The most operations one transaction may carry.
pub const MAX_OPERATIONS: usize = 100;

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TableOperation {
    /// Insert; fails with 409 if the entity exists.
    Insert(Entity),
    /// Insert-or-replace / insert-or-merge, unconditional.
    Upsert(Entity, UpdateMode),
    /// Replace or merge an existing entity; with an ETag, only if it still matches.
    Update(Entity, UpdateMode, Option<String>),
    /// Delete (partition key, row key), with an ETag or `*`.
    Delete(String, String, Option<String>),
}

impl TableOperation {
    fn partition_key(&self) -> &str {
        match self {
            TableOperation::Insert(e)
            | TableOperation::Upsert(e, _)
            | TableOperation::Update(e, _, _) => &e.partition_key,
            TableOperation::Delete(pk, _, _) => pk,
        }
    }
}

impl TableClient {
    /// Applies `operations` atomically; returns the new ETag of each (None for deletes). A
    /// failure names the failing operation in [`AzureError::Transaction`].
    pub async fn transact(
        &self,
        operations: &[TableOperation],
    ) -> AzureResult<Vec<Option<String>>> {
        if operations.is_empty() {
            return Ok(Vec::new());
        }
        if operations.len() > MAX_OPERATIONS {
            return Err(AzureError::Invalid(format!(
                "{} operations in one transaction (at most {MAX_OPERATIONS})",
                operations.len()
            )));
        }
        let pk = operations[0].partition_key();
        if operations.iter().any(|op| op.partition_key() != pk) {
            return Err(AzureError::Invalid(
                "a transaction spans more than one partition".into(),
            ));
        }
        let endpoint = &self.transport.account().table_endpoint;
        let id = uuid::Uuid::new_v4();
        let batch = format!("batch_{id}");
        let changeset = format!("changeset_{id}");
        let mut body =
            format!("--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n");
        for op in operations {
            body.push_str(&format!(
                "--{changeset}\r\nContent-Type: application/http\r\n\
                 Content-Transfer-Encoding: binary\r\n\r\n"
            ));
            body.push_str(&request_part(endpoint, self.name(), op));
        }
        body.push_str(&format!("--{changeset}--\r\n\r\n--{batch}--\r\n"));

        let url = url(endpoint, "/$batch", &[])?;
        let mut headers = json_headers();
        headers.insert(
            "content-type",
            HeaderValue::from_str(&format!("multipart/mixed; boundary={batch}"))
                .expect("boundaries are ASCII"),
        );
        let answer = self
            .transport
            .send(Scheme::Table, Method::POST, url, headers, body.into_bytes())
            .await?;
        let parts = parse_parts(&String::from_utf8_lossy(&answer.body));
        if let Some((position, failed)) = parts.iter().enumerate().find(|(_, p)| p.status >= 300) {
            let message = error_message(failed.body.as_bytes());
            // The service prefixes the message with the failing operation's index ("2:…").
            let index = message
                .split_once(':')
                .and_then(|(n, _)| n.trim().parse().ok())
                .unwrap_or(position);
            return Err(AzureError::Transaction {
                index,
                status: failed.status,
                code: failed.code.clone(),
                message,
            });
        }
        if parts.len() != operations.len() {
            return Err(AzureError::Protocol(format!(
                "{} answers to a transaction of {} operations",
                parts.len(),
                operations.len()
            )));
        }
        Ok(parts.into_iter().map(|p| p.etag).collect())
    }
}

fn request_part(endpoint: &str, table: &str, op: &TableOperation) -> String {
    let (method, path, entity, if_match) = match op {
        TableOperation::Insert(e) => ("POST", format!("/{table}"), Some(e), None),
        TableOperation::Upsert(e, mode) => (
            verb(*mode),
            entity_path(table, &e.partition_key, &e.row_key),
            Some(e),
            None,
        ),
        TableOperation::Update(e, mode, etag) => (
            verb(*mode),
            entity_path(table, &e.partition_key, &e.row_key),
            Some(e),
            Some(etag.as_deref().unwrap_or("*")),
        ),
        TableOperation::Delete(pk, rk, etag) => (
            "DELETE",
            entity_path(table, pk, rk),
            None,
            Some(etag.as_deref().unwrap_or("*")),
        ),
    };
    let mut part = format!(
        "{method} {endpoint}{path} HTTP/1.1\r\n\
         Accept: application/json;odata=minimalmetadata\r\n\
         DataServiceVersion: 3.0\r\n"
    );
    if let Some(tag) = if_match {
        part.push_str(&format!("If-Match: {tag}\r\n"));
    }
    match entity {
        Some(e) => {
            let json = e.to_json().to_string();
            part.push_str(&format!(
                "Content-Type: application/json\r\nPrefer: return-no-content\r\n\
                 Content-Length: {}\r\n\r\n{json}\r\n",
                json.len()
            ));
        }
        None => part.push_str("\r\n"),
    }
    part
}

fn verb(mode: UpdateMode) -> &'static str {
    match mode {
        UpdateMode::Replace => "PUT",
        UpdateMode::Merge => "MERGE",
    }
}

/// One HTTP answer inside the batch answer.
#[derive(Debug, Default)]
struct Part {
    status: u16,
    code: String,
    etag: Option<String>,
    body: String,
}

/// The embedded `HTTP/1.1 NNN` answers of a batch answer, in order.
fn parse_parts(text: &str) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut in_headers = false;
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if let Some(rest) = line.strip_prefix("HTTP/1.1 ") {
            let status = rest.get(..3).and_then(|s| s.parse().ok()).unwrap_or(500);
            parts.push(Part {
                status,
                ..Part::default()
            });
            in_headers = true;
            continue;
        }
        let Some(part) = parts.last_mut() else {
            continue;
        };
        if line.starts_with("--") {
            in_headers = false;
            continue;
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
            } else if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "etag" => part.etag = Some(value.trim().to_owned()),
                    "x-ms-error-code" => part.code = value.trim().to_owned(),
                    _ => {}
                }
            }
        } else {
            part.body.push_str(line);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_embedded_answers() {
        let text = "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n\
            --cs\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\
            ETag: W/\"x\"\r\n\r\n\r\n--cs\r\nContent-Type: application/http\r\n\r\n\
            HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n\
            {\"odata.error\":{\"code\":\"EntityAlreadyExists\",\"message\":{\"value\":\"1:exists\"}}}\r\n\
            --cs--\r\n--batchresponse_1--\r\n";
        let parts = parse_parts(text);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].status, 204);
        assert_eq!(parts[0].etag.as_deref(), Some("W/\"x\""));
        assert_eq!(parts[1].status, 409);
        assert_eq!(error_message(parts[1].body.as_bytes()), "1:exists");
    }
}
