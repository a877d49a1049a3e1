//! The `key = value, ...` argument list every trigger attribute takes.
//!
//! Parsing is generic (any key, any expression); each trigger then takes the keys it knows
//! with a typed getter and calls [`Args::finish`], which rejects whatever is left. That way
//! an unknown or misspelled key is reported at the key, with the list of keys that would work.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, ExprPath, Ident, Lit, LitBool, LitStr, Token};

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
        let value: Expr = input.parse()?;
        Ok(Arg { key, value })
    }
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
