//! Keeps the user's `use durable::durable_client;` in use.
//!
//! The trigger macros remove `#[durable_client]` from the parameter before the compiler sees
//! it, so an import of the marker would be reported as unused. Applying the marker, by the
//! path the user wrote, to a throw-away item resolves it like any other attribute: an
//! import counts as used, and a missing one is reported at the user's attribute.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Attribute;

/// The argument that tells `#[durable_client]` it is being resolved, not misused.
pub const RESOLVE_ONLY: &str = "__resolve_only";

/// An item carrying the marker; it expands to nothing.
pub fn resolve(marker: Option<&Attribute>) -> TokenStream {
    let Some(marker) = marker else {
        return TokenStream::new();
    };
    let path = marker.path();
    let arg = proc_macro2::Ident::new(RESOLVE_ONLY, proc_macro2::Span::call_site());
    quote! {
        #[#path(#arg)]
        struct __DurableClientMarker;
    }
}
