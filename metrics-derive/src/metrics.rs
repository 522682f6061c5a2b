//! `#[derive(Metrics)]`: parse the struct, check every metric and their collisions, expand the
//! const constructor and the exposition.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments};

use crate::attr::{doc_text, int, key_of, lit_str, misplaced, number_list, set_once, unknown_key, Given, Number};
use crate::ctxt::{with_fallback, Ctxt};
use metrics_rules::MetricKind as Kind;
use metrics_rules::{
    check_metric_name, check_unit, escape_help, escape_help_om, escape_json, float_text, DEFAULT_HISTOGRAM_SLOTS,
    DEFAULT_MAX_SERIES, DEFAULT_QUANTILES, DEFAULT_WINDOW_SECS,
};

const STRUCT_KEYS: &[&str] = &["namespace", "labels"];
const FIELD_KEYS: &[&str] = &[
    "name",
    "help",
    "unit",
    "buckets",
    "quantiles",
    "window_secs",
    "max_series",
    "schema",
    "zero_threshold",
    "max_buckets",
    "slo",
];
const SLO_KEYS: &[&str] = &["latency", "errors", "target", "name"];

/// The bucket slots of a `Histogram<T, B>` type, as far as the derive can read them.
#[derive(Clone, Copy)]
enum Slots {
    /// No second argument: the default.
    Default,
    /// An integer literal.
    Literal(usize, Span),
    /// A const path or expression: checked at compile time by the runtime instead.
    Unknown,
}

struct Metric {
    ident: syn::Ident,
    ty: syn::Type,
    kind: Kind,
    /// A `NativeHistogram`: its schema, zero threshold and bucket bound.
    native: Option<(i8, f64, usize)>,
    /// `Exemplars<M>`: the wrapped metric type `M`.
    exemplars_of: Option<syn::Type>,
    tags: TokenStream,
    tags_span: Span,
    name: String,
    name_span: Span,
    /// The name passed every name rule (collisions are only checked between valid names).
    name_ok: bool,
    help: String,
    unit: Option<String>,
    buckets: Option<Vec<f64>>,
    quantiles: Option<Vec<f64>>,
    window_secs: u64,
    max_series: u64,
    slos: Vec<SloSpec>,
}

/// A checked `slo(..)` of a field.
struct SloSpec {
    name: String,
    span: Span,
    target: f64,
    objective: ObjectiveSpec,
}

enum ObjectiveSpec {
    Latency {
        threshold: f64,
    },
    /// The label and its values (escaped as in the exposition), checked against the tag set by a
    /// constant assertion spanned at the selector.
    Errors {
        label: String,
        values: Vec<String>,
        span: Span,
    },
}

/// An `slo(..)` as written.
struct SloAttr {
    span: Span,
    latency: Option<Given<String>>,
    errors: Option<Given<String>>,
    target: Option<Given<f64>>,
    name: Option<Given<String>>,
}

pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let (metrics, labels) = parse(&cx, input);
    check_collisions(&cx, &metrics);
    match cx.check() {
        Ok(()) => generate(input, &metrics, &labels),
        Err(e) => with_fallback(e, fallback(input, &metrics)),
    }
}

/// The third parameter of a `NativeHistogram<T, C, B>` (its classic bucket slots): 0 when
/// absent, `None` when not an integer literal (checked by the runtime instead).
fn classic_slots(ty: &syn::Type) -> Option<usize> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return Some(0);
    };
    match args.args.iter().nth(2) {
        None => Some(0),
        Some(GenericArgument::Const(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }))) => {
            n.base10_parse().ok()
        }
        Some(_) => None,
    }
}

/// The slots parameter as the user should write it.
fn slots_text(slots: Slots) -> String {
    match slots {
        Slots::Literal(v, _) => v.to_string(),
        _ => metrics_rules::DEFAULT_NATIVE_SLOTS.to_string(),
    }
}

/// `Exemplars<M>`: `M`.
fn exemplars_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Exemplars" {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// The last path segment's name of a type.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// What the type says: the kind, the tag set, and the histogram's bucket slots.
fn classify(ty: &syn::Type) -> Option<(Kind, bool, Option<syn::Type>, Slots)> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    // A `ShardedCounter` is exposed as a counter.
    let kind = match last.ident.to_string().as_str() {
        "Counter" | "ShardedCounter" | "CallbackCounter" => Kind::Counter,
        // A `WindowedCounter` is exposed as a gauge of its rate over its window.
        "Gauge" | "CallbackGauge" | "WindowedCounter" => Kind::Gauge,
        "Histogram" | "NativeHistogram" => Kind::Histogram,
        // A `WindowedHistogram` is exposed as a summary of its window's quantiles.
        "Summary" | "WindowedHistogram" => Kind::Summary,
        "Info" => Kind::Info,
        _ => return None,
    };
    let native = last.ident == "NativeHistogram";
    if last.ident == "WindowedCounter" || last.ident == "WindowedHistogram" {
        // No tags: the const parameters (intervals, bucket slots) only.
        return match &last.arguments {
            PathArguments::None => Some((kind, false, None, Slots::Default)),
            PathArguments::AngleBracketed(args) if args.args.iter().all(|a| matches!(a, GenericArgument::Const(_))) => {
                Some((kind, false, None, Slots::Default))
            }
            _ => None,
        };
    }
    let mut tags = None;
    let mut slots = Slots::Default;
    if let PathArguments::AngleBracketed(args) = &last.arguments {
        for (i, arg) in args.args.iter().enumerate() {
            match (i, arg) {
                (0, GenericArgument::Type(t)) => tags = Some(t.clone()),
                (1, GenericArgument::Const(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. })))
                    if kind == Kind::Histogram =>
                {
                    slots = match n.base10_parse::<usize>() {
                        Ok(v) => Slots::Literal(v, n.span()),
                        Err(_) => Slots::Unknown,
                    };
                }
                (1, _) if kind == Kind::Histogram => slots = Slots::Unknown,
                // A native histogram's classic bucket slots (see `classic_slots`).
                (2, GenericArgument::Const(_)) if native => {}
                _ => return None,
            }
        }
    } else if !matches!(last.arguments, PathArguments::None) {
        return None;
    }
    Some((kind, native, tags, slots))
}

