//! The name a function is registered under, and the crate-wide item that makes two functions
//! with the same name a compile error.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::ext::IdentExt;
use syn::{Ident, LitStr};

/// Longest accepted function name (the Azure Functions limit).
const MAX_LEN: usize = 128;

/// A function's registered name with the span of the code that chose it: the `name = "..."`
/// literal when overridden, else the function's identifier.
pub struct RegisteredName {
    /// The name, as the host and the HTTP API see it.
    pub value: String,
    /// Where the user wrote it.
    pub span: Span,
}

impl RegisteredName {
    /// The override if given, else the Rust function name; checks the characters.
    pub fn new(override_name: Option<LitStr>, ident: &Ident) -> syn::Result<Self> {
        let (value, span, from_ident) = match override_name {
            Some(lit) => (lit.value(), lit.span(), false),
            None => (ident.unraw().to_string(), ident.span(), true),
        };
        if let Some(problem) = problem_with(&value) {
            let hint = if from_ident {
                "; choose another with `name = \"...\"`"
            } else {
                ""
            };
            return Err(syn::Error::new(
                span,
                format!("invalid function name {value:?}: {problem}{hint}"),
            ));
        }
        Ok(RegisteredName { value, span })
    }

    /// An item every function with this name (compared case-insensitively) defines in the
    /// crate's root macro namespace, so a second one fails to compile with "the name ... is
    /// defined multiple times", pointing at both functions' names.
    ///
    /// `#[macro_export]` puts a `macro_rules!` at the crate root wherever it is written, and
    /// name resolution reports the clash, so this works under `cargo check` and needs no
    /// linker (unlike an exported symbol, which only clashes at code generation).
    ///
    /// An orchestrator registered for a version has a guard of its own per name and version,
    /// so one name may have several versions but not two implementations of one version.
    pub fn duplicate_guard(&self, version: Option<&str>) -> TokenStream {
        let name = match version {
            None => guard_name(&self.value),
            Some(v) => version_guard_name(&self.value, v),
        };
        let guard = Ident::new(&name, self.span);
        quote_spanned! {self.span=>
            #[doc(hidden)]
            #[macro_export]
            macro_rules! #guard {
                () => {};
            }
        }
    }
}

/// An item every HTTP function with this operation id (compared case-insensitively) defines,
/// as [`RegisteredName::duplicate_guard`] does for names: two operations of one id in the
/// OpenAPI document do not compile.
pub fn operation_id_guard(id: &str, span: Span) -> TokenStream {
    let guard = Ident::new(&format!("durable_operation_id_{}", escape(id)), span);
    quote_spanned! {span=>
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #guard {
            () => {};
        }
    }
}

/// What is wrong with a function name, if anything (letters, digits, `_` and `-`, starting
/// with a letter: names appear in URLs and in the task hub).
fn problem_with(name: &str) -> Option<&'static str> {
    let Some(first) = name.chars().next() else {
        return Some("a function name cannot be empty");
    };
    if !first.is_ascii_alphabetic() {
        return Some("a function name must start with an ASCII letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some("a function name may contain only ASCII letters, digits, `_` and `-`");
    }
    if name.len() > MAX_LEN {
        return Some("a function name may be at most 128 characters long");
    }
    None
}

/// The guard's identifier: one per case-insensitive name, distinct for distinct names.
///
/// Names without `-` read as themselves (`durable_function_named_say_hello`); names with `-`
/// take another prefix and escape `_` and `-`, so `a-b` and `a_b` stay apart.
fn guard_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if !lower.contains('-') {
        return format!("durable_function_named_{lower}");
    }
    let mut out = String::from("durable_function_hyphenated_");
    for c in lower.chars() {
        match c {
            '_' => out.push_str("_u"),
            '-' => out.push_str("_h"),
            c => out.push(c),
        }
    }
    out
}

/// The guard of one version of an orchestrator: name and version, lower-cased, with every
/// character but ASCII letters and digits written as `_` and its hex code and `_`, joined by
/// `_V_` (which no escaped text contains).
fn version_guard_name(name: &str, version: &str) -> String {
    format!(
        "durable_orchestration_version_{}_V_{}",
        escape(name),
        escape(version)
    )
}

/// `text` lower-cased, with every character but ASCII letters and digits written as `_`, its
/// hex code and `_`: an identifier's tail that keeps distinct texts apart.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push_str(&format!("_{:x}_", c as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_name_is_rejected() {
        assert!(problem_with("").is_some());
        assert!(RegisteredName::new(
            Some(LitStr::new("", Span::call_site())),
            &Ident::new("f", Span::call_site())
        )
        .is_err());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(problem_with("say_hello-2"), None);
        assert!(problem_with("_x").is_some());
        assert!(problem_with("9x").is_some());
        assert!(problem_with("a b").is_some());
        assert!(problem_with("a/b").is_some());
        assert!(problem_with(&"a".repeat(129)).is_some());
    }

    #[test]
    fn guards_compare_case_insensitively_and_keep_distinct_names_apart() {
        assert_eq!(guard_name("Hello"), guard_name("hello"));
        assert_eq!(guard_name("say_hello"), "durable_function_named_say_hello");
        assert_ne!(guard_name("a-b"), guard_name("a_b"));
        assert_ne!(guard_name("a-_b"), guard_name("a_-b"));
        assert_ne!(guard_name("a-b"), guard_name("hyphenated_a_hb"));
    }

    #[test]
    fn version_guards_differ_by_version_and_ignore_case() {
        assert_eq!(
            version_guard_name("Order", "V2"),
            version_guard_name("order", "v2")
        );
        assert_ne!(
            version_guard_name("order", "1.0"),
            version_guard_name("order", "1_0")
        );
        assert_ne!(
            version_guard_name("a_V_b", "c"),
            version_guard_name("a", "b_V_c")
        );
        assert_ne!(version_guard_name("order", "2"), guard_name("order"));
    }
}
