//! `#[derive(Metrics)]`: parse the struct, check every metric and their collisions, expand the
//! const constructor and the exposition.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments};

use crate::attr::{doc_text, int, key_of, lit_str, number_list, set_once, unknown_key, Given};
use crate::ctxt::{with_fallback, Ctxt};
use crate::rules::{
    base_unit_for, check_metric_name, check_name_words, check_unit, escape_help, escape_help_om,
    escape_json, float_text,
};

const STRUCT_KEYS: &[&str] = &["namespace"];
const FIELD_KEYS: &[&str] = &[
    "name",
    "help",
    "unit",
    "buckets",
    "quantiles",
    "window_secs",
    "max_series",
];
const RESERVED_SUFFIXES: &[&str] = &["_total", "_bucket", "_count", "_sum", "_created", "_info"];
const DEFAULT_MAX_SERIES: u64 = 10_000;
const DEFAULT_HISTOGRAM_SLOTS: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

struct Metric {
    ident: syn::Ident,
    ty: syn::Type,
    kind: Kind,
    tags: TokenStream,
    tags_span: Span,
    name: String,
    name_span: Span,
    help: String,
    unit: Option<String>,
    buckets: Option<Vec<f64>>,
    quantiles: Option<Vec<f64>>,
    window_secs: u64,
    max_series: u64,
}

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let metrics = parse(&cx, input);
    check_collisions(&cx, &metrics);
    match cx.check() {
        Ok(()) => generate(input, &metrics),
        Err(e) => with_fallback(e, fallback(input, &metrics)),
    }
}

/// What the type says: the kind, the tag set, and the histogram's bucket slots when literal.
fn classify(ty: &syn::Type) -> Option<(Kind, Option<syn::Type>, Option<(usize, Span)>)> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let kind = match last.ident.to_string().as_str() {
        "Counter" => Kind::Counter,
        "Gauge" => Kind::Gauge,
        "Histogram" => Kind::Histogram,
        "Summary" => Kind::Summary,
        _ => return None,
    };
    let mut tags = None;
    let mut slots = None;
    if let PathArguments::AngleBracketed(args) = &last.arguments {
        for (i, arg) in args.args.iter().enumerate() {
            match (i, arg) {
                (0, GenericArgument::Type(t)) => tags = Some(t.clone()),
                (
                    1,
                    GenericArgument::Const(syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(n),
                        ..
                    })),
                ) if kind == Kind::Histogram => {
                    slots = n.base10_parse::<usize>().ok().map(|v| (v, n.span()));
                }
                (1, _) if kind == Kind::Histogram => {}
                _ => return None,
            }
        }
    } else if !matches!(last.arguments, PathArguments::None) {
        return None;
    }
    Some((kind, tags, slots))
}

