//! Checks every trigger function's signature must pass, and helpers to read its types.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, ReturnType, Signature, Type};

/// Rejects what no trigger function may be: not `async`, `const`, `unsafe`, `extern`,
/// generic, or a method.
pub fn check_plain_async_fn(sig: &Signature, attribute: &str) -> syn::Result<()> {
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new_spanned(
            constness,
            format!("#[{attribute}] functions cannot be `const`"),
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        return Err(syn::Error::new_spanned(
            unsafety,
            format!("#[{attribute}] functions cannot be `unsafe`"),
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new_spanned(
            abi,
            format!("#[{attribute}] functions cannot have an `extern` ABI"),
        ));
    }
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            fn_and_name(sig),
            format!(
                "#[{attribute}] functions must be `async`: write `async fn {}`",
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!(
                "#[{attribute}] functions cannot be generic: the host calls them with \
                 concrete types (e.g. `String`, a struct or `serde_json::Value`)"
            ),
        ));
    }
    if let Some(receiver) = sig.receiver() {
        return Err(syn::Error::new_spanned(
            receiver,
            format!(
                "#[{attribute}] functions are free functions and cannot take `self`; \
                 move it out of the `impl` block"
            ),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            format!("#[{attribute}] functions cannot be variadic"),
        ));
    }
    Ok(())
}

/// `fn name`, for errors about the function as a whole.
pub fn fn_and_name(sig: &Signature) -> proc_macro2::TokenStream {
    let fn_token = &sig.fn_token;
    let ident = &sig.ident;
    quote::quote!(#fn_token #ident)
}

/// The span of the parameter list's parentheses, for errors about a missing parameter.
pub fn params_span(sig: &Signature) -> Span {
    sig.paren_token.span.join()
}

/// True when `ty` is a path whose last segment is `name` (`DurableClient`,
/// `durable::DurableClient`, ...): matching by name keeps imports and paths free.
pub fn type_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == name && s.arguments.is_none()),
        Type::Group(g) => type_is(&g.elem, name),
        Type::Paren(p) => type_is(&p.elem, name),
        _ => false,
    }
}

/// The `T` of a `Result<T, E>` (or of a one-parameter alias such as `io::Result<T>`).
pub fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else {
        return None;
    };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// Where to point errors about the returned value's type: the `E` of `Result<T, E>` when
/// written out, else the return type.
pub fn returned_error_span(sig: &Signature) -> Span {
    let ReturnType::Type(_, ty) = &sig.output else {
        return sig.ident.span();
    };
    if let Type::Path(p) = &**ty {
        if let Some(PathArguments::AngleBracketed(args)) =
            p.path.segments.last().map(|s| &s.arguments)
        {
            if let Some(GenericArgument::Type(e)) = args.args.iter().nth(1) {
                return e.span();
            }
        }
    }
    ty.span()
}

/// Where to point errors about the return type as a whole.
pub fn return_type_span(sig: &Signature) -> Span {
    match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    }
}

/// The `T` of an orchestrator's or activity's `-> Result<T, E>`, or an error saying what
/// to write instead.
pub fn result_output(sig: &Signature, what: &str) -> syn::Result<Type> {
    let example = "e.g. `-> Result<String, Failure>`";
    match &sig.output {
        ReturnType::Default => Err(syn::Error::new_spanned(
            fn_and_name(sig),
            format!(
                "{what} must return `Result<T, E>` where `E: Into<durable::Failure>`, {example}"
            ),
        )),
        ReturnType::Type(_, ty) => result_ok_type(ty).cloned().ok_or_else(|| {
            syn::Error::new_spanned(
                ty,
                format!(
                    "{what} must return `Result<T, E>` where `E: Into<durable::Failure>`, \
                     {example}; found `{}`",
                    display(ty)
                ),
            )
        }),
    }
}

/// Rejects a borrowed input type: inputs are deserialized into owned values.
pub fn check_owned_input(ty: &Type) -> syn::Result<()> {
    if let Type::Reference(r) = ty {
        let elem = display(&r.elem);
        let owned = if elem == "str" {
            "String".to_string()
        } else {
            elem
        };
        return Err(syn::Error::new_spanned(
            ty,
            format!("inputs are deserialized into owned values; take `{owned}` instead"),
        ));
    }
    Ok(())
}

/// Tokens as a person would write them (`Vec<String>`, not `Vec < String >`), for messages.
pub fn display(tokens: &dyn ToTokens) -> String {
    let mut s = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
        (" : ", ": "),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
    ] {
        s = s.replace(from, to);
    }
    s
}
