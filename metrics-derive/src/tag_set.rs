//! `#[derive(TagSet)]`: a struct of tags; index arithmetic, label rendering and `from_pairs`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::attr::{key_of, lit_str, misplaced, set_once, unknown_key, Given};
use crate::ctxt::{with_fallback, Ctxt};
use metrics_rules::check_label_name;

const FIELD_KEYS: &[&str] = &["name"];

struct Field {
    ident: syn::Ident,
    ty: syn::Type,
    name: String,
}

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let fields = parse(&cx, input);
    match cx.check() {
        Ok(()) => generate(input, &fields),
        Err(e) => with_fallback(e, TokenStream::new()),
    }
}

fn parse(cx: &Ctxt, input: &DeriveInput) -> Vec<Field> {
    let Data::Struct(data) = &input.data else {
        cx.error_spanned_by(
            &input.ident,
            "`TagSet` can only be derived for a struct with named fields whose types derive `Tag`; for a single tag, derive `Tag` on the enum and use it directly",
        );
        return Vec::new();
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "a tag set cannot be generic");
    }
    misplaced(
        cx,
        &input.attrs,
        "tag",
        "`#[tag(..)]` on a tag set goes on its fields (`#[tag(name = \"..\")]`); value renaming goes on the tag enums",
    );
    let Fields::Named(named) = &data.fields else {
        cx.error_spanned_by(&input.ident, "a tag set needs named fields: the field names are the tag names");
        return Vec::new();
    };
    if named.named.is_empty() {
        cx.error_spanned_by(&input.ident, "a tag set needs at least one tag field; use `()` for a metric without tags");
    }
    let mut fields: Vec<Field> = Vec::new();
    for f in &named.named {
        let ident = f.ident.clone().expect("named field");
        let mut name: Option<Given<String>> = None;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("tag")) {
            let res = attr.parse_nested_meta(|meta| {
                match key_of(&meta).as_str() {
                    "name" => {
                        let s = lit_str(&meta)?;
                        set_once(cx, &mut name, "name", s.value(), s.span(), meta.path.span());
                    }
                    _ => unknown_key(cx, &meta, FIELD_KEYS)?,
                }
                Ok(())
            });
            if let Err(e) = res {
                cx.syn_error(e);
            }
        }
        let raw = ident.to_string();
        let name = name.unwrap_or_else(|| Given { value: raw.trim_start_matches("r#").to_owned(), span: ident.span() });
        if let Err(msg) = check_label_name(&name.value) {
            cx.error_at(name.span, msg);
        }
        if fields.iter().any(|p| p.name == name.value) {
            cx.error_at(name.span, format!("duplicate tag name `{}` in this set; rename one of them", name.value));
        }
        fields.push(Field { ident, ty: f.ty.clone(), name: name.value });
    }
    fields
}