fn parse(cx: &Ctxt, input: &DeriveInput) -> Vec<Metric> {
    let Data::Struct(data) = &input.data else {
        cx.error_spanned_by(
            &input.ident,
            "`Metrics` can only be derived for a struct with named fields",
        );
        return Vec::new();
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "a metrics struct cannot be generic: its storage and names are fixed at compile time",
        );
    }
    let mut namespace: Option<Given<String>> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("metrics")) {
        let res = attr.parse_nested_meta(|meta| {
            match key_of(&meta).as_str() {
                "namespace" => {
                    let s = lit_str(&meta)?;
                    set_once(cx, &mut namespace, "namespace", s.value(), s.span());
                }
                _ => unknown_key(cx, &meta, STRUCT_KEYS)?,
            }
            Ok(())
        });
        if let Err(e) = res {
            cx.syn_error(e);
        }
    }
    if let Some(ns) = &namespace {
        if ns.value.is_empty() {
            cx.error_at(
                ns.span,
                "namespace is empty; remove `namespace` or give one",
            );
        } else if let Err(msg) = check_metric_name(&ns.value) {
            cx.error_at(ns.span, msg.replace("metric name", "namespace"));
        }
    }
    let Fields::Named(named) = &data.fields else {
        cx.error_spanned_by(
            &input.ident,
            "`Metrics` needs named fields: the field names are the metric names",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for field in &named.named {
        if let Some(m) = parse_field(cx, field, namespace.as_ref().map(|n| n.value.as_str())) {
            out.push(m);
        }
    }
    out
}

#[derive(Default)]
struct FieldAttrs {
    name: Option<Given<String>>,
    help: Option<Given<String>>,
    unit: Option<Given<String>>,
    buckets: Option<Given<Vec<(f64, Span)>>>,
    quantiles: Option<Given<Vec<(f64, Span)>>>,
    window_secs: Option<Given<u64>>,
    max_series: Option<Given<u64>>,
}

fn parse_field_attrs(cx: &Ctxt, field: &syn::Field) -> FieldAttrs {
    let mut a = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("metric")) {
        let res = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta);
            match key.as_str() {
                "name" | "help" | "unit" => {
                    let s = lit_str(&meta)?;
                    let slot = match key.as_str() {
                        "name" => &mut a.name,
                        "help" => &mut a.help,
                        _ => &mut a.unit,
                    };
                    set_once(cx, slot, &key, s.value(), s.span());
                }
                "buckets" | "quantiles" => {
                    let (list, span) = number_list(&meta)?;
                    let slot = if key == "buckets" {
                        &mut a.buckets
                    } else {
                        &mut a.quantiles
                    };
                    set_once(cx, slot, &key, list, span);
                }
                "window_secs" | "max_series" => {
                    let (v, span) = int(&meta)?;
                    let slot = if key == "window_secs" {
                        &mut a.window_secs
                    } else {
                        &mut a.max_series
                    };
                    set_once(cx, slot, &key, v, span);
                }
                _ => unknown_key(cx, &meta, FIELD_KEYS)?,
            }
            Ok(())
        });
        if let Err(e) = res {
            cx.syn_error(e);
        }
    }
    a
}

