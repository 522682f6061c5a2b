//! The schema as the source of truth (feature `catalog`): a machine-readable catalog of every
//! metric, a Markdown reference, Prometheus recording and alerting rules, and a Grafana
//! dashboard, all generated from the descriptors the derive writes at compile time, so that
//! none of them can drift from the code.
//!
//! - [`Catalog::of`] / [`Catalog::of_registry`]: every metric's name, kind, unit, HELP, labels
//!   with every value, buckets, native schema, quantiles, window, constant labels and
//!   service-level objectives. Serialized as JSON ([`Catalog::to_json`]), format
//!   [`Catalog::FORMAT`]: see [`Catalog`] for every field.
//! - [`Catalog::to_markdown`]: a reference table per struct, and the objectives.
//! - [`Catalog::rules`]: recording rules (rates of counters, p50/p90/p99 and observation rates
//!   of histograms per tag set, error ratios of every SLO over 5m, 30m, 1h and 6h) and the
//!   multi-window, multi-burn-rate alerts of every SLO (1h and 5m windows at 14.4 times the
//!   sustainable burn rate, 6h and 30m at 6 times), as YAML that `promtool check rules` accepts
//!   ([`Rules::to_yaml`]).
//! - [`Catalog::dashboard`]: a Grafana dashboard (JSON model): a row per struct, panels chosen by
//!   kind and unit (rates for counters, quantiles and a heatmap for histograms, time series for
//!   gauges and summaries, a table for info metrics), and a row of objectives.
//!
//! The JSON format (`metrics-runtime-catalog/1`; fields are added, never renamed or removed,
//! within a version): a `groups` list, one per struct, each a `name` and its `metrics`; each
//! metric has `name`, `family`, `kind`, `unit`, `help`, `sample_names`, `labels` (`name` and
//! `values`, empty when known only at run time) and `series` (`null` then), and when they apply
//! `const_labels`, `buckets`, `native` (`schema`, `zero_threshold`, `max_buckets`),
//! `quantiles`, `window_secs` and `slos` (`name`, `target`, `objective`: `latency` with
//! `threshold` and `le`, or `errors` with `label` and `values`). The registry's constant labels
//! are in a top-level `labels`. For example:
//!
//! ```json
//! {
//!   "format": "metrics-runtime-catalog/1",
//!   "groups": [{ "name": "Shop", "metrics": [{
//!     "name": "shop_checkouts_total", "family": "shop_checkouts", "kind": "counter",
//!     "unit": "", "help": "Checkouts, by outcome.",
//!     "sample_names": ["shop_checkouts_total", "shop_checkouts_created"],
//!     "labels": [{ "name": "outcome", "values": ["ok", "error", "cancelled", "panicked"] }],
//!     "series": 4,
//!     "slos": [{ "name": "shop_checkouts_errors", "target": 0.99,
//!                "objective": "errors", "label": "outcome", "values": ["error"] }]
//!   }]}]
//! }
//! ```
//!
//! Series of a [`BoundedRegistry`](crate::dynamic::BoundedRegistry)'s run-time families are
//! not in the catalog: their names and labels are only known at run time (its own metrics are).
//!
//! # Examples
//!
//! ```
//! use metrics_runtime::catalog::{Catalog, RulesConfig};
//! use metrics_runtime::{Counter, Histogram, Metrics, Outcome};
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "shop")]
//! struct Shop {
//!     /// Checkouts, by outcome.
//!     #[metric(slo(errors = "outcome=error", target = 0.99))]
//!     checkouts_total: Counter<Outcome>,
//!     /// Time to check out.
//!     #[metric(unit = "seconds", slo(latency = "250ms", target = 0.999))]
//!     checkout_seconds: Histogram,
//! }
//!
//! let catalog = Catalog::of(&Shop::new());
//! let json = catalog.to_json();
//! assert_eq!(Catalog::from_json(&json).unwrap(), catalog);
//!
//! let rules = catalog.rules(&RulesConfig::default()).unwrap();
//! let yaml = rules.to_yaml();
//! assert!(yaml.contains("record: \"job_outcome:shop_checkouts:rate5m\""));
//! assert!(yaml.contains("alert: \"ShopCheckoutSecondsLatencyFastBurn\""));
//! assert!(catalog.to_markdown().contains("| `shop_checkout_seconds` | histogram | seconds |"));
//! ```

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::desc::{MetricDesc, MetricKind, Objective};
use crate::group::Metrics;
use crate::registry::Registry;

/// Every metric of some structs, as their declarations describe them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// [`Catalog::FORMAT`]: the format's name and version.
    pub format: String,
    /// Constant labels added to every series by the registry ([`Registry::set_labels`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<ConstLabel>,
    /// One group per registered struct, in registration order.
    pub groups: Vec<Group>,
}

/// The metrics of one struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The struct's type name (`ShopMetrics`).
    pub name: String,
    /// Its metrics, in declaration order.
    pub metrics: Vec<Entry>,
}