/// A constant label of `#[metrics(labels(name = "value"))]`.
struct ConstLabel {
    name: String,
    value: String,
    span: Span,
}

fn parse(cx: &Ctxt, input: &DeriveInput) -> (Vec<Metric>, Vec<ConstLabel>) {
    misplaced(
        cx,
        &input.attrs,
        "metric",
        "`#[metric(..)]` goes on fields; on the struct, use `#[metrics(namespace = \"..\")]`",
    );
    let Data::Struct(data) = &input.data else {
        cx.error_spanned_by(&input.ident, "`Metrics` can only be derived for a struct with named fields");
        return (Vec::new(), Vec::new());
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "a metrics struct cannot be generic: its storage and names are fixed at compile time",
        );
    }
    let mut namespace: Option<Given<String>> = None;
    let mut labels: Vec<ConstLabel> = Vec::new();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("metrics")) {
        let res = attr.parse_nested_meta(|meta| {
            match key_of(&meta).as_str() {
                "namespace" => {
                    let s = lit_str(&meta)?;
                    set_once(cx, &mut namespace, "namespace", s.value(), s.span(), meta.path.span());
                }
                "labels" => {
                    meta.parse_nested_meta(|label| {
                        let name = key_of(&label);
                        let span = label.path.span();
                        let value = lit_str(&label)?;
                        if let Err(msg) = metrics_rules::check_label_name(&name) {
                            cx.error_at(span, format!("constant label `{name}`: {msg}"));
                        } else if name == "le" || name == "quantile" {
                            cx.error_at(span, format!("constant label `{name}` is reserved for histogram buckets and summary quantiles; rename it"));
                        } else if labels.iter().any(|l| l.name == name) {
                            cx.error_at(span, format!("constant label `{name}` is given twice"));
                        } else if let Err(msg) = metrics_rules::check_label_value(&value.value()) {
                            cx.error_at(value.span(), format!("constant label `{name}`: {msg}"));
                        } else {
                            labels.push(ConstLabel { name, value: value.value(), span });
                        }
                        Ok(())
                    })?;
                }
                _ => unknown_key(cx, &meta, STRUCT_KEYS)?,
            }
            Ok(())
        });
        if let Err(e) = res {
            cx.syn_error(e);
        }
    }
    // A bad namespace is reported once, here, and left out of the names below.
    let namespace = namespace.and_then(|ns| {
        if ns.value.is_empty() {
            cx.error_at(ns.span, "namespace is empty; remove `namespace` or give one, such as `shop`");
            None
        } else if let Err(msg) = check_metric_name(&ns.value) {
            cx.error_at(ns.span, msg.replace("metric name", "namespace"));
            None
        } else {
            Some(ns.value)
        }
    });
    let Fields::Named(named) = &data.fields else {
        cx.error_spanned_by(&input.ident, "`Metrics` needs named fields: the field names are the metric names");
        return (Vec::new(), labels);
    };
    let mut out = Vec::new();
    for field in &named.named {
        misplaced(cx, &field.attrs, "metrics", "`#[metrics(..)]` goes on the struct; on a field, use `#[metric(..)]`");
        if let Some(m) = parse_field(cx, field, namespace.as_deref()) {
            out.push(m);
        }
    }
    (out, labels)
}

#[derive(Default)]
struct FieldAttrs {
    name: Option<Given<String>>,
    help: Option<Given<String>>,
    unit: Option<Given<String>>,
    buckets: Option<Given<Vec<Number>>>,
    quantiles: Option<Given<Vec<Number>>>,
    window_secs: Option<Given<u64>>,
    max_series: Option<Given<u64>>,
    schema: Option<Given<f64>>,
    zero_threshold: Option<Given<f64>>,
    max_buckets: Option<Given<u64>>,
    slos: Vec<SloAttr>,
}

