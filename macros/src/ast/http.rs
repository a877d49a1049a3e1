//! `#[http_trigger(methods = [...], route = "...", auth_level = ..., <OpenAPI arguments>)]` on
//! `async fn NAME(req: HttpRequest, #[durable_client] client: DurableClient) -> R`.

use proc_macro2::{Span, TokenStream};
use syn::{ItemFn, ReturnType};

use super::bindings::{self, Bindings, TriggerParam};
use super::openapi::{self, OperationDoc};
use super::signature::{check_plain_async_fn, fn_and_name};
use crate::args::Args;
use crate::names::RegisteredName;

const ATTRIBUTE: &str = "http_trigger";
const ACCEPTED: &[&str] = &["name", "methods", "route", "auth_level"];

/// Methods an HTTP function may list.
const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT",
];

/// Who may call the function (mirrors `durable::app::AuthLevel`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AuthLevel {
    /// `anonymous`.
    Anonymous,
    /// `function` (the default, as in Azure Functions).
    Function,
    /// `admin`.
    Admin,
}

/// A parsed HTTP function.
pub struct HttpFn {
    /// The user's function, with the `#[durable_client]` marker removed.
    pub func: ItemFn,
    /// The registered name.
    pub name: RegisteredName,
    /// Upper-case method names; empty accepts any.
    pub methods: Vec<String>,
    /// The route template under `/api/`.
    pub route: String,
    /// Who may call it.
    pub auth_level: AuthLevel,
    /// What to pass for each parameter.
    pub bindings: Bindings,
    /// What the OpenAPI document says about it.
    pub operation: OperationDoc,
}

/// Parses the attribute arguments and the function.
pub fn parse(args: TokenStream, mut func: ItemFn) -> syn::Result<HttpFn> {
    let mut args = Args::parse(ATTRIBUTE, args)?;
    let name_override = args.take_str("name", "\"my_function\"")?;
    let methods = args
        .take_str_list("methods", "[\"get\", \"post\"]")?
        .unwrap_or_default();
    let route = args.take_str("route", "\"orders/{id}\"")?;
    let auth_level = args.take_word("auth_level", "anonymous")?;
    let operation = openapi::parse(&mut args, &func.attrs)?;
    let accepted: Vec<&str> = ACCEPTED.iter().chain(openapi::ACCEPTED).copied().collect();
    args.finish(&accepted)?;

    check_plain_async_fn(&func.sig, ATTRIBUTE)?;
    let bindings = bindings::parse(
        &mut func.sig,
        &TriggerParam {
            type_name: "HttpRequest",
            bound: "HttpRequestParam",
            example: "req: HttpRequest",
            what: "an HTTP function",
        },
    )?;
    if let ReturnType::Default = func.sig.output {
        return Err(syn::Error::new_spanned(
            fn_and_name(&func.sig),
            "an HTTP function must return a response: `HttpResponse`, `String`, \
             `serde_json::Value`, or a `Result` of one of them (anything implementing \
             `IntoHttpResponse`)",
        ));
    }
    let name = RegisteredName::new(name_override, &func.sig.ident)?;

    let mut upper: Vec<String> = Vec::new();
    for m in &methods {
        let method = m.value().to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(syn::Error::new(
                m.span(),
                format!(
                    "unknown HTTP method {:?}; expected one of: {}",
                    m.value(),
                    METHODS.join(", ").to_ascii_lowercase()
                ),
            ));
        }
        if upper.contains(&method) {
            return Err(syn::Error::new(
                m.span(),
                format!("method {:?} is listed twice", m.value()),
            ));
        }
        upper.push(method);
    }
    let route = match route {
        Some(lit) => {
            check_route(&lit.value(), lit.span())?;
            lit.value()
        }
        None => name.value.clone(),
    };
    let auth_level = match auth_level {
        None => AuthLevel::Function,
        Some((word, span)) => parse_auth_level(&word, span)?,
    };
    Ok(HttpFn {
        func,
        name,
        methods: upper,
        route,
        auth_level,
        bindings,
        operation,
    })
}

fn parse_auth_level(word: &str, span: Span) -> syn::Result<AuthLevel> {
    match word.to_ascii_lowercase().as_str() {
        "anonymous" => Ok(AuthLevel::Anonymous),
        "function" => Ok(AuthLevel::Function),
        "admin" => Ok(AuthLevel::Admin),
        _ => Err(syn::Error::new(
            span,
            format!("unknown auth level `{word}`; expected `anonymous`, `function` or `admin`"),
        )),
    }
}

/// Checks a route template: relative to `/api/`, `{parameter}` segments well formed.
fn check_route(route: &str, span: Span) -> syn::Result<()> {
    let fail = |message: String| Err(syn::Error::new(span, message));
    if route.is_empty() {
        return fail("the route cannot be empty; omit `route` to use the function name".into());
    }
    if route.starts_with('/') {
        return fail(format!(
            "the route is relative to `/api/`; write {:?}",
            route.trim_start_matches('/')
        ));
    }
    let mut open = false;
    let mut param_len = 0;
    for c in route.chars() {
        match c {
            '{' if open => return fail(format!("nested `{{` in route {route:?}")),
            '{' => {
                open = true;
                param_len = 0;
            }
            '}' if !open => return fail(format!("unmatched `}}` in route {route:?}")),
            '}' if param_len == 0 => {
                return fail(format!("empty `{{}}` parameter in route {route:?}"))
            }
            '}' => open = false,
            '?' | '#' if !open => {
                return fail(format!(
                    "a route cannot contain `{c}`; query parameters need no route"
                ))
            }
            _ if open => param_len += 1,
            _ => {}
        }
    }
    if open {
        return fail(format!("unclosed `{{` in route {route:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_checked() {
        let s = Span::call_site();
        assert!(check_route("weather-results/{requestId}", s).is_ok());
        assert!(check_route("a/{id:int?}/b", s).is_ok());
        assert!(check_route("", s).is_err());
        assert!(check_route("/a", s).is_err());
        assert!(check_route("a/{id", s).is_err());
        assert!(check_route("a/id}", s).is_err());
        assert!(check_route("a/{}", s).is_err());
        assert!(check_route("a/{{x}}", s).is_err());
        assert!(check_route("a?b=1", s).is_err());
    }
}