/// One metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The exposed name, namespace included (`shop_requests_total`).
    pub name: String,
    /// The OpenMetrics family name.
    pub family: String,
    /// `counter`, `gauge`, `histogram`, `summary` or `info`.
    pub kind: MetricKind,
    /// The declared unit, or `""`.
    pub unit: String,
    /// HELP as written.
    pub help: String,
    /// Every sample name the metric writes in OpenMetrics (`_bucket`, `_sum`, `_count`,
    /// `_created` included; the Prometheus text format leaves `_created` out).
    pub sample_names: Vec<String>,
    /// Its labels (the tag set's), in order.
    pub labels: Vec<Label>,
    /// The struct's constant labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub const_labels: Vec<ConstLabel>,
    /// The number of series, when every label's values are known (the product of their counts).
    pub series: Option<u64>,
    /// A histogram's classic bucket bounds (`+Inf` implied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<f64>>,
    /// A native histogram's layout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<Native>,
    /// A summary's quantiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantiles: Option<Vec<f64>>,
    /// The window of a summary or windowed counter, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// Its service-level objectives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<SloEntry>,
}

/// A label and its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// The label name.
    pub name: String,
    /// Every value it takes, unescaped; empty when they are only known at run time.
    pub values: Vec<String>,
}

/// A constant label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstLabel {
    /// The label name.
    pub name: String,
    /// Its value, unescaped.
    pub value: String,
}

/// A native histogram's layout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Native {
    /// The schema.
    pub schema: i8,
    /// The zero bucket's threshold.
    pub zero_threshold: f64,
    /// The buckets kept before the resolution halves.
    pub max_buckets: usize,
}

/// A service-level objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloEntry {
    /// Its name, unique in its struct.
    pub name: String,
    /// The fraction of events that must be good.
    pub target: f64,
    /// What makes an event good.
    #[serde(flatten)]
    pub objective: SloObjective,
}

/// What makes an event good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "objective", rename_all = "snake_case")]
pub enum SloObjective {
    /// An observation at or below `threshold` (in the metric's unit) is good.
    Latency {
        /// The threshold.
        threshold: f64,
        /// The bucket bound's `le` text.
        le: String,
    },
    /// An event whose `label` has one of `values` is bad.
    Errors {
        /// The label.
        label: String,
        /// The values that mean an error, unescaped.
        values: Vec<String>,
    },
}

/// Why rules cannot be generated for a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CatalogError {
    /// A latency objective's threshold is a native boundary only, and the rules are for the
    /// classic (text) exposition, where only the classic buckets are stored.
    NeedsNativeHistograms {
        /// The objective.
        slo: String,
    },
    /// The catalog was written in another format.
    Format {
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogError::NeedsNativeHistograms { slo } => write!(
                f,
                "SLO `{slo}`: its threshold is a native-histogram boundary but no classic bucket bound; generate the rules with `native_histograms: true` (Prometheus scraping the protobuf format with native histograms enabled) or add the bound to `buckets`"
            ),
            CatalogError::Format { reason } => write!(f, "not a catalog: {reason}"),
        }
    }
}

impl std::error::Error for CatalogError {}

/// Undoes the text formats' label-value escaping (`\\`, `\"`, `\n`).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The sample names a metric writes in OpenMetrics (the text format leaves `_created` out).
fn sample_names(kind: MetricKind, name: &str) -> Vec<String> {
    let stem = match kind {
        MetricKind::Counter => kind.family_name(name),
        MetricKind::Info => return vec![name.to_owned()],
        _ => name,
    };
    kind.sample_suffixes().iter().map(|suffix| format!("{stem}{suffix}")).collect()
}