/// Parses `slo(latency = "..", errors = "..", target = 0.99, name = "..")`.
fn parse_slo(cx: &Ctxt, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<SloAttr> {
    let mut slo = SloAttr { span: meta.path.span(), latency: None, errors: None, target: None, name: None };
    meta.parse_nested_meta(|inner| {
        let key = key_of(&inner);
        match key.as_str() {
            "latency" | "errors" | "name" => {
                let s = lit_str(&inner)?;
                let slot = match key.as_str() {
                    "latency" => &mut slo.latency,
                    "errors" => &mut slo.errors,
                    _ => &mut slo.name,
                };
                set_once(cx, slot, &key, s.value(), s.span(), inner.path.span());
            }
            "target" => {
                let expr: syn::Expr = inner.value()?.parse()?;
                let v = crate::attr::number(&expr)?;
                set_once(cx, &mut slo.target, "target", v, expr.span(), inner.path.span());
            }
            _ => unknown_key(cx, &inner, SLO_KEYS)?,
        }
        Ok(())
    })?;
    Ok(slo)
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
                    set_once(cx, slot, &key, s.value(), s.span(), meta.path.span());
                }
                "buckets" | "quantiles" => {
                    let (list, span) = number_list(&meta)?;
                    let slot = if key == "buckets" { &mut a.buckets } else { &mut a.quantiles };
                    set_once(cx, slot, &key, list, span, meta.path.span());
                }
                "window_secs" | "max_series" | "max_buckets" => {
                    let (v, span) = int(&meta)?;
                    let slot = match key.as_str() {
                        "window_secs" => &mut a.window_secs,
                        "max_series" => &mut a.max_series,
                        _ => &mut a.max_buckets,
                    };
                    set_once(cx, slot, &key, v, span, meta.path.span());
                }
                "schema" | "zero_threshold" => {
                    let expr: syn::Expr = meta.value()?.parse()?;
                    let v = crate::attr::number(&expr)?;
                    let slot = if key == "schema" { &mut a.schema } else { &mut a.zero_threshold };
                    set_once(cx, slot, &key, v, expr.span(), meta.path.span());
                }
                "slo" => a.slos.push(parse_slo(cx, &meta)?),
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

/// Checks the metric name; returns whether it passed every rule.
fn check_name(cx: &Ctxt, kind: Kind, name: &str, base: &str, span: Span) -> bool {
    match metrics_rules::check_metric(kind, name, base) {
        Ok(()) => true,
        Err(msg) => {
            cx.error_at(span, msg);
            false
        }
    }
}

/// Checks an increasing list of numbers; `valid` says whether one value is allowed at all (with
/// the message if not). Values are compared with the last valid one only.
fn check_increasing(cx: &Ctxt, list: &[Number], what: &str, valid: impl Fn(f64) -> Result<(), String>) {
    let mut last: Option<&Number> = None;
    for n in list {
        if let Err(msg) = valid(n.value) {
            cx.error_at(n.span, msg);
            continue;
        }
        if let Some(prev) = last {
            if n.value == prev.value {
                cx.error_at(n.span, format!("{what} `{}` repeats; {what}s must be strictly increasing", n.text));
                continue;
            }
            if n.value < prev.value {
                cx.error_at(n.span, format!("{what}s must be increasing; `{}` follows `{}`", n.text, prev.text));
                continue;
            }
        }
        last = Some(n);
    }
}

fn parse_field(cx: &Ctxt, field: &syn::Field, namespace: Option<&str>) -> Option<Metric> {
    let ident = field.ident.clone().expect("named field");
    let attrs = parse_field_attrs(cx, field);
    let exemplars_of = exemplars_inner(&field.ty).cloned();
    let metric_ty = exemplars_of.as_ref().unwrap_or(&field.ty);
    if let Some(inner) = &exemplars_of {
        if !matches!(type_name(inner).as_str(), "Counter" | "Histogram" | "NativeHistogram") {
            cx.error_spanned_by(
                inner,
                "exemplars go on a `Counter<T>`, `Histogram<T>` or `NativeHistogram<T>` only (OpenMetrics has none on gauges and summaries)",
            );
            return None;
        }
    }
    let Some((kind, native, tags, slots)) = classify(metric_ty) else {
        cx.error_spanned_by(
            &field.ty,
            "unsupported field type; a metrics struct holds only `Counter<T>`, `ShardedCounter<T>`, `CallbackCounter<T>`, `Gauge<T>`, `CallbackGauge<T>`, `Histogram<T>`, `NativeHistogram<T>`, `Summary<T>` (T a tag set, `()` by default), `WindowedCounter<N>`, `WindowedHistogram<N, B>` or `Info`",
        );
        return None;
    };
    let tags_text = tags.as_ref().map_or_else(|| "()".to_owned(), |t| quote!(#t).to_string().replace(' ', ""));

    // Name: namespace + field name (or `name = ".."`).
    let (base, name_span) = match &attrs.name {
        Some(n) => (n.value.clone(), n.span),
        None => (ident.to_string().trim_start_matches("r#").to_owned(), ident.span()),
    };
    let name = match (namespace, base.is_empty()) {
        (Some(ns), false) => format!("{ns}_{base}"),
        _ => base.clone(),
    };
    let name_ok = check_name(cx, kind, &name, &base, name_span);

    // Unit.
    if let Some(unit) = &attrs.unit {
        match check_unit(&unit.value) {
            Err(msg) => cx.error_at(unit.span, msg),
            Ok(()) if name_ok => {
                let stem = if kind == Kind::Counter { name.strip_suffix("_total").unwrap_or(&name) } else { &name };
                let suffix = format!("_{}", unit.value);
                if !stem.ends_with(&suffix) {
                    let base_stem =
                        if kind == Kind::Counter { base.strip_suffix("_total").unwrap_or(&base) } else { &base };
                    let want = if kind == Kind::Counter {
                        format!("{base_stem}{suffix}_total")
                    } else {
                        format!("{base_stem}{suffix}")
                    };
                    cx.error_at(
                        unit.span,
                        format!(
                            "metric `{name}` declares unit `{}` but its name does not end in `{suffix}`{}; rename it to `{want}`",
                            unit.value,
                            if kind == Kind::Counter { " (before `_total`)" } else { "" }
                        ),
                    );
                }
            }
            Ok(()) => {}
        }
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
                format!(
                    "metric `{name}` has no HELP text; add a doc comment (`/// ...`) or `#[metric(help = \"...\")]`"
                ),
            );
            String::new()
        }
    };

    // Keys that only apply to some kinds; their content is checked only where they apply.
    let applies = |given: Option<Span>, key: &str, allowed: Kind| -> bool {
        match given {
            Some(span) if kind != allowed => {
                cx.error_at(
                    span,
                    format!("`{key}` applies to {} only, and `{name}` is a {}", allowed.plural(), kind.as_str()),
                );
                false
            }
            Some(_) => true,
            None => false,
        }
    };
    let buckets_apply = applies(attrs.buckets.as_ref().map(|b| b.span), "buckets", Kind::Histogram);
    let quantiles_apply = applies(attrs.quantiles.as_ref().map(|b| b.span), "quantiles", Kind::Summary);
    let windowed_counter = type_name(metric_ty) == "WindowedCounter";
    if !windowed_counter {
        applies(attrs.window_secs.as_ref().map(|b| b.span), "window_secs", Kind::Summary);
    }

    // Native histogram settings.
    for (given, key) in [
        (attrs.schema.as_ref().map(|g| g.span), "schema"),
        (attrs.zero_threshold.as_ref().map(|g| g.span), "zero_threshold"),
        (attrs.max_buckets.as_ref().map(|g| g.span), "max_buckets"),
    ] {
        if let Some(span) = given.filter(|_| !native) {
            cx.error_at(
                span,
                format!("`{key}` applies to native histograms only, and `{name}` is not a `NativeHistogram`"),
            );
        }
    }
    let native = native.then(|| {
        let schema = match &attrs.schema {
            Some(g) if g.value.fract() != 0.0 || !(-4.0..=8.0).contains(&g.value) => {
                cx.error_at(g.span, format!("native histogram `schema` must be an integer in -4..=8 (Prometheus' range), not {}", g.value));
                metrics_rules::DEFAULT_NATIVE_SCHEMA
            }
            Some(g) => g.value as i8,
            None => metrics_rules::DEFAULT_NATIVE_SCHEMA,
        };
        let zero = match &attrs.zero_threshold {
            Some(g) if !(g.value >= 0.0 && g.value.is_finite()) => {
                cx.error_at(g.span, "`zero_threshold` must be a finite number, at least 0");
                metrics_rules::DEFAULT_NATIVE_ZERO_THRESHOLD
            }
            Some(g) => g.value,
            None => metrics_rules::DEFAULT_NATIVE_ZERO_THRESHOLD,
        };
        let have = match slots {
            Slots::Default => Some(metrics_rules::DEFAULT_NATIVE_SLOTS),
            Slots::Literal(v, _) => Some(v),
            Slots::Unknown => None,
        };
        let max = match &attrs.max_buckets {
            Some(g) if g.value == 0 => {
                cx.error_at(g.span, "`max_buckets` must be at least 1");
                1
            }
            Some(g) => {
                if let Some(have) = have.filter(|h| g.value as usize > *h) {
                    cx.error_at(
                        g.span,
                        format!(
                            "`max_buckets = {}` needs more bucket slots than the type's {have}; write `NativeHistogram<{tags_text}, {}>` (twice the buckets: half keep the declared schema, half serve the coarser one it falls back to)",
                            g.value,
                            2 * g.value
                        ),
                    );
                }
                g.value as usize
            }
            None => have.unwrap_or(metrics_rules::DEFAULT_NATIVE_MAX_BUCKETS).min(metrics_rules::DEFAULT_NATIVE_MAX_BUCKETS),
        };
        (schema, zero, max)
    });

    // Buckets, and the slots the type has for them.
    let buckets = attrs.buckets.as_ref().filter(|_| buckets_apply).map(|given| {
        if given.value.is_empty() {
            cx.error_at(
                given.span,
                "`buckets` is empty; give at least one bound, or remove it for the default buckets",
            );
        }
        check_increasing(cx, &given.value, "bucket bound", |v| {
            if v.is_finite() {
                Ok(())
            } else {
                Err("bucket bound is not finite; `+Inf` is always added, give finite bounds only".to_owned())
            }
        });
        given.value.iter().map(|n| n.value).collect::<Vec<_>>()
    });
    if let (Some(_), Some(b)) = (&native, &buckets) {
        // A native histogram's classic buckets: its third parameter holds them.
        let have = classic_slots(metric_ty);
        if have.is_some_and(|h| b.len() > h) {
            cx.error_at(
                attrs.buckets.as_ref().map_or(field.ty.span(), |g| g.span),
                format!(
                    "{} classic bucket bounds need {} slots in the type, which holds {}; write `NativeHistogram<{tags_text}, {}, {}>`",
                    b.len(),
                    b.len(),
                    have.unwrap_or(0),
                    slots_text(slots),
                    b.len()
                ),
            );
        }
    }
    if kind == Kind::Histogram && native.is_none() {
        let needed = buckets.as_ref().map_or(11, Vec::len) + 1;
        let (have, span) = match slots {
            Slots::Default => (DEFAULT_HISTOGRAM_SLOTS, attrs.buckets.as_ref().map_or(field.ty.span(), |b| b.span)),
            Slots::Literal(v, span) => (v, span),
            Slots::Unknown => (usize::MAX, field.ty.span()),
        };
        if needed > have {
            let what = if buckets.is_some() {
                format!("{} bucket bounds", needed - 1)
            } else {
                "the 11 default bucket bounds".to_owned()
            };
            cx.error_at(
                span,
                format!(
                    "{what} need {needed} slots (one more for `+Inf`) but the type holds {have}; write `Histogram<{tags_text}, {needed}>`"
                ),
            );
        }
    }

    // Quantiles and window.
    let quantiles = attrs.quantiles.as_ref().filter(|_| quantiles_apply).map(|given| {
        if given.value.is_empty() {
            cx.error_at(given.span, "`quantiles` is empty; give at least one, such as `[0.5, 0.99]`");
        }
        check_increasing(cx, &given.value, "quantile", |q| {
            if q > 0.0 && q < 1.0 {
                Ok(())
            } else {
                Err(format!("quantile `{q}` is not in (0, 1); write p99 as `0.99`"))
            }
        });
        given.value.iter().map(|n| n.value).collect::<Vec<_>>()
    });
    let window_secs = match &attrs.window_secs {
        Some(w) if w.value == 0 => {
            cx.error_at(w.span, "`window_secs` must be at least 1");
            DEFAULT_WINDOW_SECS
        }
        Some(w) => w.value,
        None => DEFAULT_WINDOW_SECS,
    };
    let max_series = match &attrs.max_series {
        Some(m) if m.value == 0 => {
            cx.error_at(m.span, "`max_series` must be at least 1");
            DEFAULT_MAX_SERIES
        }
        Some(m) => m.value,
        None => DEFAULT_MAX_SERIES,
    };

    let slos = check_slos(
        cx,
        &attrs.slos,
        &SloContext {
            kind,
            name: &name,
            unit: attrs.unit.as_ref().map_or("", |u| u.value.as_str()),
            buckets: classic_bounds(kind, buckets.as_deref(), native.is_some()),
            native_schema: native.map(|(schema, _, _)| schema),
            has_tags: tags.is_some(),
        },
    );

    let tags_span = tags.as_ref().map_or_else(|| field.ty.span(), |t| t.span());
    let tags = tags.map_or_else(|| quote!(()), |t| quote!(#t));
    Some(Metric {
        ident,
        ty: field.ty.clone(),
        kind,
        native,
        exemplars_of,
        tags,
        tags_span,
        name,
        name_span,
        name_ok,
        help,
        unit: attrs.unit.map(|u| u.value),
        buckets,
        quantiles,
        window_secs,
        max_series,
        slos,
    })
}

/// A metric's classic bucket bounds: those declared, else the default ones for a classic
/// histogram; none for a native histogram without declared ones, or another kind.
fn classic_bounds(kind: Kind, declared: Option<&[f64]>, native: bool) -> Vec<f64> {
    match (kind, declared) {
        (Kind::Histogram, Some(b)) => b.to_vec(),
        (Kind::Histogram, None) if !native => metrics_rules::DEFAULT_BUCKETS.to_vec(),
        _ => Vec::new(),
    }
}

/// What the checks of a metric's objectives need to know about it.
struct SloContext<'a> {
    kind: Kind,
    name: &'a str,
    unit: &'a str,
    /// Classic bucket bounds ([`classic_bounds`]).
    buckets: Vec<f64>,
    native_schema: Option<i8>,
    has_tags: bool,
}

/// Checks each `slo(..)`: one objective, a target in (0, 1), a latency threshold that is a
/// bucket bound (or a native boundary), an error selector on a tagged counter, histogram or
/// summary (its label and values are checked against the tag set by a constant assertion).
fn check_slos(cx: &Ctxt, given: &[SloAttr], m: &SloContext<'_>) -> Vec<SloSpec> {
    let mut out = Vec::new();
    for slo in given {
        let (objective, default_name) = match (&slo.latency, &slo.errors) {
            (Some(_), Some(e)) => {
                cx.error_at(
                    e.span,
                    "an `slo` has one objective, `latency` or `errors`; declare two `slo(..)` for both",
                );
                continue;
            }
            (None, None) => {
                cx.error_at(
                    slo.span,
                    "an `slo` needs an objective: `latency = \"250ms\"` (histograms) or `errors = \"outcome=error\"` (tagged counters and histograms)",
                );
                continue;
            }
            (Some(l), None) => (Err(l), "latency"),
            (None, Some(e)) => (Ok(e), "errors"),
        };
        let name = match &slo.name {
            Some(n) => match metrics_rules::check_slo_name(&n.value) {
                Ok(()) => n.value.clone(),
                Err(msg) => {
                    cx.error_at(n.span, msg);
                    continue;
                }
            },
            None => format!("{}_{default_name}", m.kind.family_name(m.name)),
        };
        let mut target = slo.target.as_ref().map(|t| (t.value, t.span));
        let objective = match objective {
            Err(latency) => {
                if m.kind != Kind::Histogram {
                    cx.error_at(
                        latency.span,
                        format!("a `latency` objective needs a histogram, and `{}` is a {}; put it on the histogram that times these events", m.name, m.kind.as_str()),
                    );
                    continue;
                }
                let parsed = match metrics_rules::parse_latency(&latency.value, m.unit) {
                    Ok(p) => p,
                    Err(msg) => {
                        cx.error_at(latency.span, msg);
                        continue;
                    }
                };
                if let Some(implied) = parsed.implied_target {
                    match target {
                        Some((t, span)) => {
                            cx.error_at(
                                span,
                                format!(
                                    "`{}` already sets the target to {implied} (that share of observations at or below the threshold); drop `target`, or write the threshold alone (`latency = \"{}\"`) with `target = {t}`",
                                    latency.value,
                                    latency.value.split_once('<').map_or("", |(_, r)| r.trim()),
                                ),
                            );
                            continue;
                        }
                        None => target = Some((implied, latency.span)),
                    }
                }
                let threshold = parsed.threshold;
                let in_buckets = m.buckets.contains(&threshold);
                let native_ok = m.native_schema.is_some_and(|s| metrics_rules::native_boundary(threshold, s));
                if !in_buckets && !native_ok {
                    let bounds = m.buckets.iter().map(|b| float_text(*b)).collect::<Vec<_>>().join(", ");
                    let msg = match m.native_schema {
                        Some(schema) => format!(
                            "latency threshold {} is neither a classic bucket bound of `{}` ({}) nor a bucket boundary of its native schema {schema}; the share of observations below it would be an estimate. Pick a boundary (powers of 2^(2^-{schema}), such as 0.25) or add the bound to `buckets`",
                            float_text(threshold), m.name, if bounds.is_empty() { "none".to_owned() } else { bounds }
                        ),
                        None => format!(
                            "latency threshold {} is not a bucket bound of `{}` ({bounds}); the share of observations below it would be an estimate. Add it to `buckets` or pick one of them",
                            float_text(threshold), m.name
                        ),
                    };
                    cx.error_at(latency.span, msg);
                    continue;
                }
                ObjectiveSpec::Latency { threshold }
            }
            Ok(errors) => {
                if !matches!(m.kind, Kind::Counter | Kind::Histogram | Kind::Summary) {
                    cx.error_at(
                        errors.span,
                        format!("an `errors` objective counts events, and `{}` is a {}; put it on a tagged counter or histogram", m.name, m.kind.as_str()),
                    );
                    continue;
                }
                if !m.has_tags {
                    cx.error_at(
                        errors.span,
                        format!("an `errors` objective needs a tag that tells errors apart, and `{}` has no tags; tag it, for example with `Outcome`", m.name),
                    );
                    continue;
                }
                match metrics_rules::parse_errors(&errors.value) {
                    Ok((label, values)) => ObjectiveSpec::Errors {
                        label,
                        values: values.iter().map(|v| metrics_rules::escape_label_value(v)).collect(),
                        span: errors.span,
                    },
                    Err(msg) => {
                        cx.error_at(errors.span, msg);
                        continue;
                    }
                }
            }
        };
        let Some((target, target_span)) = target else {
            cx.error_at(
                slo.span,
                "an `slo` needs a `target`: the fraction of events that must be good, such as `target = 0.999`",
            );
            continue;
        };
        if let Err(msg) = metrics_rules::check_target(target) {
            cx.error_at(target_span, msg);
            continue;
        }
        out.push(SloSpec { name, span: slo.name.as_ref().map_or(slo.span, |n| n.span), target, objective });
    }
    out
}

/// Every name a metric puts in an exposition (the kind's rule in `metrics-rules`), each with
/// what it is, for messages.
fn exposed(m: &Metric) -> Vec<(String, &'static str)> {
    let family = m.kind.family_name(&m.name).to_owned();
    m.kind
        .exposed_names(&m.name)
        .into_iter()
        .map(|n| {
            let what = if n == m.name {
                if m.kind == Kind::Histogram {
                    "family"
                } else {
                    "samples"
                }
            } else if n == family {
                "OpenMetrics family"
            } else if n.ends_with("_bucket") {
                "`_bucket` series"
            } else if n.ends_with("_sum") {
                "`_sum` series"
            } else if n.ends_with("_count") {
                "`_count` series"
            } else {
                "`_created` series"
            };
            (n, what)
        })
        .collect()
}

fn check_collisions(cx: &Ctxt, metrics: &[Metric]) {
    let slos: Vec<(&SloSpec, &Metric)> = metrics.iter().flat_map(|m| m.slos.iter().map(move |s| (s, m))).collect();
    for (i, (slo, m)) in slos.iter().enumerate() {
        if let Some((_, other)) = slos[..i].iter().find(|(s, _)| s.name == slo.name) {
            cx.error_at(
                slo.span,
                format!(
                    "SLO `{}` of `{}` has the name of an SLO of `{}`; give one of them `name = \"..\"`",
                    slo.name, m.name, other.name
                ),
            );
        }
    }
    let valid: Vec<&Metric> = metrics.iter().filter(|m| m.name_ok).collect();
    for (i, m) in valid.iter().enumerate() {
        if let Some(p) = valid[..i].iter().find(|p| p.name == m.name) {
            cx.error_at(
                m.name_span,
                format!("duplicate metric name `{}`; field `{}` already uses it", m.name, p.ident),
            );
            continue;
        }
        let mine = exposed(m);
        'prev: for p in &valid[..i] {
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

fn generate(input: &DeriveInput, metrics: &[Metric], labels: &[ConstLabel]) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    let rt = quote!(::metrics_runtime);

    // The metrics that may hold heap: summaries (their digests) and histograms (a timed
    // series' stripes).
    let heap_fields: Vec<&syn::Ident> =
        metrics.iter().filter(|m| matches!(m.kind, Kind::Summary | Kind::Histogram)).map(|m| &m.ident).collect();
    let mut inits = Vec::new();
    let mut prefix_items = Vec::new();
    let mut descs = Vec::new();
    let mut writes = Vec::new();
    let mut asserts = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        let field = &m.ident;
        let ty = m.exemplars_of.as_ref().unwrap_or(&m.ty);
        let init = match (m.kind, &m.buckets, &m.quantiles) {
            _ if m.native.is_some() => {
                let (schema, zero, max) = m.native.expect("native");
                let zero = proc_macro2::Literal::f64_suffixed(zero);
                let b = m.buckets.clone().unwrap_or_default();
                let le: Vec<String> = b.iter().map(|v| float_text(*v)).collect();
                let b = b.iter().map(|v| proc_macro2::Literal::f64_suffixed(*v));
                quote!(<#ty>::with_config(#rt::NativeConfig {
                    schema: #schema,
                    zero_threshold: #zero,
                    max_buckets: #max,
                    bounds: &[#(#b),*],
                    le: &[#(#le),*],
                }))
            }
            (Kind::Histogram, Some(b), _) => {
                let le: Vec<String> = b.iter().map(|v| float_text(*v)).collect();
                let b = b.iter().map(|v| proc_macro2::Literal::f64_suffixed(*v));
                quote!(<#ty>::with_bounds(&[#(#b),*], &[#(#le),*]))
            }
            (Kind::Summary, _, q) => {
                let q = q.clone().unwrap_or_else(|| DEFAULT_QUANTILES.to_vec());
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
            _ if type_name(ty) == "WindowedCounter" => {
                let w = m.window_secs;
                quote!(<#ty>::with_window_secs(#w))
            }
            _ => quote!(<#ty>::new()),
        };
        let init = if m.exemplars_of.is_some() { quote!(#rt::exemplar::Exemplars::new(#init)) } else { init };
        inits.push(quote!(#field: #init));

        let help_raw = &m.help;
        let help = escape_help(&m.help);
        let help_om = escape_help_om(&m.help);
        let help_json = escape_json(&m.help);
        let unit = m.unit.as_deref().unwrap_or("");
        let name = &m.name;
        let family = m.kind.family_name(name);
        let kind = match m.kind {
            Kind::Counter => quote!(Counter),
            Kind::Gauge => quote!(Gauge),
            Kind::Histogram => quote!(Histogram),
            Kind::Summary => quote!(Summary),
            Kind::Info => quote!(Info),
        };
        // Counters and gauges get their series prefixes rendered at compile time (bounded by
        // `PREFIX_TABLE_LIMIT`; past it, and for histograms and summaries, the text writers
        // assemble prefixes from the compile-time label pairs).
        let tags_ty = &m.tags;
        let prefixes = if matches!(m.kind, Kind::Counter | Kind::Gauge) {
            let len = format_ident!("__PFX_LEN_{}", i);
            let n = format_ident!("__PFX_N_{}", i);
            let bytes = format_ident!("__PFX_BYTES_{}", i);
            let off = format_ident!("__PFX_OFF_{}", i);
            let table = format_ident!("__PFX_{}", i);
            let names = quote!(<#tags_ty as #rt::TagSet>::NAMES);
            let values = quote!(<#tags_ty as #rt::TagSet>::LABEL_VALUES);
            prefix_items.push(quote! {
                const #len: usize = #rt::__private::prefix_len(#name, #names, #values);
                const #n: usize = if #len == 0 { 0 } else { <#tags_ty as #rt::TagSet>::CARDINALITY + 1 };
                const #bytes: [u8; #len] = #rt::__private::prefix_bytes::<#len>(#name, #names, #values);
                const #off: [u32; #n] = #rt::__private::prefix_offsets::<#len, #n>(#name, #names, #values);
                const #table: #rt::__private::PrefixTable = #rt::__private::PrefixTable::new(&#bytes, &#off);
            });
            quote!(&#table)
        } else {
            quote!(&#rt::__private::PrefixTable::EMPTY)
        };
        // The declaration's shape: labels, buckets, quantiles, window, constant labels, SLOs.
        let shape = format_ident!("__SHAPE_{}", i);
        let lit = |v: &f64| proc_macro2::Literal::f64_suffixed(*v);
        let shape_buckets = classic_bounds(m.kind, m.buckets.as_deref(), m.native.is_some());
        let shape_buckets = shape_buckets.iter().map(lit);
        let shape_native = match m.native {
            Some((schema, zero, max)) => {
                let zero = lit(&zero);
                quote!(::core::option::Option::Some(#rt::__private::NativeShape { schema: #schema, zero_threshold: #zero, max_buckets: #max }))
            }
            None => quote!(::core::option::Option::None),
        };
        let shape_quantiles: Vec<f64> = match m.kind {
            Kind::Summary => m.quantiles.clone().unwrap_or_else(|| DEFAULT_QUANTILES.to_vec()),
            _ => Vec::new(),
        };
        let shape_quantiles = shape_quantiles.iter().map(lit);
        let shape_window =
            if m.kind == Kind::Summary || type_name(ty) == "WindowedCounter" { m.window_secs } else { 0 };
        let label_names = labels.iter().map(|l| &l.name);
        let label_values = labels.iter().map(|l| &l.value);
        let slos = m.slos.iter().map(|slo| {
            let slo_name = &slo.name;
            let target = lit(&slo.target);
            let objective = match &slo.objective {
                ObjectiveSpec::Latency { threshold } => {
                    let le = float_text(*threshold);
                    let threshold = lit(threshold);
                    quote!(#rt::__private::Objective::Latency { threshold: #threshold, le: #le })
                }
                ObjectiveSpec::Errors { label, values, .. } => {
                    quote!(#rt::__private::Objective::Errors { label: #label, values: &[#(#values),*] })
                }
            };
            quote!(#rt::__private::Slo { name: #slo_name, objective: #objective, target: #target })
        });
        prefix_items.push(quote! {
            const #shape: #rt::__private::MetricShape<'static> = #rt::__private::MetricShape {
                labels: <#tags_ty as #rt::TagSet>::NAMES,
                label_values: <#tags_ty as #rt::TagSet>::LABEL_VALUES,
                buckets: &[#(#shape_buckets),*],
                native: #shape_native,
                quantiles: &[#(#shape_quantiles),*],
                window_secs: #shape_window,
                const_labels: &[#((#label_names, #label_values)),*],
                slos: &[#(#slos),*],
            };
        });
        for slo in &m.slos {
            if let ObjectiveSpec::Errors { label, values, span } = &slo.objective {
                let slo_name = &slo.name;
                asserts.push(quote_spanned! {*span=>
                    const _: () = {
                        if let ::core::option::Option::Some(msg) = #rt::__private::check_error_selector(
                            <#tags_ty as #rt::TagSet>::NAMES,
                            <#tags_ty as #rt::TagSet>::LABEL_VALUES,
                            #label,
                            &[#(#values),*],
                            #slo_name,
                            #name,
                        ) {
                            ::core::panic!("{}", msg.as_str());
                        }
                    };
                });
            }
        }
        descs.push(quote! {
            #rt::__private::MetricDesc {
                name: #name,
                family: #family,
                kind: #rt::__private::MetricKind::#kind,
                help: #help_raw,
                help_text: #help,
                help_om: #help_om,
                help_json: #help_json,
                unit: #unit,
                prefixes: #prefixes,
                shape: &#shape,
            }
        });
        writes.push(quote! {
            self.#field.visit(&<Self as #rt::Metrics>::descriptors(self)[#i], visitor);
        });

        let tags = &m.tags;
        let max = m.max_series as usize;
        let too_many = format!("metric `{name}` has ");
        let too_many_end = format!(
            " series (the product of its tags' value counts), above its `max_series` of {max}; drop a tag or some values, or raise `max_series` if that memory is intended"
        );
        let reserved = match m.kind {
            Kind::Histogram => Some((
                "le",
                format!("histogram `{name}` has a tag named `le`, which is reserved for bucket bounds; rename the tag"),
            )),
            Kind::Summary => Some((
                "quantile",
                format!("summary `{name}` has a tag named `quantile`, which is reserved for quantiles; rename the tag"),
            )),
            _ => None,
        };
        let reserved_check = reserved.map(|(tag, msg)| {
            quote_spanned! {m.tags_span=>
                if #rt::__private::contains(<#tags as #rt::TagSet>::NAMES, #tag) {
                    ::core::panic!(#msg);
                }
            }
        });
        let label_checks = labels.iter().map(|l| {
            let label = &l.name;
            let msg = format!(
                "constant label `{label}` is also a tag of metric `{name}`; rename the tag or the constant label"
            );
            quote_spanned! {l.span=>
                if #rt::__private::contains(<#tags as #rt::TagSet>::NAMES, #label) {
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
                if #rt::__private::first_duplicate(<#tags as #rt::TagSet>::NAMES).is_some() {
                    ::core::panic!(#dup_msg);
                }
                #reserved_check
                #(#label_checks)*
            };
        });
    }

    let with_labels = if labels.is_empty() {
        quote!()
    } else {
        let names = labels.iter().map(|l| &l.name);
        let values = labels.iter().map(|l| &l.value);
        let text = labels
            .iter()
            .map(|l| format!("{}=\"{}\"", l.name, metrics_rules::escape_label_value(&l.value)))
            .collect::<Vec<_>>()
            .join(",");
        quote! {
            const LABELS: &[(&str, &str)] = &[#((#names, #values)),*];
            let mut with_labels = #rt::__private::ConstLabelsVisitor::new(LABELS, #text, visitor);
            let visitor: &mut dyn #rt::Visitor = &mut with_labels;
        }
    };

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
                fn descriptors(&self) -> &'static [#rt::__private::MetricDesc<'static>] {
                    #(#prefix_items)*
                    const DESCRIPTORS: &[#rt::__private::MetricDesc<'static>] = &[#(#descs),*];
                    DESCRIPTORS
                }

                fn visit(&self, visitor: &mut dyn #rt::Visitor) {
                    #with_labels
                    #(#writes)*
                }

                fn heap_bytes(&self) -> usize {
                    0 #(+ self.#heap_fields.heap_bytes())*
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
        Data::Struct(data) => data.fields.len() == metrics.len() && matches!(data.fields, Fields::Named(_)),
        _ => false,
    };
    let new_body = if all_typed {
        let inits = metrics.iter().map(|m| {
            let field = &m.ident;
            match &m.exemplars_of {
                Some(inner) => quote!(#field: #rt::exemplar::Exemplars::new(<#inner>::new())),
                None => {
                    let ty = &m.ty;
                    match type_name(ty).as_str() {
                        "WindowedCounter" => quote!(#field: <#ty>::with_window_secs(60)),
                        "WindowedHistogram" => quote!(#field: <#ty>::with_config(&#rt::SummaryConfig::DEFAULT)),
                        _ => quote!(#field: <#ty>::new()),
                    }
                }
            }
        });
        quote!(Self { #(#inits,)* })
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
                fn descriptors(&self) -> &'static [#rt::__private::MetricDesc<'static>] { &[] }
                fn visit(&self, _: &mut dyn #rt::Visitor) {}
            }
        };
    }
}