fn generate(input: &DeriveInput, fields: &[Field]) -> TokenStream {
    let ident = &input.ident;
    let rt = quote!(::metrics_runtime);
    let n = fields.len();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let tys: Vec<&syn::Type> = fields.iter().map(|f| &f.ty).collect();
    let field_idents: Vec<&syn::Ident> = fields.iter().map(|f| &f.ident).collect();
    let digit_vars: Vec<syn::Ident> = (0..n).map(|i| format_ident!("d{}", i)).collect();
    let label_idx: Vec<usize> = (0..n).collect();
    let count = |ty: &syn::Type| quote!(<#ty as #rt::Tag>::VALUES.len());
    let counts: Vec<TokenStream> = tys.iter().map(|t| count(t)).collect();
    let overflow = format!("tag set `{ident}` has more combinations than `usize` can count; drop a tag or some values");
    let cardinality = quote!(__CARDINALITY);
    // Digits from the last field (fastest) to the first.
    let rev_digits: Vec<TokenStream> = (0..n)
        .rev()
        .map(|i| {
            let d = &digit_vars[i];
            let c = &counts[i];
            if i == 0 {
                quote! { let #d = rem; }
            } else {
                quote! { let #d = rem % #c; let rem = rem / #c; }
            }
        })
        .collect();
    let prefixes: Vec<String> =
        fields.iter().enumerate().map(|(i, f)| format!("{}{}=\"", if i == 0 { "" } else { "," }, f.name)).collect();
    let opt_vars: Vec<syn::Ident> = (0..n).map(|i| format_ident!("f{}", i)).collect();

    quote! {
        const _: () = {
            const __CARDINALITY: usize = match #rt::__private::checked_product(&[#(#counts),*]) {
                ::core::option::Option::Some(n) => n,
                ::core::option::Option::None => ::core::panic!(#overflow),
            };

            #[automatically_derived]
            // SAFETY: `index` is a mixed-radix number whose digits are each below their tag's
            // value count, so it is below their product, `CARDINALITY`; `Array<V>` is
            // `[V; CARDINALITY]`.
            unsafe impl #rt::TagSet for #ident {
                const CARDINALITY: usize = #cardinality;
                const NAMES: &'static [&'static str] = &[#(#names),*];
                const LABEL_VALUES: &'static [&'static [&'static str]] = &[#(<#tys as #rt::Tag>::ESCAPED),*];
                type Array<V: #rt::ConstInit + ::core::marker::Send + ::core::marker::Sync> = [V; #cardinality];

                #[inline(always)]
                fn index(self) -> usize {
                    let mut i = 0usize;
                    #( i = i * #counts + <#tys as #rt::Tag>::index(self.#field_idents); )*
                    i
                }

                fn from_index(index: usize) -> ::core::option::Option<Self> {
                    if index >= <Self as #rt::TagSet>::CARDINALITY {
                        return ::core::option::Option::None;
                    }
                    let rem = index;
                    #(#rev_digits)*
                    ::core::option::Option::Some(Self {
                        #( #field_idents: <#tys as #rt::Tag>::from_index(#digit_vars)?, )*
                    })
                }

                fn from_pairs(
                    pairs: &[(&str, &str)],
                ) -> ::core::result::Result<Self, #rt::TagSetError> {
                    #( let mut #opt_vars: ::core::option::Option<#tys> = ::core::option::Option::None; )*
                    for &(key, value) in pairs {
                        match key {
                            #(
                                #names => {
                                    if #opt_vars.is_some() {
                                        return ::core::result::Result::Err(#rt::TagSetError::RepeatedTag { name: #names });
                                    }
                                    match <#tys as #rt::Tag>::from_value(value) {
                                        ::core::result::Result::Ok(v) => #opt_vars = ::core::option::Option::Some(v),
                                        ::core::result::Result::Err(e) => {
                                            return ::core::result::Result::Err(#rt::TagSetError::InvalidValue(e))
                                        }
                                    }
                                }
                            )*
                            _ => {
                                return ::core::result::Result::Err(#rt::TagSetError::UnknownTag {
                                    name: ::std::borrow::ToOwned::to_owned(key),
                                    allowed: <Self as #rt::TagSet>::NAMES,
                                })
                            }
                        }
                    }
                    ::core::result::Result::Ok(Self {
                        #(
                            #field_idents: match #opt_vars {
                                ::core::option::Option::Some(v) => v,
                                ::core::option::Option::None => {
                                    return ::core::result::Result::Err(#rt::TagSetError::MissingTag { name: #names })
                                }
                            },
                        )*
                    })
                }

                fn label_value(index: usize, label: usize) -> &'static str {
                    let rem = index;
                    #(#rev_digits)*
                    match label {
                        #( #label_idx => match <#tys as #rt::Tag>::VALUES.get(#digit_vars) {
                            ::core::option::Option::Some(v) => v,
                            ::core::option::Option::None => "",
                        }, )*
                        _ => "",
                    }
                }

                fn write_labels(index: usize, out: &mut ::std::string::String) {
                    let rem = index;
                    #(#rev_digits)*
                    #(
                        out.push_str(#prefixes);
                        out.push_str(<#tys as #rt::Tag>::ESCAPED[#digit_vars]);
                        out.push('"');
                    )*
                }
            }
        };
    }
}
