//! The `durable::app::HttpOperation` of an HTTP function, and the guard that makes two
//! functions with one operation id a compile error.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Type;

use crate::ast::http::HttpFn;
use crate::ast::openapi::AnswerBody;
use crate::names::operation_id_guard;

/// An expression of type `durable::app::HttpOperation`.
pub fn operation(f: &HttpFn) -> TokenStream {
    let doc = &f.operation;
    let text = |v: Option<&String>| match v {
        Some(s) => quote!(::std::option::Option::Some(::std::string::String::from(#s))),
        None => quote!(::std::option::Option::None),
    };
    let operation_id = text(doc.operation_id.as_ref().map(|l| l.value()).as_ref());
    let summary = text(doc.summary.as_ref());
    let description = text(doc.description.as_ref());
    let tags = &doc.tags;
    let query = match &doc.query {
        Some(ty) => {
            let schema = schema_fn("inline_schema_of", ty);
            quote!(::std::option::Option::Some(#schema))
        }
        None => quote!(::std::option::Option::None),
    };
    let request_body = match &doc.request_body {
        Some((ty, required)) => {
            let schema = schema_fn("schema_of", ty);
            quote!(::std::option::Option::Some(::durable::__private::RequestBody {
                schema: #schema,
                required: #required,
            }))
        }
        None => quote!(::std::option::Option::None),
    };
    let responses = doc.answers.iter().map(|a| {
        let status = a.status;
        let body = match &a.body {
            AnswerBody::Empty => quote!(::durable::__private::ResponseBody::Empty),
            AnswerBody::Error => quote!(::durable::__private::ResponseBody::Error),
            AnswerBody::Json(ty) => {
                let schema = schema_fn("schema_of", ty);
                quote!(::durable::__private::ResponseBody::Json(#schema))
            }
        };
        quote!(::durable::__private::OperationResponse { status: #status, body: #body })
    });
    let starts_orchestration = doc.starts_orchestration;
    quote! {
        ::durable::__private::HttpOperation {
            operation_id: #operation_id,
            summary: #summary,
            description: #description,
            tags: ::std::vec![#(::std::string::String::from(#tags)),*],
            query: #query,
            request_body: #request_body,
            responses: ::std::vec![#(#responses),*],
            starts_orchestration: #starts_orchestration,
        }
    }
}

/// `durable::__private::{getter}::<ty>` as a schema function, spanned at the type so that a
/// type without `JsonSchema` is reported there.
fn schema_fn(getter: &str, ty: &Type) -> TokenStream {
    let getter = proc_macro2::Ident::new(getter, ty.span());
    quote_spanned! {ty.span()=>
        ::durable::__private::#getter::<#ty> as ::durable::__private::SchemaFn
    }
}

/// The guard of the function's operation id: the one given, else its name.
pub fn guard(f: &HttpFn) -> TokenStream {
    match &f.operation.operation_id {
        Some(id) => operation_id_guard(&id.value(), id.span()),
        None => operation_id_guard(&f.name.value, f.name.span),
    }
}
