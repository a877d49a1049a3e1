//! Entities: the item stays as written; a registration next to it wraps it in an
//! `EntityFn`. A struct-style entity dispatches on the operation name (case-insensitive),
//! loads the state (or `Default`), calls the method, saves the state after `&mut self`
//! methods, and returns the method's value as the result. `delete` deletes the state unless
//! the type defines its own.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::registration::registration;
use crate::ast::entity::{EntityItem, Operation, Returns};

/// The item and its registration.
pub fn generate(entity: &EntityItem) -> TokenStream {
    match entity {
        EntityItem::Function { func, name } => {
            let ident = &func.sig.ident;
            let make = quote! {
                ::durable::app::FunctionKind::Entity(::durable::engine::entity::entity_fn(
                    |__ctx: &mut ::durable::engine::entity::EntityContext| {
                        ::core::result::Result::map_err(
                            #ident(__ctx),
                            ::core::convert::Into::<::durable::Failure>::into,
                        )
                    },
                ))
            };
            let register = registration(name, make);
            quote! {
                #func

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
                ::durable::app::FunctionKind::Entity(::durable::engine::entity::entity_fn(
                    |__ctx: &mut ::durable::engine::entity::EntityContext| {
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
            quote! {
                #item

                impl #self_ty {
                    /// The entity name this type is registered under (lower-cased).
                    pub const ENTITY_NAME: &'static str = #entity_name;

                    /// The id of the entity of this type with `key`.
                    pub fn entity_id(
                        key: &str,
                    ) -> ::core::result::Result<
                        ::durable::engine::entity::EntityId,
                        ::durable::engine::entity::EntityIdError,
                    > {
                        ::durable::engine::entity::EntityId::new(#entity_name, key)
                    }
                }

                const _: () = { #register };
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
