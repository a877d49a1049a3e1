//! The call from an HTTP or timer handler into the user's function, arguments in the user's
//! order.

use proc_macro2::TokenStream;
use quote::quote;

use super::checks::param_is;
use crate::ast::bindings::{Binding, Bindings};

/// The handler closure's parameter patterns (trigger value, function context) and the
/// arguments to call the user's function with.
pub struct Call {
    /// Pattern for the trigger value.
    pub trigger_pat: TokenStream,
    /// Pattern for the `FunctionContext` (`_` when the function takes no client).
    pub context_pat: TokenStream,
    /// The arguments.
    pub args: Vec<TokenStream>,
    /// The checks of the parameters' types.
    pub checks: TokenStream,
}

/// Builds the call for `bindings`.
pub fn call(bindings: &Bindings) -> Call {
    let args = bindings
        .params
        .iter()
        .map(|b| match b {
            Binding::Trigger => quote!(__trigger),
            Binding::Client => quote!(__function_context.client),
        })
        .collect();
    let checks = bindings
        .params
        .iter()
        .zip(&bindings.types)
        .map(|(b, ty)| match b {
            Binding::Trigger => param_is(bindings.trigger_bound, ty),
            Binding::Client => param_is("DurableClientParam", ty),
        })
        .collect();
    Call {
        checks,
        trigger_pat: quote!(__trigger),
        context_pat: if bindings.takes_client() {
            quote!(__function_context)
        } else {
            quote!(_)
        },
        args,
    }
}