/// The last segment of a type name, generics dropped (`app::ShopMetrics` is `ShopMetrics`).
fn short_type_name(name: &str) -> String {
    let base = name.split('<').next().unwrap_or(name);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

impl Entry {
    /// The entry of one descriptor.
    fn of(d: &MetricDesc<'_>) -> Self {
        let s = d.shape;
        let labels: Vec<Label> = s
            .labels
            .iter()
            .enumerate()
            .map(|(i, name)| Label {
                name: (*name).to_owned(),
                values: s.label_values.get(i).map_or_else(Vec::new, |v| v.iter().map(|v| unescape(v)).collect()),
            })
            .collect();
        let series =
            labels
                .iter()
                .try_fold(1u64, |n, l| if l.values.is_empty() { None } else { n.checked_mul(l.values.len() as u64) });
        let slos = s
            .slos
            .iter()
            .map(|slo| SloEntry {
                name: slo.name.to_owned(),
                target: slo.target,
                objective: match slo.objective {
                    Objective::Latency { threshold, le } => SloObjective::Latency { threshold, le: le.to_owned() },
                    Objective::Errors { label, values } => SloObjective::Errors {
                        label: label.to_owned(),
                        values: values.iter().map(|v| unescape(v)).collect(),
                    },
                },
            })
            .collect();
        let histogram = d.kind == MetricKind::Histogram;
        Entry {
            name: d.name.to_owned(),
            family: d.family.to_owned(),
            kind: d.kind,
            unit: d.unit.to_owned(),
            help: d.help.to_owned(),
            sample_names: sample_names(d.kind, d.name),
            labels,
            const_labels: s
                .const_labels
                .iter()
                .map(|(name, value)| ConstLabel { name: (*name).to_owned(), value: (*value).to_owned() })
                .collect(),
            series,
            buckets: histogram.then(|| s.buckets.to_vec()),
            native: s.native.map(|n| Native {
                schema: n.schema,
                zero_threshold: n.zero_threshold,
                max_buckets: n.max_buckets,
            }),
            quantiles: (d.kind == MetricKind::Summary).then(|| s.quantiles.to_vec()),
            window_secs: (s.window_secs > 0).then_some(s.window_secs),
            slos,
        }
    }

    /// The label names as `a, b`, for `by (..)` clauses.
    fn label_list(&self) -> Vec<&str> {
        self.labels.iter().map(|l| l.name.as_str()).collect()
    }
}

impl Catalog {
    /// The format written in [`Catalog::format`]: bumped when a field changes meaning or goes away.
    pub const FORMAT: &'static str = "metrics-runtime-catalog/1";

    /// The catalog of one struct.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::catalog::Catalog;
    /// use metrics_runtime::{Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Pool {
    ///     /// Open connections.
    ///     connections: Gauge,
    /// }
    ///
    /// let catalog = Catalog::of(&Pool::new());
    /// assert_eq!(catalog.groups[0].name, "Pool");
    /// assert_eq!(catalog.groups[0].metrics[0].name, "connections");
    /// ```
    pub fn of(metrics: &dyn Metrics) -> Self {
        Catalog { format: Self::FORMAT.to_owned(), labels: Vec::new(), groups: vec![Self::group(metrics)] }
    }

    /// The catalog of every struct registered in `registry`, with its constant labels.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::catalog::Catalog;
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    ///
    /// let mut registry = Registry::new();
    /// registry.register(&JOBS).unwrap();
    /// registry.set_labels(&[("region", "eu")]).unwrap();
    /// let catalog = Catalog::of_registry(&registry);
    /// assert_eq!(catalog.labels[0].value, "eu");
    /// assert_eq!(catalog.groups[0].metrics[0].sample_names, ["jobs_total", "jobs_created"]);
    /// ```
    pub fn of_registry(registry: &Registry) -> Self {
        Catalog {
            format: Self::FORMAT.to_owned(),
            labels: registry
                .const_labels()
                .map(|(name, value)| ConstLabel { name: name.to_owned(), value: value.to_owned() })
                .collect(),
            groups: registry.structs().map(Self::group).collect(),
        }
    }

    fn group(metrics: &dyn Metrics) -> Group {
        Group {
            name: short_type_name(metrics.type_name()),
            metrics: metrics.descriptors().iter().map(Entry::of).collect(),
        }
    }

    /// The catalog as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a catalog serializes");
        text.push('\n');
        text
    }

    /// A catalog read back from [`Catalog::to_json`]'s output.
    ///
    /// # Errors
    ///
    /// [`CatalogError::Format`] if the text is not a catalog of [`Catalog::FORMAT`].
    pub fn from_json(text: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog =
            serde_json::from_str(text).map_err(|e| CatalogError::Format { reason: e.to_string() })?;
        if catalog.format != Self::FORMAT {
            return Err(CatalogError::Format {
                reason: format!("format `{}`, expected `{}`", catalog.format, Self::FORMAT),
            });
        }
        Ok(catalog)
    }

    /// Every metric of every group.
    fn entries(&self) -> impl Iterator<Item = (&Group, &Entry)> {
        self.groups.iter().flat_map(|g| g.metrics.iter().map(move |m| (g, m)))
    }

    /// A Markdown reference: a table of the metrics of each struct, then the objectives.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Metric catalog\n\n");
        out.push_str("Generated from the metric declarations; do not edit by hand.\n");
        if !self.labels.is_empty() {
            let labels: Vec<String> = self.labels.iter().map(|l| format!("`{}=\"{}\"`", l.name, l.value)).collect();
            let _ = write!(out, "\nEvery series carries {}.\n", labels.join(", "));
        }
        for group in &self.groups {
            let _ = write!(out, "\n## {}\n\n", group.name);
            out.push_str("| metric | type | unit | labels | series | details | help |\n");
            out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
            for m in &group.metrics {
                let labels = m
                    .labels
                    .iter()
                    .map(|l| {
                        if l.values.is_empty() {
                            format!("`{}` (run time)", l.name)
                        } else {
                            format!("`{}`: {}", l.name, l.values.join(", "))
                        }
                    })
                    .chain(m.const_labels.iter().map(|l| format!("`{}` = {}", l.name, l.value)))
                    .collect::<Vec<_>>()
                    .join("; ");
                let series = m.series.map_or_else(|| "run time".to_owned(), |n| n.to_string());
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} | {} |",
                    m.name,
                    m.kind.as_str(),
                    m.unit,
                    cell(&labels),
                    series,
                    cell(&details(m)),
                    cell(&m.help)
                );
            }
        }
        let slos: Vec<(&Entry, &SloEntry)> =
            self.entries().flat_map(|(_, m)| m.slos.iter().map(move |s| (m, s))).collect();
        if !slos.is_empty() {
            out.push_str("\n## Service-level objectives\n\n");
            out.push_str("| SLO | metric | good events | target | alerts |\n| --- | --- | --- | --- | --- |\n");
            for (m, slo) in slos {
                let good = match &slo.objective {
                    SloObjective::Latency { threshold, .. } => format!("observations <= {threshold} {}", m.unit),
                    SloObjective::Errors { label, values } => format!("`{label}` not {}", values.join(" or ")),
                };
                let alerts: Vec<String> =
                    BURN_RATES.iter().map(|b| format!("`{}{}`", alert_stem(&slo.name), b.suffix)).collect();
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} | {} | {} |",
                    slo.name,
                    m.name,
                    cell(good.trim_end()),
                    slo.target,
                    alerts.join(", ")
                );
            }
        }
        out
    }
}

