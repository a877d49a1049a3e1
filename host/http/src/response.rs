//! An HTTP response built by a function.

use bytes::Bytes;
use http::header::{HeaderName, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;

/// A complete response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

const JSON: &str = "application/json; charset=utf-8";

impl HttpResponse {
    /// An empty response with a status.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// 200 with a JSON body.
    pub fn ok_json<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::json(StatusCode::OK, value)
    }

    /// A JSON body with a status.
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(status)
                .with_header(CONTENT_TYPE, JSON)
                .with_body(body),
            Err(e) => Self::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the response does not serialize: {e}"),
            ),
        }
    }

    /// A plain-text body with a status.
    pub fn text(status: StatusCode, text: impl Into<String>) -> Self {
        Self::new(status)
            .with_header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .with_body(text.into())
    }

    /// A JSON error body `{"Message": ...}` with a status.
    pub fn error(status: StatusCode, message: &str) -> Self {
        Self::json(status, &serde_json::json!({ "Message": message }))
    }

    /// Sets a header (ignored if the value is not a valid header value).
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// What an HTTP-triggered function may return.
pub trait IntoHttpResponse {
    /// Converts into a response.
    fn into_http_response(self) -> HttpResponse;
}

impl IntoHttpResponse for HttpResponse {
    fn into_http_response(self) -> HttpResponse {
        self
    }
}

impl IntoHttpResponse for String {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::text(StatusCode::OK, self)
    }
}

impl IntoHttpResponse for &'static str {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::text(StatusCode::OK, self)
    }
}

impl IntoHttpResponse for serde_json::Value {
    fn into_http_response(self) -> HttpResponse {
        HttpResponse::ok_json(&self)
    }
}

impl<T: IntoHttpResponse, E: std::fmt::Display> IntoHttpResponse for Result<T, E> {
    fn into_http_response(self) -> HttpResponse {
        match self {
            Ok(v) => v.into_http_response(),
            Err(e) => {
                tracing::error!(error = %e, "HTTP function failed");
                HttpResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
            }
        }
    }
}
