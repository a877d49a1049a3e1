//! Compile-time checks that a parameter has the type its position or marker requires, made
//! through a trait bound (`durable::__private::*Param`), not by reading the type's name: an
//! alias or a re-export of the right type passes, a wrong type fails with a message that says
//! what was expected, pointing at the parameter's type.

use proc_macro2::TokenStream;
use quote::{format_ident, quote_spanned};
use syn::spanned::Spanned;
use syn::Type;

/// Asserts `ty: durable::__private::{bound}`.
pub fn param_is(bound: &str, ty: &Type) -> TokenStream {
    let bound = format_ident!("{}", bound);
    quote_spanned! {ty.span()=>
        const _: () = {
            fn __durable_check<T: ?::core::marker::Sized + ::durable::__private::#bound>() {}
            fn __durable_checked() {
                __durable_check::<#ty>();
            }
        };
    }
}
