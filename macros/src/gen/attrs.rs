//! Where the user's attributes go when one function becomes several items.

use syn::Attribute;

/// The user's attributes, sorted by where they belong.
pub struct SplitAttrs {
    /// `///` docs and `#[doc]`: on the item the user sees (the struct).
    pub docs: Vec<Attribute>,
    /// `#[cfg]` and `#[cfg_attr]`: on every generated item, so they come and go together.
    pub cfgs: Vec<Attribute>,
    /// Everything else (`#[allow]`, `#[tracing::instrument]`, ...): on the function itself.
    pub rest: Vec<Attribute>,
}

/// Sorts `attrs`.
pub fn split(attrs: &[Attribute]) -> SplitAttrs {
    let mut out = SplitAttrs {
        docs: Vec::new(),
        cfgs: Vec::new(),
        rest: Vec::new(),
    };
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("doc") {
            out.docs.push(attr.clone());
        } else if path.is_ident("cfg") || path.is_ident("cfg_attr") {
            out.cfgs.push(attr.clone());
        } else {
            out.rest.push(attr.clone());
        }
    }
    out
}

/// Only the `#[cfg]`/`#[cfg_attr]` attributes of `attrs`.
pub fn cfgs(attrs: &[Attribute]) -> Vec<Attribute> {
    split(attrs).cfgs
}
