//! Orchestrators and activities: a unit struct named after the function, implementing
//! `durable::Orchestration` / `durable::Activity`, so `ctx.call_activity(say_hello, "Tokyo")`
//! checks input and output types; plus its registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Ident, ItemFn};

use super::attrs::split;
use super::checks::param_is;
use super::registration::{registration, registration_for};
use crate::ast::signature::returned_error_span;
use crate::ast::typed::{TypedFn, TypedKind};

/// The struct, its trait impl and its registration.
pub fn generate(f: &TypedFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = &f.func;
    let attrs = split(attrs);
    let (docs, cfgs, rest) = (&attrs.docs, &attrs.cfgs, &attrs.rest);
    let ident = &sig.ident;
    let name = &f.name.value;

    let (trait_path, context_type, erase, kind) = match f.kind {
        TypedKind::Orchestration => (
            quote!(::durable::Orchestration),
            quote!(::durable::OrchestrationContext),
            quote!(::durable::__private::erase_orchestration),
            quote!(::durable::__private::FunctionKind::Orchestrator),
        ),
        TypedKind::Activity => (
            quote!(::durable::Activity),
            quote!(::durable::ActivityContext),
            quote!(::durable::__private::erase_activity),
            quote!(::durable::__private::FunctionKind::Activity),
        ),
    };

    // The user's function, renamed, lives inside `run`: its body, `?` and return type stay
    // exactly as written, and the unit struct keeps the function's name.
    let body_ident = Ident::new("__durable_body", ident.span());
    let mut body_sig = sig.clone();
    body_sig.ident = body_ident.clone();

    let input_type = match (&f.bound, &f.input) {
        (Some(ty), _) => quote!(<#ty as ::durable::__private::ActivityParam>::Input),
        (None, Some(ty)) => quote!(#ty),
        (None, None) => quote!(()),
    };
    let output_type = &f.output;
    let mut call_args = Vec::new();
    let (context_pat, input_pat) = match &f.bound {
        Some(ty) => {
            call_args.push(quote! {
                <#ty as ::durable::__private::ActivityParam>::bind(__context, __input)
            });
            (quote!(__context), quote!(__input))
        }
        None => {
            let context_pat = if f.takes_context {
                call_args.push(quote!(__context));
                quote!(__context)
            } else {
                quote!(_)
            };
            let input_pat = if f.input.is_some() {
                call_args.push(quote!(__input));
                quote!(__input)
            } else {
                quote!(_)
            };
            (context_pat, input_pat)
        }
    };
    let context_check = f.context_type.as_ref().map(|ty| {
        let bound = match f.kind {
            TypedKind::Orchestration => "OrchestrationContextParam",
            TypedKind::Activity => "ActivityContextParam",
        };
        param_is(bound, ty)
    });
    // Spanned at the error type, so "`MyError: Into<Failure>` is not satisfied" points there.
    let into_failure = quote_spanned! {returned_error_span(sig)=>
        ::core::result::Result::map_err(
            __returned,
            ::core::convert::Into::<::durable::Failure>::into,
        )
    };
    let version = f.version.as_ref().map(|v| v.value());
    let limited = f.limits.max_concurrent.is_some() || f.limits.max_per_second.is_some();
    let register = match &version {
        None if limited => {
            let option = |v: Option<proc_macro2::TokenStream>| match v {
                Some(v) => quote!(::core::option::Option::Some(#v)),
                None => quote!(::core::option::Option::None),
            };
            let max_concurrent = option(f.limits.max_concurrent.map(|n| quote!(#n)));
            let max_per_second = option(f.limits.max_per_second.map(|r| quote!(#r)));
            registration(
                &f.name,
                quote!(::durable::__private::FunctionKind::LimitedActivity {
                    function: #erase(#ident),
                    limits: ::durable::__private::ActivityLimits {
                        max_concurrent: #max_concurrent,
                        max_per_second: #max_per_second,
                    },
                }),
            )
        }
        None => registration(&f.name, quote!(#kind(#erase(#ident)))),
        Some(v) => registration_for(
            &f.name,
            Some(v),
            quote!(::durable::__private::FunctionKind::VersionedOrchestrator {
                version: #v,
                function: #erase(#ident),
            }),
        ),
    };
    let version_const = version.map(|v| {
        quote!(const VERSION: ::core::option::Option<&'static str> = ::core::option::Option::Some(#v);)
    });

    quote! {
        #(#cfgs)*
        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident;

        #(#cfgs)*
        impl #trait_path for #ident {
            const NAME: &'static str = #name;
            #version_const
            type Input = #input_type;
            type Output = #output_type;

            fn run(
                #context_pat: #context_type,
                #input_pat: Self::Input,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<Self::Output, ::durable::Failure>,
            > + ::core::marker::Send + 'static {
                #(#rest)*
                #body_sig #block

                async move {
                    let __returned = #body_ident(#(#call_args),*).await;
                    #into_failure
                }
            }
        }

        #(#cfgs)*
        #context_check

        #(#cfgs)*
        const _: () = {
            #register
        };
    }
}
