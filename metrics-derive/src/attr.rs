//! Attribute parsing shared by the derives: keys, duplicates, "did you mean", doc comments.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;

use crate::ctxt::Ctxt;
use metrics_rules::did_you_mean;

/// A value given by an attribute key, with the span to blame.
pub(crate) struct Given<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// Sets a key once; a second occurrence is an error on the second key (`key_span`).
pub(crate) fn set_once<T>(cx: &Ctxt, slot: &mut Option<Given<T>>, key: &str, value: T, span: Span, key_span: Span) {
    if slot.is_some() {
        cx.error_at(key_span, format!("duplicate key `{key}`; give it once"));
    } else {
        *slot = Some(Given { value, span });
    }
}

/// Reports an unknown key with the valid ones and a hint, then skips its value so that parsing
/// goes on and later keys are checked too.
pub(crate) fn unknown_key(cx: &Ctxt, meta: &ParseNestedMeta<'_>, valid: &[&str]) -> syn::Result<()> {
    let key = meta
        .path
        .get_ident()
        .map(|i| i.to_string())
        .unwrap_or_else(|| quote::ToTokens::to_token_stream(&meta.path).to_string());
    let message = match valid {
        [only] => format!("unknown key `{key}`; expected `{only}`"),
        _ => {
            let list = valid.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            let hint = did_you_mean(&key, valid).map(|k| format!("; did you mean `{k}`?")).unwrap_or_default();
            format!("unknown key `{key}`; expected one of {list}{hint}")
        }
    };
    cx.error_at(meta.path.span(), message);
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

/// Reports a helper attribute that the derive does not read where it was written.
pub(crate) fn misplaced(cx: &Ctxt, attrs: &[syn::Attribute], name: &str, message: &str) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
        cx.error_spanned_by(attr, message);
    }
}

/// The key of a nested meta item as a string.
pub(crate) fn key_of(meta: &ParseNestedMeta<'_>) -> String {
    meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default()
}

/// Parses `key = "string"`.
pub(crate) fn lit_str(meta: &ParseNestedMeta<'_>) -> syn::Result<syn::LitStr> {
    meta.value()?.parse()
}

/// The doc comment of an item, lines trimmed and joined with spaces, or `None` if absent/empty.
pub(crate) fn doc_text(attrs: &[syn::Attribute]) -> Option<(String, Span)> {
    let mut lines = Vec::new();
    let mut span = None;
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                span.get_or_insert(attr.span());
                lines.push(s.value().trim().to_owned());
            }
        }
    }
    let text = lines.into_iter().filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        None
    } else {
        Some((text, span.unwrap_or_else(Span::call_site)))
    }
}

/// Parses a number literal, optionally negated, as `f64`.
pub(crate) fn number(expr: &syn::Expr) -> syn::Result<f64> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Float(f), .. }) => f.base10_parse::<f64>(),
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => i.base10_parse::<f64>(),
        syn::Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => number(expr).map(|v| -v),
        syn::Expr::Group(g) => number(&g.expr),
        syn::Expr::Paren(p) => number(&p.expr),
        other => Err(syn::Error::new_spanned(other, "expected a number literal")),
    }
}

/// A number from an attribute, with its span and its text as written.
pub(crate) struct Number {
    pub(crate) value: f64,
    pub(crate) span: Span,
    pub(crate) text: String,
}

/// Parses `key = [n, n, ...]` into numbers with their spans and text.
pub(crate) fn number_list(meta: &ParseNestedMeta<'_>) -> syn::Result<(Vec<Number>, Span)> {
    let array: syn::ExprArray = meta.value()?.parse()?;
    let mut out = Vec::with_capacity(array.elems.len());
    for elem in &array.elems {
        let text = quote::ToTokens::to_token_stream(elem).to_string().replace(' ', "");
        out.push(Number { value: number(elem)?, span: elem.span(), text });
    }
    Ok((out, array.span()))
}

/// Parses `key = 123` into a `u64`.
pub(crate) fn int(meta: &ParseNestedMeta<'_>) -> syn::Result<(u64, Span)> {
    let lit: syn::LitInt = meta.value()?.parse()?;
    Ok((lit.base10_parse::<u64>()?, lit.span()))
}