/// A Markdown table cell: `|` escaped, newlines as spaces.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Buckets, native schema, quantiles and window, for the Markdown table.
fn details(m: &Entry) -> String {
    let list = |v: &[f64]| v.iter().map(|b| metrics_rules::float_text(*b)).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if let Some(b) = m.buckets.as_ref().filter(|b| !b.is_empty()) {
        parts.push(format!("buckets {}", list(b)));
    }
    if let Some(n) = &m.native {
        parts.push(format!("native schema {}, up to {} buckets", n.schema, n.max_buckets));
    }
    if let Some(q) = &m.quantiles {
        parts.push(format!("quantiles {}", list(q)));
    }
    if let Some(w) = m.window_secs {
        parts.push(format!("window {w} s"));
    }
    parts.join("; ")
}

/// A multi-window, multi-burn-rate alert: both windows burn the error budget `factor` times
/// faster than it lasts (the SRE workbook's paging pairs: 2% of a 30-day budget in an hour, 5%
/// in six hours).
#[derive(Debug, Clone, Copy)]
pub struct BurnRate {
    /// The long window.
    pub long: &'static str,
    /// The short window, which lets the alert stop soon after the burn does.
    pub short: &'static str,
    /// How many times faster than sustainable the budget burns.
    pub factor: f64,
    /// The alert name's suffix.
    pub suffix: &'static str,
}

/// The alerts generated for every SLO.
pub const BURN_RATES: [BurnRate; 2] = [
    BurnRate { long: "1h", short: "5m", factor: 14.4, suffix: "FastBurn" },
    BurnRate { long: "6h", short: "30m", factor: 6.0, suffix: "SlowBurn" },
];

/// The windows over which every SLO's error ratio is recorded.
pub const SLO_WINDOWS: [&str; 4] = ["5m", "30m", "1h", "6h"];

/// The name of the recorded error ratio of every SLO (one series per SLO, told apart by its
/// `slo` label), after the window: `job:slo_errors_per_event:ratio_rate5m`.
pub fn error_ratio_record(window: &str) -> String {
    format!("job:slo_errors_per_event:ratio_rate{window}")
}

/// `shop_checkout_seconds_latency` as `ShopCheckoutSecondsLatency`.
fn alert_stem(slo: &str) -> String {
    slo.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// How to generate rules and dashboards.
#[derive(Debug, Clone)]
pub struct RulesConfig {
    /// The range of the recorded rates (default `5m`).
    pub rate_window: String,
    /// Whether Prometheus stores native histograms natively (it scrapes the protobuf format with
    /// native histograms enabled): their queries then read the native series instead of the
    /// classic `_bucket` ones. Default: false, the text exposition.
    pub native_histograms: bool,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self { rate_window: "5m".to_owned(), native_histograms: false }
    }
}

/// Prometheus rule groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// The groups, one of recording rules per struct, then one per struct with objectives.
    pub groups: Vec<RuleGroup>,
}

/// A rule group.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// The group's name.
    pub name: String,
    /// Its rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// What the rule is: `record` (a recording rule) or `alert`, with its name.
    pub kind: RuleKind,
    /// The PromQL expression.
    pub expr: String,
    /// Labels added to the result.
    pub labels: Vec<(String, String)>,
    /// An alert's annotations.
    pub annotations: Vec<(String, String)>,
}

/// A recording or an alerting rule, with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `record: NAME`.
    Record(String),
    /// `alert: NAME`.
    Alert(String),
}

impl Rule {
    fn record(name: String, expr: String) -> Self {
        Rule { kind: RuleKind::Record(name), expr, labels: Vec::new(), annotations: Vec::new() }
    }
}

/// A PromQL string literal: the text formats' label-value escaping is Go's for `\\`, `"` and
/// newline.
fn promql_str(value: &str) -> String {
    format!("\"{}\"", metrics_rules::escape_label_value(value))
}

