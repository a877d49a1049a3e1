//! `#[activity_trigger]`: `async fn NAME([ctx: ActivityContext,] [input: I]) -> Result<O, E>`.

use proc_macro2::TokenStream;
use syn::ItemFn;

use super::params::take_params;
use super::signature::{check_owned_input, check_plain_async_fn, result_output, type_is};
use super::typed::{Limits, TypedFn, TypedKind};
use crate::args::Args;
use crate::names::RegisteredName;

const ATTRIBUTE: &str = "activity_trigger";

/// Parses the attribute arguments and the function.
pub fn parse(args: TokenStream, mut func: ItemFn) -> syn::Result<TypedFn> {
    let mut args = Args::parse(ATTRIBUTE, args)?;
    let name_override = args.take_str("name", "\"my_activity\"")?;
    let max_concurrent = args.take_count("max_concurrent")?;
    let max_per_second = args.take_number("max_per_second", 0.001, 1_000_000.0)?;
    args.finish(&["name", "max_concurrent", "max_per_second"])?;

    check_plain_async_fn(&func.sig, ATTRIBUTE)?;
    let params = take_params(&mut func.sig)?;
    if let Some(marker) = params.iter().find_map(|p| p.client_marker.as_ref()) {
        return Err(syn::Error::new_spanned(
            marker,
            "#[durable_client] cannot be used in an activity: it binds a client to HTTP and \
             timer trigger functions only",
        ));
    }
    if let Some(p) = params
        .iter()
        .find(|p| type_is(&p.ty, "OrchestrationContext"))
    {
        return Err(syn::Error::new_spanned(
            &p.ty,
            "an activity receives `ActivityContext`, not `OrchestrationContext` (that one \
             belongs to orchestrators)",
        ));
    }
    // Which parameter is which follows from position and type, never from a type's name: one
    // parameter is bound by its type (the context, or else the input); of two, the first is
    // the context (checked by a trait bound) and the second the input.
    let (takes_context, context_type, bound, input) = match params.as_slice() {
        [] => (false, None, None, None),
        [only] => (true, None, Some(only.ty.clone()), None),
        [first, second] => {
            if type_is(&second.ty, "ActivityContext") {
                return Err(syn::Error::new_spanned(
                    second.tokens(),
                    "the `ActivityContext` parameter comes first: \
                     `async fn NAME(ctx: ActivityContext, input: T)`",
                ));
            }
            check_owned_input(&second.ty)?;
            (true, Some(first.ty.clone()), None, Some(second.ty.clone()))
        }
        _ => {
            return Err(syn::Error::new_spanned(
                params[2].tokens(),
                "an activity takes at most two parameters: `ctx: ActivityContext` and one \
                 input; pass several values as a tuple or a struct",
            ))
        }
    };
    if let Some(ty) = &bound {
        if !type_is(ty, "ActivityContext") {
            check_owned_input(ty)?;
        }
    }
    let output = result_output(&func.sig, "an activity")?;
    let name = RegisteredName::new(name_override, &func.sig.ident)?;
    Ok(TypedFn {
        version: None,
        limits: Limits {
            max_concurrent,
            max_per_second,
        },
        kind: TypedKind::Activity,
        func,
        name,
        takes_context,
        context_type,
        bound,
        input,
        output,
    })
}
