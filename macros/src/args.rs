//! The `key = value, ...` argument list every trigger attribute takes.
//!
//! Parsing is generic (any key, any expression); each trigger then takes the keys it knows
//! with a typed getter and calls [`Args::finish`], which rejects whatever is left. That way
//! an unknown or misspelled key is reported at the key, with the list of keys that would work.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, ExprPath, Ident, Lit, LitBool, LitStr, Token, Type};

/// One `key = value` argument.
pub struct Arg {
    /// The key.
    pub key: Ident,
    /// The value, as written.
    pub value: Expr,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                key.span(),
                format!("expected `{key} = ...`: trigger arguments are written as `key = value`"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value = parse_value(input)?;
        Ok(Arg { key, value })
    }
}

/// A value: an expression or a type (`HashMap<String, u32>`, which as an expression would
/// end at its comma), whichever reads further up to a `,`, else one bracketed or
/// parenthesized group kept as written (`[404, (200, Vec<Report>)]`). Types and groups are
/// kept as [`Expr::Verbatim`], for [`Args::take_type`] and the getters that parse their own
/// syntax.
fn parse_value(input: ParseStream) -> syn::Result<Expr> {
    let ends = |fork: ParseStream| fork.is_empty() || fork.peek(Token![,]);
    let left = |fork: ParseStream| fork.cursor().token_stream().into_iter().count();
    let expr_fork = input.fork();
    let expr = expr_fork.parse::<Expr>().ok().filter(|_| ends(&expr_fork));
    let type_fork = input.fork();
    let ty = type_fork.parse::<Type>().ok().filter(|_| ends(&type_fork));
    match (expr, ty) {
        (Some(_), Some(ty)) if left(&type_fork) < left(&expr_fork) => {
            input.advance_to(&type_fork);
            return Ok(Expr::Verbatim(ty.into_token_stream()));
        }
        (Some(expr), _) => {
            input.advance_to(&expr_fork);
            return Ok(expr);
        }
        (None, Some(ty)) => {
            input.advance_to(&type_fork);
            return Ok(Expr::Verbatim(ty.into_token_stream()));
        }
        (None, None) => {}
    }
    let fork = input.fork();
    if let Ok(TokenTree::Group(group)) = fork.parse::<TokenTree>() {
        if ends(&fork) {
            input.advance_to(&fork);
            return Ok(Expr::Verbatim(TokenTree::Group(group).into_token_stream()));
        }
    }
    // None fits: report what is wrong as an expression.
    input.parse()
}

/// The arguments of one trigger attribute, not yet taken.
pub struct Args {
    /// The attribute's name, for messages (`http_trigger`).
    attribute: &'static str,
    entries: Vec<Arg>,
}