fn parse_field(cx: &Ctxt, field: &syn::Field, namespace: Option<&str>) -> Option<Metric> {
    let ident = field.ident.clone().expect("named field");
    let attrs = parse_field_attrs(cx, field);
    let Some((kind, tags, slots)) = classify(&field.ty) else {
        cx.error_spanned_by(
            &field.ty,
            "unsupported field type; a metrics struct holds only `Counter<T>`, `Gauge<T>`, `Histogram<T>` or `Summary<T>` (T a tag set, `()` by default)",
        );
        return None;
    };

    // Name: namespace + field name (or `name = ".."`).
    let (base, name_span) = match &attrs.name {
        Some(n) => (n.value.clone(), n.span),
        None => (
            ident.to_string().trim_start_matches("r#").to_owned(),
            ident.span(),
        ),
    };
    let name = match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}_{base}"),
        _ => base.clone(),
    };
    let mut name_ok = true;
    if let Err(msg) = check_metric_name(&name) {
        cx.error_at(name_span, msg);
        name_ok = false;
    }
    if name_ok {
        if let Err(msg) = check_name_words(&name) {
            cx.error_at(name_span, msg);
        }
        if kind == Kind::Counter && !name.ends_with("_total") {
            cx.error_at(
                name_span,
                format!("counter `{name}` must end in `_total`; rename it to `{base}_total`"),
            );
        }
        if kind != Kind::Counter {
            if let Some(sfx) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
                let hint = if *sfx == "_total" {
                    "; if it only goes up, make it a `Counter`"
                } else {
                    ""
                };
                cx.error_at(
                    name_span,
                    format!(
                        "{} `{name}` ends in `{sfx}`, a suffix reserved for the series of other metric types; rename it{hint}",
                        kind.as_str()
                    ),
                );
            }
        }
    }

    // Unit.
    if let Some(unit) = &attrs.unit {
        match check_unit(&unit.value) {
            Err(msg) => cx.error_at(unit.span, msg),
            Ok(()) => {
                let stem = if kind == Kind::Counter {
                    name.strip_suffix("_total").unwrap_or(&name)
                } else {
                    &name
                };
                let suffix = format!("_{}", unit.value);
                if !stem.ends_with(&suffix) {
                    let want = if kind == Kind::Counter {
                        format!("{suffix}_total")
                    } else {
                        suffix.clone()
                    };
                    cx.error_at(
                        unit.span,
                        format!("metric `{name}` declares unit `{}` but its name does not end in `{want}`; rename it", unit.value),
                    );
                }
            }
        }
    } else if let Some(word) = name
        .split('_')
        .find(|w| base_unit_for(w).is_none() && is_base_unit(w))
    {
        // A base unit in the name without `unit`: fine, but not required. Nothing to do.
        let _ = word;
    }

    // HELP.
    let help = match (&attrs.help, doc_text(&field.attrs)) {
        (Some(h), _) if h.value.trim().is_empty() => {
            cx.error_at(h.span, "`help` is empty; say what the metric measures");
            String::new()
        }
        (Some(h), _) => h.value.trim().to_owned(),
        (None, Some((doc, _))) => doc,
        (None, None) => {
            cx.error_spanned_by(
                &ident,
                format!("metric `{name}` has no HELP text; add a doc comment (`/// ...`) or `#[metric(help = \"...\")]`"),
            );
            String::new()
        }
    };

    // Keys that only apply to some kinds.
    let only = |given: bool, span: Option<Span>, key: &str, allowed: Kind| {
        if given && kind != allowed {
            cx.error_at(
                span.unwrap_or(name_span),
                format!(
                    "`{key}` applies to {}s only, and `{name}` is a {}",
                    allowed.as_str(),
                    kind.as_str()
                ),
            );
        }
    };
    only(
        attrs.buckets.is_some(),
        attrs.buckets.as_ref().map(|b| b.span),
        "buckets",
        Kind::Histogram,
    );
    only(
        attrs.quantiles.is_some(),
        attrs.quantiles.as_ref().map(|b| b.span),
        "quantiles",
        Kind::Summary,
    );
    only(
        attrs.window_secs.is_some(),
        attrs.window_secs.as_ref().map(|b| b.span),
        "window_secs",
        Kind::Summary,
    );

    // Buckets.
    let buckets = attrs.buckets.as_ref().map(|given| {
        if given.value.is_empty() {
            cx.error_at(given.span, "`buckets` is empty; give at least one bound, or remove it for the default buckets");
        }
        for (i, (v, span)) in given.value.iter().enumerate() {
            if !v.is_finite() {
                cx.error_at(*span, "bucket bound is not finite; `+Inf` is always added, give finite bounds only");
            } else if i > 0 && given.value[i - 1].0.is_finite() && *v <= given.value[i - 1].0 {
                cx.error_at(
                    *span,
                    format!("bucket bounds must be strictly increasing; `{v}` follows `{}`", given.value[i - 1].0),
                );
            }
        }
        let slots_have = slots.map_or(DEFAULT_HISTOGRAM_SLOTS, |(s, _)| s);
        if kind == Kind::Histogram && given.value.len() >= slots_have {
            let ty_hint = if tags.is_some() { "T, " } else { "(), " };
            cx.error_at(
                given.span,
                format!(
                    "{} bucket bounds need {} slots (one more for `+Inf`) but the type holds {slots_have}; write `Histogram<{ty_hint}{}>`",
                    given.value.len(),
                    given.value.len() + 1,
                    given.value.len() + 1
                ),
            );
        }
        given.value.iter().map(|(v, _)| *v).collect::<Vec<_>>()
    });

    // Quantiles and window.
    let quantiles = attrs.quantiles.as_ref().map(|given| {
        if given.value.is_empty() {
            cx.error_at(
                given.span,
                "`quantiles` is empty; give at least one, such as `[0.5, 0.99]`",
            );
        }
        for (i, (q, span)) in given.value.iter().enumerate() {
            if !(*q > 0.0 && *q < 1.0) {
                cx.error_at(
                    *span,
                    format!("quantile `{q}` is not in (0, 1); write p99 as `0.99`"),
                );
            } else if i > 0 && *q <= given.value[i - 1].0 {
                cx.error_at(
                    *span,
                    format!(
                        "quantiles must be increasing; `{q}` follows `{}`",
                        given.value[i - 1].0
                    ),
                );
            }
        }
        given.value.iter().map(|(v, _)| *v).collect::<Vec<_>>()
    });
    let window_secs = match &attrs.window_secs {
        Some(w) if w.value == 0 => {
            cx.error_at(w.span, "`window_secs` must be at least 1");
            60
        }
        Some(w) => w.value,
        None => 60,
    };
    let max_series = match &attrs.max_series {
        Some(m) if m.value == 0 => {
            cx.error_at(m.span, "`max_series` must be at least 1");
            DEFAULT_MAX_SERIES
        }
        Some(m) => m.value,
        None => DEFAULT_MAX_SERIES,
    };

    let tags_span = tags.as_ref().map_or_else(|| field.ty.span(), |t| t.span());
    let tags = tags.map_or_else(|| quote!(()), |t| quote!(#t));
    Some(Metric {
        ident,
        ty: field.ty.clone(),
        kind,
        tags,
        tags_span,
        name,
        name_span,
        help,
        unit: attrs.unit.map(|u| u.value),
        buckets,
        quantiles,
        window_secs,
        max_series,
    })
}

fn is_base_unit(word: &str) -> bool {
    matches!(
        word,
        "seconds"
            | "bytes"
            | "meters"
            | "metres"
            | "grams"
            | "joules"
            | "volts"
            | "amperes"
            | "celsius"
            | "kelvin"
    )
}

/// Every name a metric puts in an exposition: sample names and the OpenMetrics family name.
fn exposed(m: &Metric) -> Vec<(String, &'static str)> {
    let n = &m.name;
    match m.kind {
        Kind::Counter => {
            let family = n.strip_suffix("_total").unwrap_or(n);
            vec![
                (n.clone(), "samples"),
                (family.to_owned(), "OpenMetrics family"),
                (format!("{family}_created"), "`_created` series"),
            ]
        }
        Kind::Gauge => vec![(n.clone(), "samples")],
        Kind::Histogram => vec![
            (n.clone(), "family"),
            (format!("{n}_bucket"), "`_bucket` series"),
            (format!("{n}_sum"), "`_sum` series"),
            (format!("{n}_count"), "`_count` series"),
            (format!("{n}_created"), "`_created` series"),
        ],
        Kind::Summary => vec![
            (n.clone(), "samples"),
            (format!("{n}_sum"), "`_sum` series"),
            (format!("{n}_count"), "`_count` series"),
            (format!("{n}_created"), "`_created` series"),
        ],
    }
}

fn check_collisions(cx: &Ctxt, metrics: &[Metric]) {
    for (i, m) in metrics.iter().enumerate() {
        if metrics[..i].iter().any(|p| p.name == m.name) {
            let p = metrics[..i]
                .iter()
                .find(|p| p.name == m.name)
                .expect("found above");
            cx.error_at(
                m.name_span,
                format!(
                    "duplicate metric name `{}`; field `{}` already uses it",
                    m.name, p.ident
                ),
            );
            continue;
        }
        let mine = exposed(m);
        'prev: for p in &metrics[..i] {
            for (theirs, what) in exposed(p) {
                if let Some((ours, _)) = mine.iter().find(|(o, _)| *o == theirs) {
                    cx.error_at(
                        m.name_span,
                        format!(
                            "metric `{}` collides with {} `{}` (field `{}`): both expose `{ours}` ({what} of the {}); rename one of them",
                            m.name,
                            p.kind.as_str(),
                            p.name,
                            p.ident,
                            p.kind.as_str()
                        ),
                    );
                    break 'prev;
                }
            }
        }
    }
}