/// `by (job, a, b)`.
fn by_job(labels: &[&str]) -> String {
    format!("by ({})", std::iter::once("job").chain(labels.iter().copied()).collect::<Vec<_>>().join(", "))
}

/// The error budget of a target (`1 - target`), without the float noise of the subtraction.
fn budget(target: f64) -> f64 {
    format!("{:.12}", 1.0 - target).parse().unwrap_or(1.0 - target)
}

/// The level of a recording rule's name: `job` and the labels kept (`job_route_status`).
fn level(labels: &[&str]) -> String {
    std::iter::once("job").chain(labels.iter().copied()).collect::<Vec<_>>().join("_")
}

/// Quantiles recorded for every histogram.
const RECORDED_QUANTILES: [(f64, &str); 3] = [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")];

impl Entry {
    /// Whether PromQL reads this histogram's native series.
    fn reads_native(&self, config: &RulesConfig) -> bool {
        config.native_histograms && self.native.is_some()
    }

    /// `histogram_quantile(q, ..)` over rates of the histogram, summed by `job` (if `job`) and
    /// `labels`.
    fn quantile_expr(&self, q: f64, labels: &[&str], job: bool, selector: &str, window: &str, native: bool) -> String {
        let mut keep: Vec<&str> = Vec::new();
        if job {
            keep.push("job");
        }
        if !native {
            keep.push("le");
        }
        keep.extend_from_slice(labels);
        let series = if native { self.name.clone() } else { format!("{}_bucket", self.name) };
        format!("histogram_quantile({q}, sum by ({}) (rate({series}{selector}[{window}])))", keep.join(", "))
    }

    /// The series counting events: the counter itself, or a histogram's or summary's `_count`.
    fn events_name(&self) -> String {
        match self.kind {
            MetricKind::Counter => self.name.clone(),
            _ => format!("{}_count", self.name),
        }
    }

    /// Bad events over all events of an SLO, over `window`, by job.
    fn error_ratio(&self, slo: &SloEntry, window: &str, config: &RulesConfig) -> Result<String, CatalogError> {
        Ok(match &slo.objective {
            SloObjective::Latency { threshold, le } => {
                if self.reads_native(config) {
                    format!("1 - histogram_fraction(0, {threshold}, sum by (job) (rate({}[{window}])))", self.name)
                } else {
                    let classic = self.buckets.as_ref().is_some_and(|b| b.contains(threshold));
                    if !classic {
                        return Err(CatalogError::NeedsNativeHistograms { slo: slo.name.clone() });
                    }
                    format!(
                        "1 - (sum by (job) (rate({name}_bucket{{le={le}}}[{window}])) / sum by (job) (rate({name}_count[{window}])))",
                        name = self.name,
                        le = promql_str(le),
                    )
                }
            }
            SloObjective::Errors { label, values } => {
                let matcher = if values.len() == 1 {
                    format!("{label}={}", promql_str(&values[0]))
                } else {
                    let alternatives: Vec<String> = values.iter().map(|v| regex_escape(v)).collect();
                    format!("{label}=~{}", promql_str(&alternatives.join("|")))
                };
                if self.reads_native(config) {
                    format!(
                        "sum by (job) (histogram_count(rate({name}{{{matcher}}}[{window}]))) / sum by (job) (histogram_count(rate({name}[{window}])))",
                        name = self.name
                    )
                } else {
                    let events = self.events_name();
                    format!(
                        "sum by (job) (rate({events}{{{matcher}}}[{window}])) / sum by (job) (rate({events}[{window}]))"
                    )
                }
            }
        })
    }
}

/// A value as a literal in an RE2 alternative.
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Catalog {
    /// The recording and alerting rules of every metric and objective.
    ///
    /// Per struct, a group `<Struct>.recording`: for each counter `sum by (job, tags)` of its
    /// rate (`job_<tags>:<family>:rate5m`); for each histogram its p50, p90 and p99 per tag set
    /// (`job_<tags>:<name>:p99_rate5m`) and its rate of observations
    /// (`job_<tags>:<name>_count:rate5m`); for each summary its rate of observations. Per struct
    /// with objectives, a group `<Struct>.slo`: each SLO's error ratio by job over 5m, 30m, 1h
    /// and 6h (`job:slo_errors_per_event:ratio_rate1h{slo="<name>"}`), then its two burn-rate
    /// alerts ([`BURN_RATES`]), labelled `severity="page"` and `slo`.
    ///
    /// # Errors
    ///
    /// [`CatalogError::NeedsNativeHistograms`] for a latency objective on a native-histogram
    /// boundary that is not a classic bucket bound, unless `config.native_histograms`.
    pub fn rules(&self, config: &RulesConfig) -> Result<Rules, CatalogError> {
        let w = &config.rate_window;
        let mut groups = Vec::new();
        for group in &self.groups {
            let mut recording = Vec::new();
            for m in &group.metrics {
                let labels = m.label_list();
                let grouping = by_job(&labels);
                let level = level(&labels);
                match m.kind {
                    MetricKind::Counter => recording.push(Rule::record(
                        format!("{level}:{}:rate{w}", m.family),
                        format!("sum {grouping} (rate({}[{w}]))", m.name),
                    )),
                    MetricKind::Histogram => {
                        let native = m.reads_native(config);
                        for (q, tag) in RECORDED_QUANTILES {
                            recording.push(Rule::record(
                                format!("{level}:{}:{tag}_rate{w}", m.name),
                                m.quantile_expr(q, &labels, true, "", w, native),
                            ));
                        }
                        let count = if native {
                            format!("sum {grouping} (histogram_count(rate({}[{w}])))", m.name)
                        } else {
                            format!("sum {grouping} (rate({}_count[{w}]))", m.name)
                        };
                        recording.push(Rule::record(format!("{level}:{}_count:rate{w}", m.name), count));
                    }
                    MetricKind::Summary => recording.push(Rule::record(
                        format!("{level}:{}_count:rate{w}", m.name),
                        format!("sum {grouping} (rate({}_count[{w}]))", m.name),
                    )),
                    MetricKind::Gauge | MetricKind::Info => {}
                }
            }
            if !recording.is_empty() {
                groups.push(RuleGroup { name: format!("{}.recording", group.name), rules: recording });
            }
            let mut slo_rules = Vec::new();
            for m in &group.metrics {
                for slo in &m.slos {
                    let slo_label = vec![("slo".to_owned(), slo.name.clone())];
                    for window in SLO_WINDOWS {
                        slo_rules.push(Rule {
                            kind: RuleKind::Record(error_ratio_record(window)),
                            expr: m.error_ratio(slo, window, config)?,
                            labels: slo_label.clone(),
                            annotations: Vec::new(),
                        });
                    }
                    let budget = format!("(1 - {})", slo.target);
                    for burn in BURN_RATES {
                        let pick = |window: &str| {
                            format!(
                                "{}{{slo={}}} > ({} * {budget})",
                                error_ratio_record(window),
                                promql_str(&slo.name),
                                burn.factor
                            )
                        };
                        slo_rules.push(Rule {
                            kind: RuleKind::Alert(format!("{}{}", alert_stem(&slo.name), burn.suffix)),
                            expr: format!("{} and {}", pick(burn.long), pick(burn.short)),
                            labels: vec![("severity".to_owned(), "page".to_owned()), ("slo".to_owned(), slo.name.clone())],
                            annotations: vec![
                                (
                                    "summary".to_owned(),
                                    format!(
                                        "SLO {} burns its error budget {}x faster than sustainable",
                                        slo.name, burn.factor
                                    ),
                                ),
                                (
                                    "description".to_owned(),
                                    format!(
                                        "The error ratio of {} over the last {} and the last {} is above {} times the budget of its {} target.",
                                        m.name, burn.long, burn.short, burn.factor, slo.target
                                    ),
                                ),
                            ],
                        });
                    }
                }
            }
            if !slo_rules.is_empty() {
                groups.push(RuleGroup { name: format!("{}.slo", group.name), rules: slo_rules });
            }
        }
        Ok(Rules { groups })
    }
}

/// A YAML scalar: a double-quoted string, escaped as in JSON (which YAML's double-quoted
/// style accepts).
fn yaml_str(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

impl Rules {
    /// The rules as a Prometheus rule file.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from("# Generated from the metric declarations; do not edit by hand.\ngroups:\n");
        for group in &self.groups {
            let _ = writeln!(out, "  - name: {}\n    rules:", yaml_str(&group.name));
            for rule in &group.rules {
                match &rule.kind {
                    RuleKind::Record(name) => {
                        let _ = writeln!(out, "      - record: {}", yaml_str(name));
                    }
                    RuleKind::Alert(name) => {
                        let _ = writeln!(out, "      - alert: {}", yaml_str(name));
                    }
                }
                let _ = writeln!(out, "        expr: {}", yaml_str(&rule.expr));
                for (key, pairs) in [("labels", &rule.labels), ("annotations", &rule.annotations)] {
                    if pairs.is_empty() {
                        continue;
                    }
                    let _ = writeln!(out, "        {key}:");
                    for (k, v) in pairs {
                        let _ = writeln!(out, "          {k}: {}", yaml_str(v));
                    }
                }
            }
        }
        out
    }

    /// Every recording rule, as `(name, labels)`.
    pub fn records(&self) -> impl Iterator<Item = (&str, &[(String, String)])> {
        self.groups.iter().flat_map(|g| g.rules.iter()).filter_map(|r| match &r.kind {
            RuleKind::Record(name) => Some((name.as_str(), r.labels.as_slice())),
            RuleKind::Alert(_) => None,
        })
    }

    /// Every alerting rule.
    pub fn alerts(&self) -> impl Iterator<Item = &Rule> {
        self.groups.iter().flat_map(|g| g.rules.iter()).filter(|r| matches!(r.kind, RuleKind::Alert(_)))
    }
}

/// The Grafana unit of a metric's values.
fn grafana_unit(unit: &str) -> &'static str {
    match unit {
        "seconds" => "s",
        "bytes" => "bytes",
        "ratio" => "percentunit",
        "celsius" => "celsius",
        "meters" => "lengthm",
        "volts" => "volt",
        "amperes" => "amp",
        "joules" => "joule",
        "grams" => "massg",
        _ => "short",
    }
}