impl Args {
    /// Parses the tokens inside `#[attribute(...)]`; rejects a key given twice.
    pub fn parse(attribute: &'static str, tokens: TokenStream) -> syn::Result<Self> {
        let list = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens)?;
        let mut entries: Vec<Arg> = Vec::new();
        for arg in list {
            if entries.iter().any(|e| e.key == arg.key) {
                return Err(syn::Error::new(
                    arg.key.span(),
                    format!("`{}` is given twice", arg.key),
                ));
            }
            entries.push(arg);
        }
        Ok(Args { attribute, entries })
    }

    /// Removes and returns the argument `key`, if given.
    pub fn take(&mut self, key: &str) -> Option<Arg> {
        let at = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(at))
    }

    /// Takes `key = "..."`.
    pub fn take_str(&mut self, key: &str, example: &str) -> syn::Result<Option<LitStr>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        match arg.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(Some(s)),
            other => Err(syn::Error::new_spanned(
                other,
                format!("`{key}` takes a string literal, e.g. `{key} = {example}`"),
            )),
        }
    }

    /// Takes `key = true | false`.
    pub fn take_bool(&mut self, key: &str) -> syn::Result<Option<LitBool>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        match arg.value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(Some(b)),
            other => Err(syn::Error::new_spanned(
                other,
                format!("`{key}` takes `true` or `false`"),
            )),
        }
    }

    /// Takes `key = N`, a whole number of at least 1.
    pub fn take_count(&mut self, key: &str) -> syn::Result<Option<u32>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        let counted = match &arg.value {
            Expr::Lit(ExprLit {
                lit: Lit::Int(n), ..
            }) => n.base10_parse::<u32>().ok().filter(|n| *n >= 1),
            _ => None,
        };
        counted.map(Some).ok_or_else(|| {
            syn::Error::new_spanned(
                &arg.value,
                format!("`{key}` takes a whole number of at least 1, e.g. `{key} = 5`"),
            )
        })
    }

    /// Takes `key = N` or `key = N.N`, a number from `min` to `max`.
    pub fn take_number(&mut self, key: &str, min: f64, max: f64) -> syn::Result<Option<f64>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        let number = match &arg.value {
            Expr::Lit(ExprLit {
                lit: Lit::Int(n), ..
            }) => n.base10_parse::<f64>().ok(),
            Expr::Lit(ExprLit {
                lit: Lit::Float(n), ..
            }) => n.base10_parse::<f64>().ok(),
            _ => None,
        };
        number
            .filter(|n| n.is_finite() && (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| {
                syn::Error::new_spanned(
                    &arg.value,
                    format!("`{key}` takes a number from {min} to {max}, e.g. `{key} = 100`"),
                )
            })
    }

    /// Takes `key = ["a", "b"]`.
    pub fn take_str_list(&mut self, key: &str, example: &str) -> syn::Result<Option<Vec<LitStr>>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        let wrong = |tokens: &dyn quote::ToTokens| {
            syn::Error::new_spanned(
                tokens,
                format!("`{key}` takes a list of string literals, e.g. `{key} = {example}`"),
            )
        };
        let Expr::Array(ExprArray { elems, .. }) = &arg.value else {
            return Err(wrong(&arg.value));
        };
        elems
            .iter()
            .map(|e| match e {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Ok(s.clone()),
                other => Err(wrong(other)),
            })
            .collect::<syn::Result<Vec<_>>>()
            .map(Some)
    }

    /// Takes `key = word` (a bare identifier) or `key = "word"`; returns the word and its span.
    pub fn take_word(&mut self, key: &str, example: &str) -> syn::Result<Option<(String, Span)>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        match &arg.value {
            Expr::Path(ExprPath {
                path, qself: None, ..
            }) if path.get_ident().is_some() => {
                let ident = path.get_ident().expect("checked above");
                Ok(Some((ident.to_string(), ident.span())))
            }
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(Some((s.value(), s.span()))),
            other => Err(syn::Error::new(
                other.span(),
                format!("`{key}` takes a word, e.g. `{key} = {example}`"),
            )),
        }
    }

    /// Takes `key = Type`, e.g. `request_body = Vec<Order>`.
    pub fn take_type(&mut self, key: &str, example: &str) -> syn::Result<Option<Type>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        syn::parse2::<Type>(arg.value.to_token_stream())
            .map(Some)
            .map_err(|_| {
                syn::Error::new_spanned(
                    &arg.value,
                    format!("`{key}` takes a type, e.g. `{key} = {example}`"),
                )
            })
    }

    /// Takes `key = [...]` and parses what is inside the brackets with `parse`.
    pub fn take_bracketed<T>(
        &mut self,
        key: &str,
        example: &str,
        parse: impl Parser<Output = T>,
    ) -> syn::Result<Option<T>> {
        let Some(arg) = self.take(key) else {
            return Ok(None);
        };
        let wrong = || {
            syn::Error::new_spanned(
                &arg.value,
                format!("`{key}` takes a list, e.g. `{key} = {example}`"),
            )
        };
        let mut tokens = arg.value.to_token_stream().into_iter();
        let (Some(TokenTree::Group(group)), None) = (tokens.next(), tokens.next()) else {
            return Err(wrong());
        };
        if group.delimiter() != proc_macro2::Delimiter::Bracket {
            return Err(wrong());
        }
        parse.parse2(group.stream()).map(Some)
    }

    /// Fails on the first argument nobody took, naming the arguments the attribute accepts.
    pub fn finish(self, accepted: &[&str]) -> syn::Result<()> {
        let Some(arg) = self.entries.first() else {
            return Ok(());
        };
        let list = accepted
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(syn::Error::new(
            arg.key.span(),
            format!(
                "unknown argument `{}` for #[{}]; expected one of: {list}",
                arg.key, self.attribute
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn values(tokens: TokenStream) -> Vec<String> {
        let args = Args::parse("http_trigger", tokens).unwrap();
        args.entries
            .iter()
            .map(|a| a.value.to_token_stream().to_string())
            .collect()
    }

    #[test]
    fn values_are_expressions_types_or_groups() {
        assert_eq!(
            values(
                quote!(a = anonymous, b = HashMap<String, Vec<u8>>, c = [404, (200, Vec<X>)], d = 5)
            ),
            [
                "anonymous",
                "HashMap < String , Vec < u8 > >",
                "[404 , (200 , Vec < X >)]",
                "5"
            ]
        );
        assert!(Args::parse("http_trigger", quote!(a = 1 +)).is_err());
    }
}
