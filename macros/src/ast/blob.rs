//! `#[blob_trigger(path = "container/{name}.txt", connection = "AzureWebJobsStorage")]` on
//! `async fn NAME(content: T, info: BlobInfo, #[durable_client] client: DurableClient)
//! -> Result<(), E>` (info and client optional, any order).

use proc_macro2::{Span, TokenStream};
use syn::ItemFn;

use super::queue::connection_setting;
use super::signature::check_plain_async_fn;
use super::storage::{self, Rule, StorageFn, StorageTrigger};
use crate::args::Args;
use crate::names::RegisteredName;

const ATTRIBUTE: &str = "blob_trigger";
const ACCEPTED: &[&str] = &["name", "path", "connection"];
const EXAMPLE: &str = "\"samples/{name}.txt\"";

/// Parses the attribute arguments and the function.
pub fn parse(args: TokenStream, func: ItemFn) -> syn::Result<StorageFn> {
    let mut args = Args::parse(ATTRIBUTE, args)?;
    let name_override = args.take_str("name", "\"my_blob_function\"")?;
    let path = args.take_str("path", EXAMPLE)?;
    let connection = args.take_str("connection", "\"AzureWebJobsStorage\"")?;
    args.finish(ACCEPTED)?;

    let Some(path) = path else {
        return Err(syn::Error::new(
            Span::call_site(),
            format!(
                "#[blob_trigger] needs a `path`: a container, a slash, and a blob name pattern, \
                 e.g. #[blob_trigger(path = {EXAMPLE})]"
            ),
        ));
    };
    if let Some(problem) = path_problem(&path.value()) {
        return Err(syn::Error::new(
            path.span(),
            format!("invalid blob path {:?}: {problem}", path.value()),
        ));
    }
    let connection = connection_setting(connection)?;
    check_plain_async_fn(&func.sig, ATTRIBUTE)?;
    let name = RegisteredName::new(name_override, &func.sig.ident)?;
    storage::parse_fn(
        func,
        name,
        StorageTrigger::Blob {
            path: path.value(),
            connection,
        },
        &Rule {
            info_type: "BlobInfo",
            body_example: "content: String",
            body_what: "blob content",
            what: "a blob function",
        },
    )
}

/// What is wrong with a `container/pattern` path, if anything. The host parses the same
/// rules again at start-up; checking here reports mistakes at the attribute.
fn path_problem(path: &str) -> Option<String> {
    let Some((container, pattern)) = path.split_once('/') else {
        return Some(format!(
            "expected `container/pattern`, e.g. {EXAMPLE}; there is no `/`"
        ));
    };
    if container.contains('{') {
        return Some("the container name cannot contain `{parameters}`".into());
    }
    if let Some(problem) = storage::storage_name_problem(container) {
        return Some(format!("container name {container:?}: {problem}"));
    }
    if pattern.is_empty() {
        return Some("the blob name pattern after the container is empty".into());
    }
    let mut names: Vec<&str> = Vec::new();
    let mut rest = pattern;
    let mut after_param = false;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                return Some("a `{` has no matching `}`".into());
            };
            let name = &inner[..end];
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Some(format!(
                    "`{{{name}}}`: parameter names are letters, digits, `_` and `-`, \
                     starting with a letter"
                ));
            }
            if after_param {
                return Some(format!(
                    "`{{{name}}}` follows another parameter directly; put literal text between \
                     them, e.g. `{{name}}.{{ext}}`"
                ));
            }
            if names.contains(&name) {
                return Some(format!("`{{{name}}}` appears twice"));
            }
            names.push(name);
            rest = &inner[end + 1..];
            after_param = true;
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            if rest[..end].contains('}') {
                return Some("a `}` has no matching `{`".into());
            }
            rest = &rest[end..];
            after_param = false;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::path_problem;

    #[test]
    fn paths() {
        assert_eq!(path_problem("weather-results/{requestId}.txt"), None);
        assert_eq!(path_problem("samples/{name}"), None);
        assert_eq!(path_problem("samples/in/{name}.{ext}"), None);
        assert!(path_problem("samples").is_some());
        assert!(path_problem("{c}/x").is_some());
        assert!(path_problem("samples/").is_some());
        assert!(path_problem("samples/{a}{b}").is_some());
        assert!(path_problem("samples/{a").is_some());
        assert!(path_problem("samples/a}").is_some());
        assert!(path_problem("samples/{a}/{a}").is_some());
        assert!(path_problem("Samples/{a}").is_some());
    }
}