/// The Grafana unit of a counter's rate.
fn grafana_rate_unit(unit: &str) -> &'static str {
    match unit {
        // Seconds per second: a share of one, such as a CPU's busy time.
        "seconds" => "percentunit",
        "bytes" => "Bps",
        _ => "ops",
    }
}

/// A dashboard's settings.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    /// The dashboard's title.
    pub title: String,
    /// Its uid (stable, so that a provisioned dashboard is updated in place).
    pub uid: String,
    /// How the queries read native histograms (see [`RulesConfig::native_histograms`]).
    pub native_histograms: bool,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self { title: "Metrics".to_owned(), uid: "metrics-runtime".to_owned(), native_histograms: false }
    }
}

/// Lays panels out on Grafana's 24-column grid, two per row.
struct Grid {
    panels: Vec<Value>,
    x: u32,
    y: u32,
    id: u32,
}

impl Grid {
    const WIDTH: u32 = 12;
    const HEIGHT: u32 = 8;

    fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.x = 0;
            self.y += Self::HEIGHT;
        }
        self.id += 1;
        self.panels.push(json!({
            "type": "row", "id": self.id, "title": title, "collapsed": false, "panels": [],
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
        }));
        self.y += 1;
    }

    fn panel(&mut self, mut panel: Value) {
        self.id += 1;
        panel["id"] = json!(self.id);
        panel["datasource"] = json!({ "type": "prometheus", "uid": "${datasource}" });
        panel["gridPos"] = json!({ "h": Self::HEIGHT, "w": Self::WIDTH, "x": self.x, "y": self.y });
        self.panels.push(panel);
        self.x += Self::WIDTH;
        if self.x >= 24 {
            self.x = 0;
            self.y += Self::HEIGHT;
        }
    }
}

