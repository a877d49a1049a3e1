//! A trigger function's parameters, with the `#[durable_client]` marker taken off.
//!
//! Rust hands an attribute on a parameter to the attribute macro on the function, so the
//! trigger macros read the marker and remove it; the compiler never sees it there.

use syn::{Attribute, FnArg, Pat, Signature, Type};

/// One parameter of a trigger function.
pub struct Param {
    /// The pattern (`ctx`, `_`, `mut input`, ...).
    pub pat: Pat,
    /// The declared type.
    pub ty: Type,
    /// The `#[durable_client]` attribute, when the parameter carries one.
    pub client_marker: Option<Attribute>,
}

impl Param {
    /// The whole parameter, for error spans.
    pub fn tokens(&self) -> proc_macro2::TokenStream {
        let pat = &self.pat;
        let ty = &self.ty;
        quote::quote!(#pat: #ty)
    }
}

/// True for `#[durable_client]` and `#[some::path::durable_client]`.
pub fn is_client_marker(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "durable_client")
}

/// Reads the parameters and strips `#[durable_client]` from `sig`; `self` is left to
/// [`super::signature::check_plain_async_fn`].
pub fn take_params(sig: &mut Signature) -> syn::Result<Vec<Param>> {
    let mut params = Vec::new();
    for arg in sig.inputs.iter_mut() {
        let FnArg::Typed(typed) = arg else {
            continue;
        };
        let mut client_marker = None;
        let mut kept = Vec::new();
        for attr in typed.attrs.drain(..) {
            if !is_client_marker(&attr) {
                kept.push(attr);
                continue;
            }
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                return Err(syn::Error::new_spanned(
                    &attr,
                    "#[durable_client] takes no arguments",
                ));
            }
            if client_marker.is_some() {
                return Err(syn::Error::new_spanned(
                    &attr,
                    "#[durable_client] is given twice on this parameter",
                ));
            }
            client_marker = Some(attr);
        }
        typed.attrs = kept;
        params.push(Param {
            pat: (*typed.pat).clone(),
            ty: (*typed.ty).clone(),
            client_marker,
        });
    }
    Ok(params)
}

/// Strips every `#[durable_client]` marker and returns them, ignoring problems: used to hand
/// the function back unchanged next to an error, so the error is the only one the user sees.
pub fn strip_markers(sig: &mut Signature) -> Vec<Attribute> {
    let mut markers = Vec::new();
    for arg in sig.inputs.iter_mut() {
        if let FnArg::Typed(typed) = arg {
            let (found, kept) = typed.attrs.drain(..).partition(is_client_marker);
            typed.attrs = kept;
            markers.extend::<Vec<Attribute>>(found);
        }
    }
    markers
}
