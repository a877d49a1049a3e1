//! Entities: the item stays as written; a registration next to it wraps it in an
//! `EntityFn`. A struct-style entity dispatches on the operation name (case-insensitive),
//! loads the state (or `Default`), calls the method, saves the state after `&mut self`
//! methods, and returns the method's value as the result. `delete` deletes the state unless
//! the type defines its own.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::checks::param_is;
use super::registration::registration;
use crate::ast::entity::{EntityItem, Operation, Returns};

/// The item and its registration.
pub fn generate(entity: &EntityItem) -> TokenStream {
    match entity {
        EntityItem::Function { func, name } => {
            let ident = &func.sig.ident;
            let make = quote! {
                ::durable::__private::FunctionKind::Entity(::durable::__private::entity_fn(
                    |__ctx: &mut ::durable::__private::EntityContext| {
                        ::core::result::Result::map_err(
                            #ident(__ctx),
                            ::core::convert::Into::<::durable::Failure>::into,
                        )
                    },
                ))
            };
            let register = registration(name, make);
            let check = match func.sig.inputs.first() {
                Some(syn::FnArg::Typed(p)) => param_is("EntityContextParam", &p.ty),
                _ => TokenStream::new(),
            };
            quote! {
                #func

                #check

                const _: () = { #register };
            }
        }
        EntityItem::Struct {
            item,
            self_ty,
            name,
            operations,
        } => {
            let arms = operations.iter().map(|op| arm(self_ty, op));
            let has_delete = operations.iter().any(|op| op.ident == "delete");
            let delete = (!has_delete).then(|| {
                quote! {
                    "delete" => {
                        __ctx.delete_state();
                        return ::core::result::Result::Ok(());
                    }
                }
            });
            let entity_name = name.value.to_lowercase();
            let make = quote! {
                ::durable::__private::FunctionKind::Entity(::durable::__private::entity_fn(
                    |__ctx: &mut ::durable::__private::EntityContext| {
                        let __op = __ctx.operation_name().to_ascii_lowercase();
                        match __op.as_str() {
                            #(#arms)*
                            #delete
                            __other => ::core::result::Result::Err(::durable::Failure::new(
                                "UnknownOperation",
                                ::std::format!(
                                    "entity {:?} has no operation {:?}",
                                    #entity_name,
                                    __other
                                ),
                            )),
                        }
                    },
                ))
            };
            let register = registration(name, make);
            let proxy = proxy(self_ty, operations);
            let checks = operations
                .iter()
                .filter_map(|op| op.context_type.as_ref())
                .map(|ty| param_is("EntityContextParam", ty));
            quote! {
                #item

                impl #self_ty {
                    /// The entity name this type is registered under (lower-cased).
                    pub const ENTITY_NAME: &'static str = #entity_name;

                    /// The id of the entity of this type with `key`. A key that cannot
                    /// identify an entity (see `EntityId::validate`) fails the call, signal
                    /// or lock that uses the id.
                    pub fn entity_id(key: &str) -> ::durable::EntityId {
                        ::durable::EntityId {
                            name: ::std::string::String::from(#entity_name),
                            key: ::std::string::String::from(key),
                        }
                    }
                }

                #proxy

                #(#checks)*

                const _: () = { #register };
            }
        }
    }
}

/// `{Type}Proxy`: typed calls and signals to entities of the type from an orchestration,
/// one method per operation, its input and result types checked at compile time.
fn proxy(self_ty: &syn::Type, operations: &[Operation]) -> TokenStream {
    let type_name = match self_ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    }
    .expect("the parser accepts only named state types");
    let proxy = quote::format_ident!("{}Proxy", type_name);
    let doc = format!(
        "Typed calls to `{type_name}` entities from an orchestration: \
         `{type_name}::proxy(&ctx, key).operation(input).await`."
    );
    let methods = operations.iter().map(|op| {
        let ident = &op.ident;
        let signal = quote::format_ident!("signal_{}", ident);
        let key = ident.to_string().to_ascii_lowercase();
        let output = &op.output;
        let (param, input) = match &op.input {
            Some(ty) => (quote!(input: #ty), quote!(&input)),
            None => (quote!(), quote!(&())),
        };
        let call_doc = format!("Calls `{key}` and waits for its result.");
        let signal_doc = format!("Signals `{key}` (one-way).");
        quote! {
            #[doc = #call_doc]
            pub fn #ident(&self, #param) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::durable::TaskError>,
            > + ::core::marker::Send + 'static {
                self.ctx.call_entity(&self.id, #key, #input)
            }

            #[doc = #signal_doc]
            pub fn #signal(&self, #param) {
                self.ctx.signal_entity(&self.id, #key, #input)
            }
        }
    });
    quote! {
        #[doc = #doc]
        pub struct #proxy<'__ctx> {
            ctx: &'__ctx ::durable::OrchestrationContext,
            id: ::durable::EntityId,
        }

        #[allow(private_interfaces)]
        impl<'__ctx> #proxy<'__ctx> {
            /// The entity this proxy calls.
            pub fn id(&self) -> &::durable::EntityId {
                &self.id
            }

            #(#methods)*
        }

        impl #self_ty {
            /// Typed calls to the entity of this type with `key`, from the orchestration `ctx`.
            pub fn proxy<'__ctx>(
                ctx: &'__ctx ::durable::OrchestrationContext,
                key: &str,
            ) -> #proxy<'__ctx> {
                #proxy {
                    ctx,
                    id: Self::entity_id(key),
                }
            }
        }
    }
}

/// The `match` arm of one operation.
fn arm(self_ty: &syn::Type, op: &Operation) -> TokenStream {
    let ident = &op.ident;
    let key = ident.to_string().to_ascii_lowercase();
    let mut args = Vec::new();
    if op.takes_context {
        args.push(quote!(__ctx));
    }
    let input = op.input.as_ref().map(|ty| {
        args.push(quote!(__input));
        quote_spanned! {ty.span()=> let __input: #ty = __ctx.get_input()?; }
    });
    let state_ref = if op.mutates {
        quote!(&mut __state)
    } else {
        quote!(&__state)
    };
    let call = quote!(#self_ty::#ident(#state_ref, #(#args),*));
    let result = match op.returns {
        Returns::Unit => quote! { #call; },
        Returns::Value => quote! {
            let __value = #call;
            __ctx.set_result(&__value)?;
        },
        Returns::Result => quote! {
            let __value = ::core::result::Result::map_err(
                #call,
                ::core::convert::Into::<::durable::Failure>::into,
            )?;
            __ctx.set_result(&__value)?;
        },
    };
    let save = op.mutates.then(|| quote! { __ctx.set_state(&__state)?; });
    quote! {
        #key => {
            #input
            let mut __state: #self_ty = __ctx.get_state(<#self_ty as ::core::default::Default>::default)?;
            #result
            #save
            ::core::result::Result::Ok(())
        }
    }
}
