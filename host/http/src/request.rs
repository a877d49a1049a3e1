//! An HTTP request as an HTTP-triggered function receives it: fully read body, route
//! parameters and decoded query.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;

/// A request whose body has been read.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The request URI as received.
    pub uri: Uri,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Route parameters (`{name}` segments of the function's route), percent-decoded.
    pub params: HashMap<String, String>,
    /// Query parameters in order, percent-decoded (`+` is a space).
    pub query: Vec<(String, String)>,
}

/// Why a request body could not be read as asked.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The body is not valid JSON of the expected shape.
    #[error("invalid JSON body: {0}")]
    Json(#[from] serde_json::Error),
    /// The body is not UTF-8.
    #[error("the body is not valid UTF-8")]
    Utf8,
}

impl HttpRequest {
    /// A request with a method and URI, no headers and an empty body.
    pub fn new(method: Method, uri: Uri) -> Self {
        let query = uri.query().map(parse_query).unwrap_or_default();
        Self {
            method,
            uri,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            params: HashMap::new(),
            query,
        }
    }

    /// A route parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The first query parameter with this name, compared case-insensitively.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a query parameter (repeated parameters), compared case-insensitively.
    pub fn query_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, RequestError> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// The body as text.
    pub fn text(&self) -> Result<&str, RequestError> {
        std::str::from_utf8(&self.body).map_err(|_| RequestError::Utf8)
    }
}

/// True when every key and value of a query string decodes to valid UTF-8 (what
/// `parse_query` would otherwise decode lossily, with U+FFFD).
pub fn query_is_utf8(query: &str) -> bool {
    query.split(['&', '=']).all(|part| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .is_ok()
    })
}

/// Parses `a=1&b=x+y` into decoded pairs.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_decoded_and_case_insensitive() {
        let req = HttpRequest::new(
            Method::GET,
            "/x?Reason=a+b%21&top=5&s=A&s=B".parse().unwrap(),
        );
        assert_eq!(req.query_param("reason"), Some("a b!"));
        assert_eq!(req.query_param("TOP"), Some("5"));
        assert_eq!(req.query_values("s").collect::<Vec<_>>(), ["A", "B"]);
    }
}
