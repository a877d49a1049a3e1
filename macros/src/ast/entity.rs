//! `#[entity_trigger]`: a function-style entity `fn NAME(ctx: &mut EntityContext) ->
//! Result<(), E>`, or a struct-style entity `impl Type { pub fn op(&mut self, input: I) -> R }`.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemFn, ItemImpl, ReturnType, Type, Visibility};

use super::signature::result_ok_type;
use crate::args::Args;
use crate::names::RegisteredName;

const ATTRIBUTE: &str = "entity_trigger";

/// A checked entity.
pub enum EntityItem {
    /// `fn NAME(ctx: &mut EntityContext) -> Result<(), E>`.
    Function {
        /// The function, as written.
        func: ItemFn,
        /// The registered name.
        name: RegisteredName,
    },
    /// `impl Type { pub fn ... }`.
    Struct {
        /// The impl block, as written.
        item: ItemImpl,
        /// The state type.
        self_ty: Type,
        /// The registered name.
        name: RegisteredName,
        /// The operations: public methods with a `self` receiver.
        operations: Vec<Operation>,
    },
}

/// One operation of a struct-style entity.
pub struct Operation {
    /// The method.
    pub ident: syn::Ident,
    /// `&mut self` (the state is saved) or `&self` (read-only).
    pub mutates: bool,
    /// Takes `ctx: &mut EntityContext` before the input.
    pub takes_context: bool,
    /// That parameter's type as written (checked by a trait bound in the expansion).
    pub context_type: Option<Type>,
    /// The input type, if any.
    pub input: Option<Type>,
    /// What it returns.
    pub returns: Returns,
    /// The type of its result (`()` for none; `T` of a `Result<T, E>`).
    pub output: Type,
}

/// What an operation returns.
pub enum Returns {
    /// Nothing.
    Unit,
    /// A value (the result).
    Value,
    /// `Result<T, E>`: `T` is the result, `E` the failure.
    Result,
}

/// Parses the attribute arguments and the item (a function or an `impl` block).
pub fn parse(args: TokenStream, item: TokenStream) -> syn::Result<EntityItem> {
    let mut args = Args::parse(ATTRIBUTE, args)?;
    let name_override = args.take_str("name", "\"counter\"")?;
    args.finish(&["name"])?;
    if let Ok(func) = syn::parse2::<ItemFn>(item.clone()) {
        check_function(&func)?;
        let name = RegisteredName::new(name_override, &func.sig.ident)?;
        return Ok(EntityItem::Function { func, name });
    }
    let item: ItemImpl = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "#[entity_trigger] goes on a function `fn NAME(ctx: &mut EntityContext) -> \
             Result<(), Failure>` or on an `impl` block of the state type",
        )
    })?;
    if let Some((_, path, _)) = &item.trait_ {
        return Err(syn::Error::new_spanned(
            path,
            "#[entity_trigger] goes on an inherent `impl Type { ... }` block, not on a trait impl",
        ));
    }
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "an entity's state type cannot be generic",
        ));
    }
    let ident = match &*item.self_ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    }
    .ok_or_else(|| syn::Error::new_spanned(&item.self_ty, "expected a named state type"))?;
    let name = RegisteredName::new(name_override, &ident)?;
    let mut operations = Vec::new();
    for it in &item.items {
        if let ImplItem::Fn(m) = it {
            if matches!(m.vis, Visibility::Public(_)) && m.sig.receiver().is_some() {
                operations.push(operation(m)?);
            }
        }
    }
    if operations.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.self_ty,
            "an entity needs at least one operation: a `pub fn` taking `&self` or `&mut self`",
        ));
    }
    Ok(EntityItem::Struct {
        self_ty: (*item.self_ty).clone(),
        item,
        name,
        operations,
    })
}

fn check_function(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            a,
            "entity operations run synchronously, one at a time: remove `async`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "an entity function cannot be generic",
        ));
    }
    // The parameter's type is checked by a trait bound in the expansion, so an alias of
    // `EntityContext` works.
    let ok_param = sig.inputs.len() == 1 && matches!(sig.inputs.first(), Some(FnArg::Typed(_)));
    if !ok_param {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "an entity function takes one parameter: `ctx: &mut EntityContext`",
        ));
    }
    let ok_return = match &sig.output {
        ReturnType::Type(_, ty) => result_ok_type(ty).is_some_and(is_unit),
        ReturnType::Default => false,
    };
    if !ok_return {
        return Err(syn::Error::new(
            match &sig.output {
                ReturnType::Type(_, ty) => ty.span(),
                ReturnType::Default => sig.ident.span(),
            },
            "an entity function returns `Result<(), E>` with `E: Into<durable::Failure>`; \
             results go through `ctx.set_result(..)`",
        ));
    }
    Ok(())
}

fn operation(m: &ImplItemFn) -> syn::Result<Operation> {
    let sig = &m.sig;
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            a,
            "entity operations run synchronously, one at a time: remove `async`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "an entity operation cannot be generic",
        ));
    }
    let receiver = sig.receiver().expect("checked by the caller");
    if receiver.reference.is_none() {
        return Err(syn::Error::new_spanned(
            receiver,
            "an entity operation takes `&self` or `&mut self`",
        ));
    }
    let mutates = receiver.mutability.is_some();
    let mut params = sig.inputs.iter().skip(1).map(|a| match a {
        FnArg::Typed(p) => (*p.ty).clone(),
        FnArg::Receiver(_) => unreachable!("only the first argument is a receiver"),
    });
    let mut first = params.next();
    let takes_context = first.as_ref().is_some_and(is_mut_ref);
    let context_type = takes_context.then(|| first.clone()).flatten();
    if takes_context {
        first = params.next();
    }
    if let Some(extra) = params.next() {
        return Err(syn::Error::new_spanned(
            extra,
            "an entity operation takes at most one input (after an optional \
             `ctx: &mut EntityContext`); pass several values as a tuple or a struct",
        ));
    }
    if let Some(Type::Reference(r)) = &first {
        return Err(syn::Error::new_spanned(
            r,
            "an operation's input is deserialized: take it by value (e.g. `String`, not `&str`)",
        ));
    }
    let unit: Type = syn::parse_quote!(());
    let (returns, output) = match &sig.output {
        ReturnType::Default => (Returns::Unit, unit),
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Some(ok) => (Returns::Result, ok.clone()),
            None if is_unit(ty) => (Returns::Unit, unit),
            None => (Returns::Value, (**ty).clone()),
        },
    };
    Ok(Operation {
        ident: sig.ident.clone(),
        mutates,
        takes_context,
        context_type,
        input: first,
        returns,
        output,
    })
}

/// `&mut T`: the context parameter of an operation (inputs are taken by value, so a `&mut`
/// parameter can only be the context; its type is checked by the expansion).
fn is_mut_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if r.mutability.is_some())
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}
