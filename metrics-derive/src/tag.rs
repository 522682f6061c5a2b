//! `#[derive(Tag)]`: parse the enum, check names and values, expand `Tag`, `TagSet` and `FromStr`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::attr::{key_of, lit_str, set_once, unknown_key, Given};
use crate::ctxt::{with_fallback, Ctxt};
use metrics_rules::{check_label_name, escape_label_value, to_snake};

const ENUM_KEYS: &[&str] = &["name", "rename_all"];
const VARIANT_KEYS: &[&str] = &["value"];
const RENAME_RULES: &[&str] = &[
    "lowercase",
    "UPPERCASE",
    "snake_case",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
    "SCREAMING-KEBAB-CASE",
    "camelCase",
    "PascalCase",
];

struct Variant {
    ident: syn::Ident,
    value: String,
}

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = parse(&cx, input);
    let generic = !input.generics.params.is_empty();
    match (cx.check(), parsed) {
        (Ok(()), Some((name, variants))) => generate(input, &name, &variants, false),
        // No fallback for a generic enum: its impls could not name the type.
        (Err(e), Some((name, variants))) if !generic => with_fallback(e, generate(input, &name, &variants, true)),
        (Err(e), _) => with_fallback(e, TokenStream::new()),
        (Ok(()), None) => unreachable!("a failed parse always reports an error"),
    }
}

fn apply_rename(rule: &str, ident: &str) -> String {
    let snake = to_snake(ident);
    match rule {
        "lowercase" => ident.to_lowercase(),
        "UPPERCASE" => ident.to_uppercase(),
        "snake_case" => snake,
        "SCREAMING_SNAKE_CASE" => snake.to_uppercase(),
        "kebab-case" => snake.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => snake.replace('_', "-").to_uppercase(),
        "camelCase" => {
            let mut c = ident.chars();
            c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
        }
        _ => ident.to_owned(),
    }
}

fn parse(cx: &Ctxt, input: &DeriveInput) -> Option<(Given<String>, Vec<Variant>)> {
    let Data::Enum(data) = &input.data else {
        cx.error_spanned_by(
            &input.ident,
            "`Tag` can only be derived for a fieldless enum; each variant is one tag value",
        );
        return None;
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "a tag enum cannot be generic");
    }
    let mut name: Option<Given<String>> = None;
    let mut rename: Option<Given<String>> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("tag")) {
        let res = attr.parse_nested_meta(|meta| {
            match key_of(&meta).as_str() {
                "name" => {
                    let s = lit_str(&meta)?;
                    set_once(cx, &mut name, "name", s.value(), s.span(), meta.path.span());
                }
                "rename_all" => {
                    let s = lit_str(&meta)?;
                    if RENAME_RULES.contains(&s.value().as_str()) {
                        set_once(cx, &mut rename, "rename_all", s.value(), s.span(), meta.path.span());
                    } else {
                        let list = RENAME_RULES.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ");
                        cx.error_at(
                            s.span(),
                            format!("unknown `rename_all` rule `{}`; expected one of {list}", s.value()),
                        );
                    }
                }
                _ => unknown_key(cx, &meta, ENUM_KEYS)?,
            }
            Ok(())
        });
        if let Err(e) = res {
            cx.syn_error(e);
        }
    }
    let name = name.unwrap_or_else(|| Given { value: to_snake(&input.ident.to_string()), span: input.ident.span() });
    if let Err(msg) = check_label_name(&name.value) {
        cx.error_at(name.span, msg);
    }
    if data.variants.is_empty() {
        cx.error_spanned_by(&input.ident, "a tag needs at least one value; add a variant");
    }

    let mut variants: Vec<Variant> = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            cx.error_spanned_by(&v.fields, format!("tag values are unit variants; remove the fields of `{}`", v.ident));
        }
        let mut value: Option<Given<String>> = None;
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("tag")) {
            let res = attr.parse_nested_meta(|meta| {
                match key_of(&meta).as_str() {
                    "value" => {
                        let s = lit_str(&meta)?;
                        set_once(cx, &mut value, "value", s.value(), s.span(), meta.path.span());
                    }
                    _ => unknown_key(cx, &meta, VARIANT_KEYS)?,
                }
                Ok(())
            });
            if let Err(e) = res {
                cx.syn_error(e);
            }
        }
        let value = value.unwrap_or_else(|| {
            let rule = rename.as_ref().map_or("snake_case", |r| r.value.as_str());
            Given { value: apply_rename(rule, &v.ident.to_string()), span: v.ident.span() }
        });
        if value.value.is_empty() {
            cx.error_at(value.span, "tag value is empty; give a non-empty `value`");
        }
        if let Some(prev) = variants.iter().find(|p| !value.value.is_empty() && p.value == value.value) {
            cx.error_at(
                value.span,
                format!(
                    "tag value `{}` is also the value of `{}`; values must be unique",
                    value.value.escape_debug(),
                    prev.ident
                ),
            );
        }
        variants.push(Variant { ident: v.ident.clone(), value: value.value });
    }
    Some((name, variants))
}