fn generate(input: &DeriveInput, metrics: &[Metric]) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    let rt = quote!(::metrics_runtime);

    let mut inits = Vec::new();
    let mut descs = Vec::new();
    let mut writes = Vec::new();
    let mut asserts = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        let field = &m.ident;
        let ty = &m.ty;
        let init = match (m.kind, &m.buckets, &m.quantiles) {
            (Kind::Histogram, Some(b), _) => {
                let le: Vec<String> = b.iter().map(|v| float_text(*v)).collect();
                let b = b.iter().map(|v| proc_macro2::Literal::f64_suffixed(*v));
                quote!(<#ty>::with_bounds(&[#(#b),*], &[#(#le),*]))
            }
            (Kind::Summary, _, q) => {
                let q = q.clone().unwrap_or_else(|| vec![0.5, 0.9, 0.99, 0.999]);
                let labels: Vec<String> = q.iter().map(|v| float_text(*v)).collect();
                let q = q.iter().map(|v| proc_macro2::Literal::f64_suffixed(*v));
                let w = m.window_secs;
                let cfg = format_ident!("__SUMMARY_CONFIG_{}", i);
                quote!({
                    const #cfg: #rt::SummaryConfig = #rt::SummaryConfig {
                        quantiles: &[#(#q),*],
                        quantile_labels: &[#(#labels),*],
                        window_secs: #w,
                        compression: #rt::SummaryConfig::DEFAULT.compression,
                    };
                    <#ty>::with_config(&#cfg)
                })
            }
            _ => quote!(<#ty>::new()),
        };
        inits.push(quote!(#field: #init));

        let help = escape_help(&m.help);
        let help_om = escape_help_om(&m.help);
        let help_json = escape_json(&m.help);
        let unit = m.unit.as_deref().unwrap_or("");
        let name = &m.name;
        let family = if m.kind == Kind::Counter {
            name.strip_suffix("_total").unwrap_or(name)
        } else {
            name.as_str()
        };
        let (kind, method) = match m.kind {
            Kind::Counter => (quote!(Counter), quote!(counter)),
            Kind::Gauge => (quote!(Gauge), quote!(gauge)),
            Kind::Histogram => (quote!(Histogram), quote!(histogram)),
            Kind::Summary => (quote!(Summary), quote!(summary)),
        };
        descs.push(quote! {
            #rt::__private::MetricDesc {
                name: #name,
                family: #family,
                kind: #rt::__private::MetricKind::#kind,
                help: #help,
                help_om: #help_om,
                help_json: #help_json,
                unit: #unit,
            }
        });
        writes.push(quote! {
            encoder.#method(&<Self as #rt::Metrics>::descriptors(self)[#i], &self.#field);
        });

        let tags = &m.tags;
        let max = m.max_series as usize;
        let too_many = format!("metric `{name}` has ");
        let too_many_end = format!(
            " series (the product of its tags' value counts), above its `max_series` of {max}; drop a tag or some values, or raise `max_series` if that memory is intended"
        );
        let reserved = match m.kind {
            Kind::Histogram => Some(("le", format!("histogram `{name}` has a tag named `le`, which is reserved for bucket bounds; rename the tag"))),
            Kind::Summary => Some(("quantile", format!("summary `{name}` has a tag named `quantile`, which is reserved for quantiles; rename the tag"))),
            _ => None,
        };
        let reserved_check = reserved.map(|(tag, msg)| {
            quote! {
                if #rt::__private::contains(<#tags as #rt::TagSet>::NAMES, #tag) {
                    ::core::panic!(#msg);
                }
            }
        });
        let dup_msg = format!("metric `{name}` has two tags with the same name");
        asserts.push(quote_spanned! {m.tags_span=>
            const _: () = {
                let series = <#tags as #rt::TagSet>::CARDINALITY;
                if series > #max {
                    let msg = #rt::__private::ConstMsg::new().str(#too_many).num(series).str(#too_many_end);
                    ::core::panic!("{}", msg.as_str());
                }
                if let ::core::option::Option::Some(_) = #rt::__private::first_duplicate(<#tags as #rt::TagSet>::NAMES) {
                    ::core::panic!(#dup_msg);
                }
                #reserved_check
            };
        });
    }

    quote! {
        const _: () = {
            #(#asserts)*

            #[automatically_derived]
            impl #ident {
                /// Every metric with every series at zero. A `const fn`: use it in a `static`.
                #[allow(clippy::new_without_default)]
                #vis const fn new() -> Self {
                    Self { #(#inits,)* }
                }

                /// The Prometheus text format (0.0.4) exposition of every metric, every series
                /// included.
                #vis fn render_prometheus(&self) -> ::std::string::String {
                    <Self as #rt::Metrics>::render_prometheus(self)
                }

                /// Appends the Prometheus text format (0.0.4) exposition to `out`.
                #vis fn write_prometheus(&self, out: &mut ::std::string::String) {
                    <Self as #rt::Metrics>::write_prometheus(self, out)
                }

                /// The OpenMetrics 1.0 exposition of every metric, ending with `# EOF`.
                #vis fn render_openmetrics(&self) -> ::std::string::String {
                    <Self as #rt::Metrics>::render_openmetrics(self)
                }

                /// Appends the OpenMetrics 1.0 exposition to `out`, ending with `# EOF`.
                #vis fn write_openmetrics(&self, out: &mut ::std::string::String) {
                    <Self as #rt::Metrics>::write_openmetrics(self, out)
                }

                /// The JSON document of every metric.
                #vis fn render_json(&self) -> ::std::string::String {
                    <Self as #rt::Metrics>::render_json(self)
                }

                /// Appends the JSON document of every metric to `out`.
                #vis fn write_json(&self, out: &mut ::std::string::String) {
                    <Self as #rt::Metrics>::write_json(self, out)
                }
            }

            #[automatically_derived]
            impl #rt::Metrics for #ident {
                fn descriptors(&self) -> &'static [#rt::__private::MetricDesc] {
                    const DESCRIPTORS: &[#rt::__private::MetricDesc] = &[#(#descs),*];
                    DESCRIPTORS
                }

                fn encode(&self, encoder: &mut #rt::__private::Encoder<'_>) {
                    #(#writes)*
                }
            }

            #[automatically_derived]
            impl ::core::default::Default for #ident {
                fn default() -> Self {
                    Self::new()
                }
            }
        };
    }
}