/// A query target of a panel.
fn target(expr: String, legend: &str, ref_id: char) -> Value {
    json!({
        "datasource": { "type": "prometheus", "uid": "${datasource}" },
        "expr": expr, "legendFormat": legend, "refId": ref_id.to_string(), "range": true,
    })
}

/// `{{a}} {{b}}`, or `__auto` for no labels.
fn legend(labels: &[&str]) -> String {
    if labels.is_empty() {
        "__auto".to_owned()
    } else {
        labels.iter().map(|l| format!("{{{{{l}}}}}")).collect::<Vec<_>>().join(" ")
    }
}

/// The selector of the dashboard's job variable.
const JOB: &str = "{job=~\"$job\"}";

impl Catalog {
    /// A Grafana dashboard (JSON model, schema version 39): a row per struct with a panel per
    /// metric chosen by its kind and unit, then a row of objectives. Queries filter on the
    /// `$job` variable and use `$__rate_interval`; the data source is the `$datasource`
    /// variable (any Prometheus).
    ///
    /// - counter: `sum by (tags) (rate(..[$__rate_interval]))`, unit per second;
    /// - gauge, callback gauge, windowed counter: the series as they are;
    /// - histogram: p50, p90, p99 per tag set, and a heatmap of its buckets;
    /// - summary: its quantile series;
    /// - info: a table of its labels;
    /// - each SLO: its error ratio over 5m and 1h against its budget.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::catalog::{Catalog, DashboardConfig};
    /// use metrics_runtime::{Histogram, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Api {
    ///     /// Time to serve a request.
    ///     #[metric(unit = "seconds")]
    ///     request_seconds: Histogram,
    /// }
    ///
    /// let dashboard = Catalog::of(&Api::new()).dashboard(&DashboardConfig::default());
    /// let panels = dashboard["panels"].as_array().unwrap();
    /// assert_eq!(panels[0]["type"], "row");
    /// assert_eq!(panels[1]["fieldConfig"]["defaults"]["unit"], "s");
    /// assert_eq!(panels[2]["type"], "heatmap");
    /// ```
    pub fn dashboard(&self, config: &DashboardConfig) -> Value {
        let rules = RulesConfig { native_histograms: config.native_histograms, ..RulesConfig::default() };
        let mut grid = Grid { panels: Vec::new(), x: 0, y: 0, id: 0 };
        for group in &self.groups {
            grid.row(&group.name);
            for m in &group.metrics {
                let labels = m.label_list();
                let description = m.help.clone();
                match m.kind {
                    MetricKind::Counter => {
                        let grouping = if labels.is_empty() { String::new() } else { format!("by ({}) ", labels.join(", ")) };
                        grid.panel(json!({
                            "type": "timeseries", "title": format!("{} rate", m.name), "description": description,
                            "fieldConfig": { "defaults": { "unit": grafana_rate_unit(&m.unit) }, "overrides": [] },
                            "targets": [target(format!("sum {grouping}(rate({}{JOB}[$__rate_interval]))", m.name), &legend(&labels), 'A')],
                        }));
                    }
                    MetricKind::Gauge => grid.panel(json!({
                        "type": "timeseries", "title": m.name, "description": description,
                        "fieldConfig": { "defaults": { "unit": grafana_unit(&m.unit) }, "overrides": [] },
                        "targets": [target(format!("{}{JOB}", m.name), &legend(&[&["instance"], labels.as_slice()].concat()), 'A')],
                    })),
                    MetricKind::Histogram => {
                        let native = m.reads_native(&rules);
                        let targets: Vec<Value> = RECORDED_QUANTILES
                            .iter()
                            .zip(['A', 'B', 'C'])
                            .map(|((q, tag), id)| {
                                let legend = if labels.is_empty() { (*tag).to_owned() } else { format!("{tag} {}", legend(&labels)) };
                                target(m.quantile_expr(*q, &labels, false, JOB, "$__rate_interval", native), &legend, id)
                            })
                            .collect();
                        grid.panel(json!({
                            "type": "timeseries", "title": format!("{} quantiles", m.name), "description": description,
                            "fieldConfig": { "defaults": { "unit": grafana_unit(&m.unit) }, "overrides": [] },
                            "targets": targets,
                        }));
                        let (expr, format) = if native {
                            (format!("sum(rate({}{JOB}[$__rate_interval]))", m.name), "time_series")
                        } else {
                            (format!("sum by (le) (rate({}_bucket{JOB}[$__rate_interval]))", m.name), "heatmap")
                        };
                        let mut heat = target(expr, "{{le}}", 'A');
                        heat["format"] = json!(format);
                        grid.panel(json!({
                            "type": "heatmap", "title": format!("{} distribution", m.name), "description": description,
                            "options": { "calculate": false, "yAxis": { "unit": grafana_unit(&m.unit) }, "cellGap": 1 },
                            "fieldConfig": { "defaults": { "unit": grafana_unit(&m.unit) }, "overrides": [] },
                            "targets": [heat],
                        }));
                    }
                    MetricKind::Summary => grid.panel(json!({
                        "type": "timeseries", "title": format!("{} quantiles", m.name), "description": description,
                        "fieldConfig": { "defaults": { "unit": grafana_unit(&m.unit) }, "overrides": [] },
                        "targets": [target(format!("{}{JOB}", m.name), &legend(&[&["instance", "quantile"], labels.as_slice()].concat()), 'A')],
                    })),
                    MetricKind::Info => {
                        let mut t = target(format!("{}{JOB}", m.name), "", 'A');
                        t["format"] = json!("table");
                        t["instant"] = json!(true);
                        t["range"] = json!(false);
                        grid.panel(json!({
                            "type": "table", "title": m.name, "description": description,
                            "fieldConfig": { "defaults": {}, "overrides": [] },
                            "targets": [t],
                        }));
                    }
                }
            }
        }
        let slos: Vec<(&Entry, &SloEntry)> =
            self.entries().flat_map(|(_, m)| m.slos.iter().map(move |s| (m, s))).collect();
        if !slos.is_empty() {
            grid.row("Service-level objectives");
            for (m, slo) in slos {
                let pick = |window: &str| {
                    format!("{}{{slo={},job=~\"$job\"}}", error_ratio_record(window), promql_str(&slo.name))
                };
                grid.panel(json!({
                    "type": "timeseries", "title": format!("{} error ratio", slo.name),
                    "description": format!("Bad events of {} over all of them; the budget of its {} target is {}.", m.name, slo.target, budget(slo.target)),
                    "fieldConfig": { "defaults": { "unit": "percentunit" }, "overrides": [] },
                    "targets": [
                        target(pick("5m"), "5m {{job}}", 'A'),
                        target(pick("1h"), "1h {{job}}", 'B'),
                        target(format!("vector({}) and on() count({})", metrics_rules::float_text(budget(slo.target)), pick("5m")), "budget", 'C'),
                    ],
                }));
            }
        }
        let first = self.entries().next().map_or_else(|| "up".to_owned(), |(_, m)| m.sample_names[0].clone());
        json!({
            "title": config.title,
            "uid": config.uid,
            "description": "Generated from the metric declarations; do not edit by hand.",
            "schemaVersion": 39,
            "version": 1,
            "editable": true,
            "tags": ["generated"],
            "time": { "from": "now-1h", "to": "now" },
            "refresh": "30s",
            "templating": { "list": [
                { "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus" },
                {
                    "name": "job", "label": "Job", "type": "query",
                    "datasource": { "type": "prometheus", "uid": "${datasource}" },
                    "query": { "query": format!("label_values({first}, job)"), "refId": "job" },
                    "definition": format!("label_values({first}, job)"),
                    "refresh": 2, "includeAll": true, "multi": true, "allValue": ".+",
                },
            ] },
            "panels": grid.panels,
        })
    }
}