/// With `fallback`, the impls only exist so that uses of the type do not add errors of their
/// own; they never construct a variant.
fn generate(input: &DeriveInput, name: &Given<String>, variants: &[Variant], fallback: bool) -> TokenStream {
    let ident = &input.ident;
    let name = &name.value;
    let count = variants.len();
    let values: Vec<&str> = variants.iter().map(|v| v.value.as_str()).collect();
    let escaped: Vec<String> = variants.iter().map(|v| escape_label_value(&v.value)).collect();
    let idents: Vec<&syn::Ident> = variants.iter().map(|v| &v.ident).collect();
    let indices: Vec<usize> = (0..count).collect();
    let label_prefix = format!("{name}=\"");
    // In fallback mode the set has no names, so that checks on them add no errors.
    let names = if fallback { quote!(&[]) } else { quote!(&[#name]) };
    let label_values = if fallback { quote!(&[]) } else { quote!(&[<Self as ::metrics_runtime::Tag>::ESCAPED]) };
    let from_index_arms = if fallback {
        quote!(_ => ::core::option::Option::None,)
    } else {
        quote! {
            #(#indices => ::core::option::Option::Some(Self::#idents),)*
            _ => ::core::option::Option::None,
        }
    };
    let from_str_arms =
        if fallback { quote!() } else { quote!(#(#values => ::core::result::Result::Ok(Self::#idents),)*) };
    quote! {
        const _: () = {
            #[automatically_derived]
            impl ::metrics_runtime::Tag for #ident {
                const NAME: &'static str = #name;
                const VALUES: &'static [&'static str] = &[#(#values),*];
                const ESCAPED: &'static [&'static str] = &[#(#escaped),*];

                #[inline(always)]
                #[allow(unreachable_patterns)]
                fn index(self) -> usize {
                    match self { #(Self::#idents { .. } => #indices,)* }
                }

                fn from_index(index: usize) -> ::core::option::Option<Self> {
                    match index { #from_index_arms }
                }

                #[allow(unreachable_patterns)]
                fn from_value(s: &str) -> ::core::result::Result<Self, ::metrics_runtime::ParseTagError> {
                    match s {
                        #from_str_arms
                        _ => ::core::result::Result::Err(::metrics_runtime::ParseTagError::new(
                            #name,
                            s,
                            <Self as ::metrics_runtime::Tag>::VALUES,
                        )),
                    }
                }
            }

            #[automatically_derived]
            // SAFETY: `index` is a variant position, below `CARDINALITY` (the variant count),
            // and `Array<V>` is `[V; CARDINALITY]`.
            unsafe impl ::metrics_runtime::TagSet for #ident {
                const CARDINALITY: usize = #count;
                const NAMES: &'static [&'static str] = #names;
                const LABEL_VALUES: &'static [&'static [&'static str]] = #label_values;
                type Array<V: ::metrics_runtime::ConstInit + ::core::marker::Send + ::core::marker::Sync> = [V; #count];

                #[inline(always)]
                fn index(self) -> usize {
                    <Self as ::metrics_runtime::Tag>::index(self)
                }

                fn from_index(index: usize) -> ::core::option::Option<Self> {
                    <Self as ::metrics_runtime::Tag>::from_index(index)
                }

                fn from_pairs(
                    pairs: &[(&str, &str)],
                ) -> ::core::result::Result<Self, ::metrics_runtime::TagSetError> {
                    let mut found: ::core::option::Option<Self> = ::core::option::Option::None;
                    for &(key, value) in pairs {
                        if key != #name {
                            return ::core::result::Result::Err(::metrics_runtime::TagSetError::UnknownTag {
                                name: ::std::borrow::ToOwned::to_owned(key),
                                allowed: <Self as ::metrics_runtime::TagSet>::NAMES,
                            });
                        }
                        if found.is_some() {
                            return ::core::result::Result::Err(::metrics_runtime::TagSetError::RepeatedTag { name: #name });
                        }
                        match <Self as ::metrics_runtime::Tag>::from_value(value) {
                            ::core::result::Result::Ok(v) => found = ::core::option::Option::Some(v),
                            ::core::result::Result::Err(e) => {
                                return ::core::result::Result::Err(::metrics_runtime::TagSetError::InvalidValue(e))
                            }
                        }
                    }
                    match found {
                        ::core::option::Option::Some(v) => ::core::result::Result::Ok(v),
                        ::core::option::Option::None => {
                            ::core::result::Result::Err(::metrics_runtime::TagSetError::MissingTag { name: #name })
                        }
                    }
                }

                fn label_value(index: usize, _label: usize) -> &'static str {
                    match <Self as ::metrics_runtime::Tag>::VALUES.get(index) {
                        ::core::option::Option::Some(v) => v,
                        ::core::option::Option::None => "",
                    }
                }

                fn write_labels(index: usize, out: &mut ::std::string::String) {
                    out.push_str(#label_prefix);
                    out.push_str(<Self as ::metrics_runtime::Tag>::ESCAPED[index]);
                    out.push('"');
                }
            }

            #[automatically_derived]
            impl ::core::str::FromStr for #ident {
                type Err = ::metrics_runtime::ParseTagError;

                fn from_str(s: &str) -> ::core::result::Result<Self, <Self as ::core::str::FromStr>::Err> {
                    <Self as ::metrics_runtime::Tag>::from_value(s)
                }
            }
        };
    }
}
