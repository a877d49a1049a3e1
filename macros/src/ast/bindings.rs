//! Parameters of HTTP and timer functions: the trigger's value (`HttpRequest`, `TimerInfo`)
//! and, optionally, a `#[durable_client] client: DurableClient`, in any order.

use syn::{Attribute, Signature, Type};

use super::params::take_params;
use super::signature::{display, params_span, type_is};

/// What the host passes for one parameter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The trigger's value: the request or the timer info.
    Trigger,
    /// The `#[durable_client]` client.
    Client,
}

/// A trigger kind's parameter rules.
pub struct TriggerParam {
    /// The trigger's value type (`HttpRequest`), for messages; the type itself is checked by
    /// a trait bound in the expansion, so aliases work.
    pub type_name: &'static str,
    /// That trait bound, in `durable::__private` (`HttpRequestParam`).
    pub bound: &'static str,
    /// The parameter as the user should write it (`req: HttpRequest`).
    pub example: &'static str,
    /// The kind of function, for messages (`an HTTP function`).
    pub what: &'static str,
}

/// The bound parameters in declaration order, and the client marker as written.
pub struct Bindings {
    /// One entry per parameter.
    pub params: Vec<Binding>,
    /// The `#[durable_client]` attribute, if a parameter has one.
    pub client_marker: Option<Attribute>,
    /// The types as written of the parameters, for the expansion's checks.
    pub types: Vec<Type>,
    /// The trait bound the trigger parameter's type must meet.
    pub trigger_bound: &'static str,
}

impl Bindings {
    /// Whether the function takes the client.
    pub fn takes_client(&self) -> bool {
        self.client_marker.is_some()
    }
}

/// Reads the parameters (stripping `#[durable_client]`) and checks them against `rule`.
pub fn parse(sig: &mut Signature, rule: &TriggerParam) -> syn::Result<Bindings> {
    let TriggerParam {
        type_name,
        example,
        what,
        ..
    } = rule;
    let shape = format!("`{example}` and optionally `#[durable_client] client: DurableClient`");
    let params = take_params(sig)?;
    let mut out = Bindings {
        params: Vec::new(),
        client_marker: None,
        types: Vec::new(),
        trigger_bound: rule.bound,
    };
    for p in params {
        out.types.push(p.ty.clone());
        if let Some(marker) = p.client_marker {
            if out.client_marker.is_some() {
                return Err(syn::Error::new_spanned(
                    &marker,
                    format!("{what} takes at most one #[durable_client] parameter"),
                ));
            }
            out.client_marker = Some(marker);
            out.params.push(Binding::Client);
        } else if type_is(&p.ty, "DurableClient") {
            return Err(syn::Error::new_spanned(
                p.tokens(),
                format!(
                    "mark the client parameter with #[durable_client]: \
                     `#[durable_client] {}`",
                    display(&p.tokens())
                ),
            ));
        } else if out.params.contains(&Binding::Trigger) {
            return Err(syn::Error::new_spanned(
                p.tokens(),
                format!(
                    "unexpected parameter `{}`: {what} takes {shape}",
                    display(&p.tokens())
                ),
            ));
        } else {
            out.params.push(Binding::Trigger);
        }
    }
    if !out.params.contains(&Binding::Trigger) {
        return Err(syn::Error::new(
            params_span(sig),
            format!("{what} takes {shape}; the `{type_name}` parameter is missing"),
        ));
    }
    Ok(out)
}