/// On error: the inherent methods and the trait exist, so uses of the struct add no errors of
/// their own. `new` builds the metrics with their defaults when every field has a metric type.
fn fallback(input: &DeriveInput, metrics: &[Metric]) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let rt = quote!(::metrics_runtime);
    let all_typed = match &input.data {
        Data::Struct(data) => {
            data.fields.len() == metrics.len() && matches!(data.fields, Fields::Named(_))
        }
        _ => false,
    };
    let new_body = if all_typed {
        let fields = metrics.iter().map(|m| &m.ident);
        let tys = metrics.iter().map(|m| &m.ty);
        quote!(Self { #(#fields: <#tys>::new(),)* })
    } else {
        quote!(::core::unreachable!())
    };
    quote! {
        const _: () = {
            #[allow(dead_code, clippy::new_without_default)]
            impl #ident {
                #vis const fn new() -> Self { #new_body }
                #vis fn render_prometheus(&self) -> ::std::string::String { ::core::unreachable!() }
                #vis fn write_prometheus(&self, _: &mut ::std::string::String) { ::core::unreachable!() }
                #vis fn render_openmetrics(&self) -> ::std::string::String { ::core::unreachable!() }
                #vis fn write_openmetrics(&self, _: &mut ::std::string::String) { ::core::unreachable!() }
                #vis fn render_json(&self) -> ::std::string::String { ::core::unreachable!() }
                #vis fn write_json(&self, _: &mut ::std::string::String) { ::core::unreachable!() }
            }

            impl #rt::Metrics for #ident {
                fn descriptors(&self) -> &'static [#rt::__private::MetricDesc] { &[] }
                fn encode(&self, _: &mut #rt::__private::Encoder<'_>) {}
            }
        };
    }
}
