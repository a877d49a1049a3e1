//! `#[orchestration_trigger]`: `async fn NAME(ctx: OrchestrationContext[, input: I])
//! -> Result<O, E>`.

use proc_macro2::TokenStream;
use syn::{ItemFn, LitStr};

use super::params::take_params;
use super::signature::{check_owned_input, check_plain_async_fn, params_span, result_output};
use super::typed::{TypedFn, TypedKind};
use crate::args::Args;
use crate::names::RegisteredName;

const ATTRIBUTE: &str = "orchestration_trigger";
const SHAPE: &str = "`async fn NAME(ctx: OrchestrationContext, input: T) -> Result<O, E>` \
                     (the input is optional)";

/// Parses the attribute arguments and the function.
pub fn parse(args: TokenStream, mut func: ItemFn) -> syn::Result<TypedFn> {
    let mut args = Args::parse(ATTRIBUTE, args)?;
    let name_override = args.take_str("name", "\"my_orchestrator\"")?;
    let version = args.take_str("version", "\"2\"")?;
    args.finish(&["name", "version"])?;
    if let Some(v) = &version {
        check_version(v)?;
    }

    check_plain_async_fn(&func.sig, ATTRIBUTE)?;
    let params = take_params(&mut func.sig)?;
    if let Some(marker) = params.iter().find_map(|p| p.client_marker.as_ref()) {
        return Err(syn::Error::new_spanned(
            marker,
            "#[durable_client] cannot be used in an orchestrator: orchestrator code is replayed \
             and must be deterministic, and client calls are not. Use the context instead \
             (`ctx.call_sub_orchestrator`, `ctx.send_event`, ...), or call an activity that \
             uses the client",
        ));
    }
    let Some(first) = params.first() else {
        return Err(syn::Error::new(
            params_span(&func.sig),
            format!("an orchestrator takes the orchestration context: {SHAPE}"),
        ));
    };
    if let Some(extra) = params.get(2) {
        return Err(syn::Error::new_spanned(
            extra.tokens(),
            "an orchestrator takes at most two parameters, the context and one input; \
             pass several values as a tuple or a struct",
        ));
    }
    let input = params.get(1).map(|p| p.ty.clone());
    if let Some(ty) = &input {
        check_owned_input(ty)?;
    }
    let output = result_output(&func.sig, "an orchestrator")?;
    let name = RegisteredName::new(name_override, &func.sig.ident)?;
    Ok(TypedFn {
        version,
        limits: Default::default(),
        kind: TypedKind::Orchestration,
        func,
        name,
        takes_context: true,
        context_type: Some(first.ty.clone()),
        bound: None,
        input,
        output,
    })
}

/// A version is a non-empty string of printable ASCII without spaces (`"2"`, `"1.4.0"`,
/// `"2025-06-01"`).
fn check_version(v: &LitStr) -> syn::Result<()> {
    let text = v.value();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_graphic()) || text.len() > 100 {
        return Err(syn::Error::new(
            v.span(),
            "a version is 1 to 100 printable ASCII characters without spaces, e.g. \
             `version = \"2\"` or `version = \"1.4.0\"`",
        ));
    }
    Ok(())
}
