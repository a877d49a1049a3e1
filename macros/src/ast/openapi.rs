//! The OpenAPI arguments of `#[http_trigger]`: `operation_id`, `summary`, `tags`, `query`,
//! `request_body`, `response_body`, `responses` and `starts_orchestration`, and the function's
//! doc comment as the operation's description.

use std::collections::BTreeSet;

use proc_macro2::Span;
use syn::parse::ParseStream;
#[cfg(test)]
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitInt, LitStr, Token, Type};

use crate::args::Args;

/// The argument names this module takes.
pub const ACCEPTED: &[&str] = &[
    "operation_id",
    "summary",
    "tags",
    "query",
    "request_body",
    "response_body",
    "responses",
    "starts_orchestration",
];

/// What an answer's body holds.
pub enum AnswerBody {
    /// `()`: nothing.
    Empty,
    /// A bare status: the host's error body `{"Message": "..."}`.
    Error,
    /// JSON of this type.
    Json(Box<Type>),
}

/// One documented answer.
pub struct Answer {
    /// Its status.
    pub status: u16,
    /// Its body.
    pub body: AnswerBody,
}

/// The OpenAPI description of one HTTP function.
pub struct OperationDoc {
    /// `operation_id = "..."` (default: the function name).
    pub operation_id: Option<LitStr>,
    /// `summary = "..."`.
    pub summary: Option<String>,
    /// The doc comment.
    pub description: Option<String>,
    /// `tags = [...]`.
    pub tags: Vec<String>,
    /// `query = T`.
    pub query: Option<Type>,
    /// `request_body = T` (`Option<T>`: the body may be empty), and whether it is required.
    pub request_body: Option<(Type, bool)>,
    /// `response_body = T` and `responses = [...]`.
    pub answers: Vec<Answer>,
    /// `starts_orchestration = true`.
    pub starts_orchestration: bool,
}

/// Takes the OpenAPI arguments from `args` and the description from `attrs`.
pub fn parse(args: &mut Args, attrs: &[Attribute]) -> syn::Result<OperationDoc> {
    let operation_id = args.take_str("operation_id", "\"getOrder\"")?;
    if let Some(id) = &operation_id {
        check_operation_id(id)?;
    }
    let summary = args.take_str("summary", "\"Reads an order\"")?;
    if let Some(s) = &summary {
        if s.value().trim().is_empty() {
            return Err(syn::Error::new(s.span(), "the summary cannot be empty"));
        }
    }
    let mut tags = Vec::new();
    for tag in args
        .take_str_list("tags", "[\"orders\"]")?
        .unwrap_or_default()
    {
        if tag.value().trim().is_empty() {
            return Err(syn::Error::new(tag.span(), "a tag cannot be empty"));
        }
        if tags.contains(&tag.value()) {
            return Err(syn::Error::new(
                tag.span(),
                format!("tag {:?} is listed twice", tag.value()),
            ));
        }
        tags.push(tag.value());
    }
    let query = args.take_type("query", "OrderQuery")?;
    let request_body = args
        .take_type("request_body", "Order")?
        .map(|ty| match option_inner(&ty) {
            Some(inner) => (inner, false),
            None => (ty, true),
        });
    let response_body = args.take_type("response_body", "Order")?;
    let listed = args
        .take_bracketed(
            "responses",
            "[404, (201, Order), (204, ())]",
            Punctuated::<Listed, Token![,]>::parse_terminated,
        )?
        .unwrap_or_default();
    let starts_orchestration = args
        .take_bool("starts_orchestration")?
        .map(|b| (b.value, b.span()));

    let mut answers = Vec::new();
    let mut seen = BTreeSet::new();
    let body_given = response_body.is_some();
    if let Some(ty) = response_body {
        seen.insert(200);
        answers.push(Answer {
            status: 200,
            body: json_or_empty(ty),
        });
    }
    for Listed { status, span, body } in listed {
        if !seen.insert(status) {
            let why = if status == 200 && body_given {
                "status 200 is given twice: by `response_body` and in `responses`".to_string()
            } else {
                format!("status {status} is listed twice")
            };
            return Err(syn::Error::new(span, why));
        }
        if status == 202 && starts_orchestration.is_some_and(|(on, _)| on) {
            return Err(syn::Error::new(
                span,
                "`starts_orchestration = true` already describes the 202 answer (the \
                 check-status response); remove 202 from `responses`",
            ));
        }
        answers.push(Answer { status, body });
    }
    Ok(OperationDoc {
        operation_id,
        summary: summary.map(|s| s.value()),
        description: description(attrs),
        tags,
        query,
        request_body,
        answers,
        starts_orchestration: starts_orchestration.is_some_and(|(on, _)| on),
    })
}

