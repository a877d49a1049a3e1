//! The `inventory` submission every trigger function expands to, next to its duplicate-name
//! guard.

use proc_macro2::TokenStream;
use quote::quote;

use crate::names::RegisteredName;

/// Items that register one function: `make` is an expression of type
/// `durable::app::FunctionKind`. Meant for the inside of a `const _: () = { ... };` block.
pub fn registration(name: &RegisteredName, make: TokenStream) -> TokenStream {
    registration_for(name, None, make)
}

/// [`registration`] of one version of an orchestrator: its duplicate guard is per name and
/// version.
pub fn registration_for(
    name: &RegisteredName,
    version: Option<&str>,
    make: TokenStream,
) -> TokenStream {
    let guard = name.duplicate_guard(version);
    let value = &name.value;
    quote! {
        #guard

        fn __durable_make() -> ::durable::__private::FunctionKind {
            #make
        }

        ::durable::__private::inventory::submit! {
            ::durable::__private::FunctionRegistration {
                name: #value,
                make: __durable_make,
            }
        }
    }
}
