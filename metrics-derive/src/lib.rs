//! Derives for `metrics-runtime`: `Tag`, `TagSet` and `Metrics`.
//!
//! Use them through `metrics-runtime`, which re-exports them. Each derive parses its input,
//! checks every rule (reporting all errors of the item at once, each on the narrowest span)
//! and expands to code that uses absolute paths only.

mod attr;
mod ctxt;
mod metrics;
mod tag;
mod tag_set;
mod timed;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `metrics_runtime::Tag` (and `TagSet`, `FromStr`) for a fieldless enum.
#[proc_macro_derive(Tag, attributes(tag))]
pub fn derive_tag(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    tag::expand(&input).into()
}

/// Derives `metrics_runtime::TagSet` for a struct whose fields are tags.
#[proc_macro_derive(TagSet, attributes(tag))]
pub fn derive_tag_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    tag_set::expand(&input).into()
}

/// Derives `metrics_runtime::Metrics`, a `const fn new()` and the exposition for a struct of metrics.
#[proc_macro_derive(Metrics, attributes(metrics, metric))]
pub fn derive_metrics(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    metrics::expand(&input).into()
}

/// Records the elapsed seconds of a fn into a Histogram or Summary on every exit path: return,
/// `?`, panic, and for `async fn` a future dropped before completion.
#[proc_macro_attribute]
pub fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    timed::expand(args.into(), item.into()).into()
}
