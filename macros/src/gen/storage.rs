//! Queue and blob functions: the function stays as written; a registration next to it wraps
//! it in a handler that converts the body, then calls it with the arguments in the user's
//! order.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::attrs::cfgs;
use super::checks::param_is;
use super::client_marker;
use super::registration::registration;
use crate::ast::signature::returned_error_span;
use crate::ast::storage::{Returns, StorageFn, StorageParam, StorageTrigger};

/// The function and its registration.
pub fn generate(f: &StorageFn) -> TokenStream {
    let func = &f.func;
    let ident = &func.sig.ident;
    let cfgs = cfgs(&func.attrs);
    let body_ty = &f.bindings.body_type;
    // Chosen by the type itself (text, bytes or JSON), so aliases convert as what they are;
    // spanned at the type, so "`T: Deserialize` is not satisfied" points there.
    let convert = quote_spanned! {body_ty.span()=>
        {
            #[allow(unused_imports)]
            use ::durable::__private::body::{DecodeBytes as _, DecodeJson as _, DecodeText as _};
            // The `&` is the point: the JSON impl takes one more reference than the exact ones.
            #[allow(clippy::needless_borrow)]
            let __decoded = (&::durable::__private::body::Decode::<#body_ty>::new()).decode(__content);
            __decoded
        }
    };
    let args: Vec<TokenStream> = f
        .bindings
        .params
        .iter()
        .map(|p| match p {
            StorageParam::Body => quote!(__body),
            StorageParam::Info => quote!(__info),
            StorageParam::Client => quote!(__function_context.client),
        })
        .collect();
    let outcome = match f.returns {
        Returns::Unit => quote! {
            #ident(#(#args),*).await;
            ::core::result::Result::Ok(())
        },
        Returns::Result => {
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
    let (variant, function, input, content, fields) = match &f.trigger {
        StorageTrigger::Queue {
            queue_name,
            connection,
        } => (
            quote!(Queue),
            quote!(QueueFunction),
            quote!(QueueMessage),
            quote!(body),
            quote! {
                queue_name: ::std::string::String::from(#queue_name),
                connection: ::std::string::String::from(#connection),
            },
        ),
        StorageTrigger::Blob { path, connection } => (
            quote!(Blob),
            quote!(BlobFunction),
            quote!(BlobInput),
            quote!(content),
            quote! {
                path: ::std::string::String::from(#path),
                connection: ::std::string::String::from(#connection),
            },
        ),
    };
    let make = quote! {
        ::durable::__private::FunctionKind::#variant(::durable::__private::#function {
            #fields
            handler: ::std::sync::Arc::new(
                |__trigger: ::durable::__private::#input,
                 __function_context: ::durable::__private::FunctionContext|
                 -> ::durable::__private::futures::future::BoxFuture<
                    'static,
                    ::core::result::Result<(), ::durable::Failure>,
                > {
                    ::std::boxed::Box::pin(async move {
                        let __info = __trigger.info;
                        let __content = __trigger.#content;
                        let __body: #body_ty = #convert?;
                        #outcome
                    })
                },
            ),
        })
    };
    let register = registration(&f.name, make);
    let marker = client_marker::resolve(f.bindings.client_marker.as_ref());
    let client_check = f
        .bindings
        .client_type
        .as_ref()
        .map(|ty| param_is("DurableClientParam", ty));
    quote! {
        #func

        #(#cfgs)*
        const _: () = { #client_check };

        #(#cfgs)*
        const _: () = {
            #marker
            #register
        };
    }
}
