//! Timer functions: the function stays as written; a registration next to it wraps it in a
//! `TimerHandler`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::attrs::cfgs;
use super::bindings::call;
use super::client_marker;
use super::registration::registration;
use crate::ast::signature::returned_error_span;
use crate::ast::timer::{TimerFn, TimerReturn};

/// The function and its registration.
pub fn generate(f: &TimerFn) -> TokenStream {
    let func = &f.func;
    let ident = &func.sig.ident;
    let cfgs = cfgs(&func.attrs);
    let schedule = &f.schedule;
    let run_on_startup = f.run_on_startup;
    let call = call(&f.bindings);
    let (trigger_pat, context_pat, args) = (&call.trigger_pat, &call.context_pat, &call.args);
    let outcome = match f.returns {
        TimerReturn::Unit => quote! {
            #ident(#(#args),*).await;
            ::core::result::Result::Ok(())
        },
        TimerReturn::Result => {
            // Spanned at the error type, so "`MyError: Into<Failure>`" errors point there.
            let into_failure = quote_spanned! {returned_error_span(&func.sig)=>
                ::core::result::Result::map_err(
                    __returned,
                    ::core::convert::Into::<::durable::Failure>::into,
                )
            };
            quote! {
                let __returned = #ident(#(#args),*).await;
                #into_failure
            }
        }
    };
    let make = quote! {
        ::durable::__private::FunctionKind::Timer(::durable::__private::TimerFunction {
            schedule: ::std::string::String::from(#schedule),
            run_on_startup: #run_on_startup,
            handler: ::std::sync::Arc::new(
                |#trigger_pat: ::durable::__private::TimerInfo,
                 #context_pat: ::durable::__private::FunctionContext|
                 -> ::durable::__private::futures::future::BoxFuture<
                    'static,
                    ::core::result::Result<(), ::durable::Failure>,
                > {
                    ::std::boxed::Box::pin(async move { #outcome })
                },
            ),
        })
    };
    let register = registration(&f.name, make);
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
        };
    }
}
