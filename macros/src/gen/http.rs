//! HTTP functions: the function stays as written; a registration next to it wraps it in an
//! `HttpHandler` that converts its result with `IntoHttpResponse`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::attrs::cfgs;
use super::bindings::call;
use super::client_marker;
use super::registration::registration;
use crate::ast::http::{AuthLevel, HttpFn};
use crate::ast::signature::return_type_span;

/// The function and its registration.
pub fn generate(f: &HttpFn) -> TokenStream {
    let func = &f.func;
    let ident = &func.sig.ident;
    let cfgs = cfgs(&func.attrs);
    let methods = f
        .methods
        .iter()
        .map(|m| {
            let m = proc_macro2::Ident::new(m, proc_macro2::Span::call_site());
            quote!(::durable::__private::Method::#m)
        })
        .collect::<Vec<_>>();
    let route = &f.route;
    let auth_level = match f.auth_level {
        AuthLevel::Anonymous => quote!(Anonymous),
        AuthLevel::Function => quote!(Function),
        AuthLevel::Admin => quote!(Admin),
    };
    let operation = super::openapi::operation(f);
    let call = call(&f.bindings);
    let (trigger_pat, context_pat, args) = (&call.trigger_pat, &call.context_pat, &call.args);
    // Spanned at the return type, so "`X: IntoHttpResponse` is not satisfied" points there.
    let respond = quote_spanned! {return_type_span(&func.sig)=>
        ::durable::__private::IntoHttpResponse::into_http_response(__returned)
    };
    let make = quote! {
        ::durable::__private::FunctionKind::Http(::durable::__private::HttpFunction {
            methods: ::std::vec![#(#methods),*],
            route: ::std::string::String::from(#route),
            auth_level: ::durable::__private::AuthLevel::#auth_level,
            operation: #operation,
            handler: ::std::sync::Arc::new(
                |#trigger_pat: ::durable::__private::HttpRequest,
                 #context_pat: ::durable::__private::FunctionContext|
                 -> ::durable::__private::futures::future::BoxFuture<
                    'static,
                    ::durable::__private::HttpResponse,
                > {
                    ::std::boxed::Box::pin(async move {
                        let __returned = #ident(#(#args),*).await;
                        #respond
                    })
                },
            ),
        })
    };
    let register = registration(&f.name, make);
    let operation_guard = super::openapi::guard(f);
    let marker = client_marker::resolve(f.bindings.client_marker.as_ref());
    let checks = &call.checks;
    quote! {
        #func

        #(#cfgs)*
        const _: () = { #checks };

        #(#cfgs)*
        const _: () = {
            #marker
            #register
            #operation_guard
        };
    }
}
