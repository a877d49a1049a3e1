//! HTTP types user functions see: [`HttpRequest`] in, [`HttpResponse`] out.

mod request;
mod response;

pub use http::{HeaderMap, HeaderValue, Method, StatusCode};
pub use request::{query_is_utf8, HttpRequest, RequestError};
pub use response::{HttpResponse, IntoHttpResponse};