/// One element of `responses = [...]`: `404` or `(200, T)`.
struct Listed {
    status: u16,
    span: Span,
    body: AnswerBody,
}

impl syn::parse::Parse for Listed {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let (status, span) = status(&content)?;
            content.parse::<Token![,]>().map_err(|_| {
                syn::Error::new(span, "write `(STATUS, Type)`, e.g. `(200, Order)`")
            })?;
            let ty: Type = content.parse()?;
            if !content.is_empty() {
                return Err(content.error("expected `)` after the type"));
            }
            return Ok(Listed {
                status,
                span,
                body: json_or_empty(ty),
            });
        }
        let (status, span) = status(input)?;
        Ok(Listed {
            status,
            span,
            body: AnswerBody::Error,
        })
    }
}

fn status(input: ParseStream) -> syn::Result<(u16, Span)> {
    let wrong = |span| {
        syn::Error::new(
            span,
            "`responses` lists statuses (`404`: an error with the host's `{\"Message\": ...}` \
             body) or `(STATUS, Type)` pairs (`(200, Order)`, `(204, ())` for no body)",
        )
    };
    let expr: Expr = input.parse().map_err(|e| wrong(e.span()))?;
    let Expr::Lit(ExprLit {
        lit: Lit::Int(n), ..
    }) = &expr
    else {
        return Err(wrong(expr.span()));
    };
    check_status(n).map(|s| (s, n.span()))
}

fn check_status(n: &LitInt) -> syn::Result<u16> {
    match n.base10_parse::<u16>() {
        Ok(s) if (100..=599).contains(&s) => Ok(s),
        _ => Err(syn::Error::new(
            n.span(),
            "an HTTP status is a number from 100 to 599",
        )),
    }
}

fn json_or_empty(ty: Type) -> AnswerBody {
    match &ty {
        Type::Tuple(t) if t.elems.is_empty() => AnswerBody::Empty,
        _ => AnswerBody::Json(Box::new(ty)),
    }
}

/// `T` of `Option<T>` (written as `Option`, `std::option::Option` or `core::option::Option`).
fn option_inner(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner.clone()),
        _ => None,
    }
}

/// Letters, digits, `_`, `-` and `.`: what code generators turn into method names.
fn check_operation_id(id: &LitStr) -> syn::Result<()> {
    let value = id.value();
    let ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new(
            id.span(),
            format!(
                "invalid operation id {value:?}: start with an ASCII letter and use only \
                 letters, digits, `_`, `-` and `.`"
            ),
        ))
    }
}

/// The doc comment, without the one space after `///` and the blank lines around it.
fn description(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|text| {
            // `split`, not `lines`: an empty `///` line is a paragraph break to keep.
            text.split('\n')
                .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let text = lines.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// Parses a `responses` list, for tests.
#[cfg(test)]
fn listed(tokens: proc_macro2::TokenStream) -> syn::Result<Vec<(u16, &'static str)>> {
    let list = Punctuated::<Listed, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(list
        .into_iter()
        .map(|l| {
            let kind = match l.body {
                AnswerBody::Empty => "empty",
                AnswerBody::Error => "error",
                AnswerBody::Json(_) => "json",
            };
            (l.status, kind)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn responses_are_statuses_or_pairs() {
        assert_eq!(
            listed(quote!(404, (200, Vec<Order>), (204, ()), (201, HashMap<String, u32>))).unwrap(),
            [(404, "error"), (200, "json"), (204, "empty"), (201, "json")]
        );
        assert!(listed(quote!(99)).is_err());
        assert!(listed(quote!("404")).is_err());
        assert!(listed(quote!((200))).is_err());
        assert!(listed(quote!((200, Order, x))).is_err());
    }

    #[test]
    fn option_bodies_are_not_required() {
        let ty: Type = syn::parse_quote!(Option<Vec<u8>>);
        assert!(option_inner(&ty).is_some());
        let ty: Type = syn::parse_quote!(Options);
        assert!(option_inner(&ty).is_none());
    }

    #[test]
    fn the_doc_comment_is_the_description() {
        let attrs: Vec<Attribute> = vec![
            syn::parse_quote!(#[doc = " Starts an order."]),
            syn::parse_quote!(#[doc = ""]),
            syn::parse_quote!(#[doc = " Second paragraph."]),
            syn::parse_quote!(#[allow(unused)]),
        ];
        assert_eq!(
            description(&attrs).as_deref(),
            Some("Starts an order.\n\nSecond paragraph.")
        );
        assert_eq!(description(&[]), None);
    }
}
