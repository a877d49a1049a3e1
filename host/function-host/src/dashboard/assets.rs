//! The dashboard's files, embedded in the binary, served with their type, a validator, and a
//! content security policy that allows nothing from elsewhere.

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderName, StatusCode};

use durable_http::HttpResponse;

/// One embedded file: its path below `/dashboard/`, type and text.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    text: &'static str,
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            text: include_str!(concat!("../../dashboard/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("dashboard.css", "text/css; charset=utf-8"),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/list.js", JS),
    asset!("js/detail.js", JS),
    asset!("js/timeline.js", JS),
    asset!("js/entities.js", JS),
];

/// Scripts and styles from this host only; data from this host only; no frames, no plugins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The file at `path`, or a 404.
pub(super) fn answer(path: &str) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return HttpResponse::error(
            StatusCode::NOT_FOUND,
            &format!("the dashboard has no file {path:?}"),
        );
    };
    let mut response = HttpResponse::new(StatusCode::OK);
    response.body = bytes::Bytes::from_static(asset.text.as_bytes());
    response
        .with_header(CONTENT_TYPE, asset.content_type)
        // Small, local, and changed with the binary: never served stale.
        .with_header(CACHE_CONTROL, "no-store")
        .with_header(HeaderName::from_static("content-security-policy"), CSP)
        .with_header(HeaderName::from_static("x-content-type-options"), "nosniff")
        .with_header(HeaderName::from_static("referrer-policy"), "no-referrer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_served_with_its_type_and_policy() {
        for asset in ASSETS {
            let r = answer(asset.path);
            assert_eq!(r.status, StatusCode::OK, "{}", asset.path);
            assert!(!r.body.is_empty(), "{}", asset.path);
            assert_eq!(r.headers[CONTENT_TYPE], asset.content_type);
            assert!(r.headers.contains_key("content-security-policy"));
        }
        assert_eq!(answer("js/missing.js").status, StatusCode::NOT_FOUND);
        assert_eq!(answer("../Cargo.toml").status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for asset in ASSETS {
            let elsewhere = [
                "src=\"http",
                "href=\"http",
                "url(",
                "@import",
                "from \"http",
            ];
            let inline = ["<script>", "style=\"", " onclick="];
            for needle in elsewhere.iter().chain(&inline) {
                assert!(
                    !asset.text.contains(needle),
                    "{} contains {needle:?}",
                    asset.path
                );
            }
        }
    }
}
