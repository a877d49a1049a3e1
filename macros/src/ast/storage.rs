//! What queue and blob functions share: the parameters (the body, the trigger's metadata,
//! the client, in any order) and the return shape (nothing or `Result<(), E>`).

use syn::spanned::Spanned;
use syn::{Attribute, ItemFn, ReturnType, Signature, Type};

use super::params::take_params;
use super::signature::{display, params_span, result_ok_type, type_is};
use crate::names::RegisteredName;

/// What the host passes for one parameter.
#[derive(Clone, PartialEq, Eq)]
pub enum StorageParam {
    /// The message body or blob content, converted.
    Body,
    /// The metadata (`QueueMessageInfo`, `BlobInfo`).
    Info,
    /// The `#[durable_client]` client.
    Client,
}

/// The parameters in declaration order.
pub struct StorageBindings {
    /// One entry per parameter.
    pub params: Vec<StorageParam>,
    /// The body's type as written.
    pub body_type: Type,
    /// The `#[durable_client]` attribute, if a parameter has one.
    pub client_marker: Option<Attribute>,
    /// That parameter's type as written (checked by a trait bound in the expansion).
    pub client_type: Option<Type>,
}

/// What a storage function returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// Nothing: every run that does not panic succeeds.
    Unit,
    /// `Result<(), E>`: an error is a failed run.
    Result,
}

/// The trigger-specific part of a storage function.
pub enum StorageTrigger {
    /// `#[queue_trigger]`.
    Queue {
        /// The queue.
        queue_name: String,
        /// The connection setting.
        connection: String,
    },
    /// `#[blob_trigger]`.
    Blob {
        /// `container/pattern`.
        path: String,
        /// The connection setting.
        connection: String,
    },
}

/// A parsed queue or blob function.
pub struct StorageFn {
    /// The user's function, with the `#[durable_client]` marker removed.
    pub func: ItemFn,
    /// The registered name.
    pub name: RegisteredName,
    /// The trigger and its arguments.
    pub trigger: StorageTrigger,
    /// What to pass for each parameter.
    pub bindings: StorageBindings,
    /// The return shape.
    pub returns: Returns,
}

/// A storage trigger kind's parameter rules.
pub struct Rule {
    /// The metadata type, matched by name (`QueueMessageInfo`).
    pub info_type: &'static str,
    /// The body parameter as the user might write it (`msg: MyMessage`).
    pub body_example: &'static str,
    /// The body, for messages (`message`, `blob content`).
    pub body_what: &'static str,
    /// The kind of function, for messages (`a queue function`).
    pub what: &'static str,
}

/// Reads the parameters and the return type of a queue or blob function.
pub fn parse_fn(
    mut func: ItemFn,
    name: RegisteredName,
    trigger: StorageTrigger,
    rule: &Rule,
) -> syn::Result<StorageFn> {
    let bindings = parse_params(&mut func.sig, rule)?;
    let returns = parse_returns(&func.sig, rule.what)?;
    Ok(StorageFn {
        func,
        name,
        trigger,
        bindings,
        returns,
    })
}

fn parse_params(sig: &mut Signature, rule: &Rule) -> syn::Result<StorageBindings> {
    let Rule {
        info_type,
        body_example,
        body_what,
        what,
    } = rule;
    let shape = format!(
        "its {body_what} (`{body_example}`: `String`, `Vec<u8>` or a `Deserialize` type), \
         optionally `info: {info_type}` and optionally `#[durable_client] client: DurableClient`"
    );
    let mut params = Vec::new();
    let mut body: Option<Type> = None;
    let mut client_marker = None;
    let mut client_type = None;
    for p in take_params(sig)? {
        if let Some(marker) = p.client_marker {
            if client_marker.is_some() {
                return Err(syn::Error::new_spanned(
                    &marker,
                    format!("{what} takes at most one #[durable_client] parameter"),
                ));
            }
            client_marker = Some(marker);
            client_type = Some(p.ty.clone());
            params.push(StorageParam::Client);
        } else if type_is(&p.ty, info_type) {
            if params.contains(&StorageParam::Info) {
                return Err(syn::Error::new_spanned(
                    p.tokens(),
                    format!("{what} takes one `{info_type}` parameter, this is a second one"),
                ));
            }
            params.push(StorageParam::Info);
        } else if type_is(&p.ty, "DurableClient") {
            return Err(syn::Error::new_spanned(
                p.tokens(),
                format!(
                    "mark the client parameter with #[durable_client]: `#[durable_client] {}`",
                    display(&p.tokens())
                ),
            ));
        } else {
            check_body_type(&p.ty, what)?;
            if body.is_some() {
                return Err(syn::Error::new_spanned(
                    p.tokens(),
                    format!(
                        "unexpected parameter `{}`: {what} takes {shape}; the {body_what} is \
                         already bound",
                        display(&p.tokens())
                    ),
                ));
            }
            body = Some(p.ty.clone());
            params.push(StorageParam::Body);
        }
    }
    let Some(body_type) = body else {
        return Err(syn::Error::new(
            params_span(sig),
            format!("{what} takes {shape}; the {body_what} parameter is missing"),
        ));
    };
    Ok(StorageBindings {
        params,
        body_type,
        client_marker,
        client_type,
    })
}

/// Borrowed and `impl Trait` bodies cannot be produced from received bytes.
fn check_body_type(ty: &Type, what: &str) -> syn::Result<()> {
    match ty {
        Type::Reference(r) => {
            let elem = display(&r.elem);
            let owned = match elem.as_str() {
                "str" => "String".to_string(),
                "[u8]" => "Vec<u8>".to_string(),
                _ => elem,
            };
            Err(syn::Error::new_spanned(
                ty,
                format!("{what} receives an owned value; take `{owned}` instead"),
            ))
        }
        Type::ImplTrait(_) | Type::Infer(_) | Type::Never(_) | Type::TraitObject(_) => {
            Err(syn::Error::new(
                ty.span(),
                format!(
                    "{what} takes a concrete type: `String`, `Vec<u8>` or a `Deserialize` type; \
                     found `{}`",
                    display(ty)
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn parse_returns(sig: &Signature, what: &str) -> syn::Result<Returns> {
    match &sig.output {
        ReturnType::Default => Ok(Returns::Unit),
        ReturnType::Type(_, ty) if matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) => {
            Ok(Returns::Unit)
        }
        ReturnType::Type(_, ty) if result_ok_type(ty).is_some() => Ok(Returns::Result),
        ReturnType::Type(_, ty) => Err(syn::Error::new_spanned(
            ty,
            format!(
                "{what} returns nothing or `Result<(), E>` where `E: Into<durable::Failure>`; \
                 found `{}`",
                display(ty)
            ),
        )),
    }
}

/// Checks a queue or container name: 3–63 lower-case letters, digits and single dashes,
/// starting and ending with a letter or digit (the Azure Storage rules).
pub fn storage_name_problem(name: &str) -> Option<&'static str> {
    if !(3..=63).contains(&name.len()) {
        return Some("it must be 3 to 63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("it may contain only lower-case letters, digits and dashes");
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Some("dashes must stand between letters or digits, one at a time");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names() {
        assert_eq!(storage_name_problem("orders"), None);
        assert_eq!(storage_name_problem("order-items-2"), None);
        assert!(storage_name_problem("Orders").is_some());
        assert!(storage_name_problem("ab").is_some());
        assert!(storage_name_problem("a--b").is_some());
        assert!(storage_name_problem("-ab").is_some());
    }
}
