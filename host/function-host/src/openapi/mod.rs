//! The OpenAPI 3.1 document of the app's HTTP functions, served under the route prefix as
//! `openapi.json` and `openapi.yaml`, and a page that shows it and calls the functions,
//! `swagger/ui` (with its script and style at `swagger/ui/viewer.js` and `.css`, embedded in
//! the binary; nothing is fetched from elsewhere).
//!
//! These routes live among the app's own routes and follow the router's rules, as literal
//! routes added after the app's: an app route with the same literal path and method wins
//! (the host says so at start-up), and an app route with a parameter or catch-all where they
//! have text loses to them, as it would to any literal route. They need no key: the document
//! says what the functions take, not what the task hub holds.
//!
//! The document is built once, when the host starts (the functions do not change while it
//! runs).

mod document;
mod operation;
mod paths;
mod schemas;
mod yaml;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderName, StatusCode};

use crate::app::FunctionApp;
use durable_http::HttpResponse;

pub use document::{document, DocumentInfo};

/// A route the host adds for the document and its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltInRoute {
    /// `openapi.json`.
    Json,
    /// `openapi.yaml`.
    Yaml,
    /// `swagger/ui`: the page.
    Page,
    /// `swagger/ui/viewer.js`.
    Script,
    /// `swagger/ui/viewer.css`.
    Style,
}

impl BuiltInRoute {
    /// Every built-in route, in the order the router gets them.
    pub const ALL: [BuiltInRoute; 5] = [
        BuiltInRoute::Json,
        BuiltInRoute::Yaml,
        BuiltInRoute::Page,
        BuiltInRoute::Script,
        BuiltInRoute::Style,
    ];

    /// The route template, below the route prefix.
    pub fn route(self) -> &'static str {
        match self {
            BuiltInRoute::Json => "openapi.json",
            BuiltInRoute::Yaml => "openapi.yaml",
            BuiltInRoute::Page => "swagger/ui",
            BuiltInRoute::Script => "swagger/ui/viewer.js",
            BuiltInRoute::Style => "swagger/ui/viewer.css",
        }
    }
}

/// The page, with `{{base}}` where the route prefix goes.
const PAGE: &str = include_str!("../../openapi-ui/index.html");
const SCRIPT: &str = include_str!("../../openapi-ui/viewer.js");
const STYLE: &str = include_str!("../../openapi-ui/viewer.css");

/// Scripts, styles and data from this host only; no frames, no plugins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The document as JSON and YAML, and the page, ready to serve.
pub struct OpenApi {
    json: Bytes,
    yaml: Bytes,
    page: Bytes,
}

impl OpenApi {
    /// Builds the document of `app`'s HTTP functions under `route_prefix`.
    pub fn new(app: &FunctionApp, route_prefix: &str, info: &DocumentInfo) -> Self {
        let value = document(app, route_prefix, info);
        let json = serde_json::to_vec_pretty(&value).unwrap_or_default();
        let base = match route_prefix {
            "" => String::new(),
            prefix => format!("/{prefix}"),
        };
        Self {
            json: json.into(),
            yaml: yaml::to_yaml(&value).into(),
            page: PAGE.replace("{{base}}", &base).into(),
        }
    }

    /// The answer of a built-in route.
    pub fn answer(&self, route: BuiltInRoute) -> HttpResponse {
        let (content_type, body) = match route {
            BuiltInRoute::Json => ("application/json; charset=utf-8", self.json.clone()),
            BuiltInRoute::Yaml => ("application/yaml; charset=utf-8", self.yaml.clone()),
            BuiltInRoute::Page => ("text/html; charset=utf-8", self.page.clone()),
            BuiltInRoute::Script => (
                "text/javascript; charset=utf-8",
                Bytes::from_static(SCRIPT.as_bytes()),
            ),
            BuiltInRoute::Style => (
                "text/css; charset=utf-8",
                Bytes::from_static(STYLE.as_bytes()),
            ),
        };
        HttpResponse::new(StatusCode::OK)
            .with_body(body)
            .with_header(CONTENT_TYPE, content_type)
            .with_header(CACHE_CONTROL, "no-store")
            .with_header(HeaderName::from_static("content-security-policy"), CSP)
            .with_header(HeaderName::from_static("x-content-type-options"), "nosniff")
            .with_header(HeaderName::from_static("referrer-policy"), "no-referrer")
    }
}

#[cfg(test)]
mod tests;
