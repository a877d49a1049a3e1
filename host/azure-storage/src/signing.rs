//! Shared Key authorization: the request signature every storage service accepts for an
//! account key (and the only one Azurite accepts without OAuth).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use sha2::Sha256;

/// Which string-to-sign a service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// Blob and Queue services: verb, standard headers, `x-ms-*` headers, resource and query.
    BlobQueue,
    /// Table service: verb, content type, date, resource and `comp`.
    Table,
}

/// Signs a request: returns the `Authorization` header value.
pub(crate) fn authorization(
    scheme: Scheme,
    account: &str,
    key: &[u8],
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    content_length: usize,
) -> String {
    let to_sign = match scheme {
        Scheme::BlobQueue => blob_queue_string(account, method, url, headers, content_length),
        Scheme::Table => table_string(account, method, url, headers),
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("SharedKey {account}:{signature}")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn blob_queue_string(
    account: &str,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    content_length: usize,
) -> String {
    let length = if content_length == 0 {
        String::new()
    } else {
        content_length.to_string()
    };
    let mut s = format!("{}\n", method.as_str());
    for name in ["content-encoding", "content-language"] {
        s.push_str(header(headers, name));
        s.push('\n');
    }
    s.push_str(&length);
    s.push('\n');
    for name in [
        "content-md5",
        "content-type",
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ] {
        s.push_str(header(headers, name));
        s.push('\n');
    }
    let mut ms: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-ms-"))
        .map(|(n, v)| {
            let value = v.to_str().unwrap_or("").trim().to_owned();
            (n.as_str().to_owned(), value)
        })
        .collect();
    ms.sort();
    for (name, value) in ms {
        s.push_str(&format!("{name}:{value}\n"));
    }
    s.push_str(&format!("/{account}{}", url.path()));
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    params.sort();
    let mut i = 0;
    while i < params.len() {
        let name = params[i].0.clone();
        let mut values = Vec::new();
        while i < params.len() && params[i].0 == name {
            values.push(params[i].1.clone());
            i += 1;
        }
        s.push_str(&format!("\n{name}:{}", values.join(",")));
    }
    s
}

fn table_string(account: &str, method: &Method, url: &Url, headers: &HeaderMap) -> String {
    let mut resource = format!("/{account}{}", url.path());
    if let Some((_, comp)) = url.query_pairs().find(|(k, _)| k == "comp") {
        resource.push_str(&format!("?comp={comp}"));
    }
    format!(
        "{}\n{}\n{}\n{}\n{}",
        method.as_str(),
        header(headers, "content-md5"),
        header(headers, "content-type"),
        header(headers, "x-ms-date"),
        resource
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn blob_queue_string_has_canonical_headers_and_query() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
        headers.insert(
            "x-ms-date",
            HeaderValue::from_static("Sun, 22 Nov 2026 10:00:00 GMT"),
        );
        headers.insert("content-type", HeaderValue::from_static("application/xml"));
        let url =
            Url::parse("http://h/acct/q/messages?visibilitytimeout=5&numofmessages=3").unwrap();
        let s = blob_queue_string("acct", &Method::GET, &url, &headers, 0);
        assert_eq!(
            s,
            "GET\n\n\n\n\napplication/xml\n\n\n\n\n\n\n\
             x-ms-date:Sun, 22 Nov 2026 10:00:00 GMT\nx-ms-version:2021-08-06\n\
             /acct/acct/q/messages\nnumofmessages:3\nvisibilitytimeout:5"
        );
    }

    #[test]
    fn table_string_keeps_only_comp() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-date", HeaderValue::from_static("D"));
        let url = Url::parse("https://a.table.x/T()?$filter=x&comp=acl").unwrap();
        let s = table_string("a", &Method::GET, &url, &headers);
        assert_eq!(s, "GET\n\n\nD\n/a/T()?comp=acl");
    }
}
