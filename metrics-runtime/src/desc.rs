//! What is known about a metric at compile time: its descriptor, kind and pre-rendered series
//! prefixes.

/// The kind of a metric, defined in `metrics-rules` so that the derive, the run-time registry
/// and every writer share it.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Gauge, MetricKind, Metrics};
///
/// #[derive(Metrics)]
/// struct Pool {
///     /// Connections opened.
///     opened_total: Counter,
///     /// Connections open.
///     open: Gauge,
/// }
///
/// let kinds: Vec<MetricKind> = Pool::new().descriptors().iter().map(|d| d.kind).collect();
/// assert_eq!(kinds, [MetricKind::Counter, MetricKind::Gauge]);
/// assert_eq!(MetricKind::Counter.exposed_names("opened_total"), ["opened_total", "opened", "opened_created"]);
/// ```
pub use metrics_rules::MetricKind;

/// What the derive knows about one metric at compile time.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, MetricDesc, MetricKind, Metrics};
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "db")]
/// struct Db {
///     /// Query time,
///     /// by statement.
///     #[metric(unit = "seconds")]
///     query_seconds: Histogram,
/// }
///
/// let d: &MetricDesc = &Db::new().descriptors()[0];
/// assert_eq!((d.name, d.family, d.kind, d.unit), ("db_query_seconds", "db_query_seconds", MetricKind::Histogram, "seconds"));
/// assert_eq!(d.help, "Query time, by statement.");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MetricDesc<'a> {
    /// The exposed name, namespace included (`shop_requests_total`).
    pub name: &'a str,
    /// The OpenMetrics family name: the name without `_total` for counters, else the name.
    pub family: &'a str,
    /// The kind.
    pub kind: MetricKind,
    /// HELP as written (the doc comment or `help = ".."`, trimmed).
    pub help: &'a str,
    /// HELP escaped for the Prometheus text format (`\\`, `\n`).
    pub help_text: &'a str,
    /// HELP escaped for OpenMetrics (`\\`, `\n`, `\"`).
    pub help_om: &'a str,
    /// HELP escaped for a JSON string.
    pub help_json: &'a str,
    /// The declared unit, or `""`.
    pub unit: &'a str,
    /// Every series' sample prefix (`name{labels} `), rendered at compile time by the derive;
    /// [`PrefixTable::EMPTY`] where it is not (histograms, summaries, very wide tag sets).
    pub prefixes: &'a PrefixTable,
    /// Its labels, buckets, quantiles, window, constant labels and objectives, as declared:
    /// what a catalog of the metric is built from. [`MetricShape::EMPTY`] for the series of a
    /// run-time family (their labels are only known at run time).
    pub shape: &'a MetricShape<'a>,
}

/// What a metric's declaration says about its series: its labels with every value, its
/// buckets or quantiles, its window, its constant labels and its service-level objectives.
/// The derive writes it at compile time; the `catalog` module (feature `catalog`) turns it into
/// documentation, recording and alerting rules and dashboards.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Histogram, Metrics, Objective, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Queue { Fast, Slow }
///
/// #[derive(Metrics)]
/// #[metrics(labels(service = "jobs"))]
/// struct Jobs {
///     /// Jobs run, by queue.
///     jobs_total: Counter<Queue>,
///     /// Time to run a job.
///     #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0], slo(latency = "500ms", target = 0.99))]
///     job_seconds: Histogram,
/// }
///
/// let d = Jobs::new().descriptors();
/// assert_eq!(d[0].shape.labels, ["queue"]);
/// assert_eq!(d[0].shape.label_values, [["fast", "slow"]]);
/// assert_eq!(d[0].shape.const_labels, [("service", "jobs")]);
/// assert_eq!(d[1].shape.buckets, [0.1, 0.5, 1.0]);
/// let slo = &d[1].shape.slos[0];
/// assert_eq!((slo.name, slo.target), ("job_seconds_latency", 0.99));
/// assert!(matches!(slo.objective, Objective::Latency { threshold: 0.5, le: "0.5" }));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MetricShape<'a> {
    /// The label names of its series (the tag set's), in order; constant labels apart.
    pub labels: &'a [&'a str],
    /// Each label's values, escaped for the text formats as in the exposition, in
    /// [`labels`](Self::labels) order; an empty list for a label whose values are only known
    /// at run time (a tokio worker's index).
    pub label_values: &'a [&'a [&'a str]],
    /// A histogram's classic bucket bounds (`+Inf` implied); empty for the other kinds.
    pub buckets: &'a [f64],
    /// A native histogram's layout.
    pub native: Option<NativeShape>,
    /// A summary's quantiles; empty for the other kinds.
    pub quantiles: &'a [f64],
    /// The window of a summary or windowed counter, in seconds; 0 for none.
    pub window_secs: u64,
    /// The struct's constant labels (`#[metrics(labels(..))]`).
    pub const_labels: &'a [(&'a str, &'a str)],
    /// The service-level objectives declared on the metric (`#[metric(slo(..))]`).
    pub slos: &'a [Slo<'a>],
}

impl MetricShape<'static> {
    /// No labels, buckets, quantiles or objectives.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(metrics_runtime::MetricShape::EMPTY.labels.is_empty());
    /// ```
    pub const EMPTY: MetricShape<'static> = MetricShape {
        labels: &[],
        label_values: &[],
        buckets: &[],
        native: None,
        quantiles: &[],
        window_secs: 0,
        const_labels: &[],
        slos: &[],
    };
}

/// The layout of a native histogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeShape {
    /// Its schema: bucket boundaries at powers of `2^(2^-schema)`.
    pub schema: i8,
    /// Observations at or below it in magnitude count in the zero bucket.
    pub zero_threshold: f64,
    /// The buckets it keeps before it halves its resolution.
    pub max_buckets: usize,
}

/// A service-level objective declared on a metric: which events are good, and the fraction of
/// them that must be.
///
/// Declared with `#[metric(slo(latency = "250ms", target = 0.999))]` on a histogram (an
/// observation at or below the threshold is good; the threshold must be a bucket bound, or a
/// boundary of a native histogram's schema) or `#[metric(slo(errors = "outcome=error", target
/// = 0.99))]` on a tagged counter or histogram (an event whose label has one of the values is
/// bad; the label and values must exist). Both are checked at compile time; an optional `name
/// = ".."` names it (default: the metric's name and `_latency` or `_errors`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo<'a> {
    /// Its name, unique in the struct: part of the generated rule and alert names.
    pub name: &'a str,
    /// What makes an event good.
    pub objective: Objective<'a>,
    /// The fraction of events that must be good, in (0, 1).
    pub target: f64,
}

/// What makes an event good, for a [`Slo`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective<'a> {
    /// An observation at or below `threshold` (in the metric's unit) is good.
    Latency {
        /// The threshold.
        threshold: f64,
        /// Its `le` text, as the exposition writes the bucket bound.
        le: &'a str,
    },
    /// An event whose `label` has one of `values` (escaped as in the exposition) is bad.
    Errors {
        /// The label.
        label: &'a str,
        /// The values that mean an error.
        values: &'a [&'a str],
    },
}

/// The sample prefixes of every series of a metric (`shop_requests_total{method="GET"} `),
/// rendered at compile time and concatenated, so that writing a sample is one copy plus the
/// number.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Metrics, PrefixTable, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Queue { Fast, Slow }
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter<Queue>,
/// }
///
/// // The derive renders a counter's prefixes at compile time.
/// let table: &PrefixTable = Jobs::new().descriptors()[0].prefixes;
/// assert_eq!(table.get(1), Some("jobs_total{queue=\"slow\"} "));
/// ```
#[derive(Debug)]
pub struct PrefixTable {
    text: &'static str,
    offsets: &'static [u32],
}

impl PrefixTable {
    /// No prefixes: the encoder assembles each one from its parts.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(metrics_runtime::PrefixTable::EMPTY.get(0), None);
    /// ```
    pub const EMPTY: PrefixTable = PrefixTable { text: "", offsets: &[] };

    /// A table from the concatenated prefixes and the `CARDINALITY + 1` offsets delimiting them.
    ///
    /// # Panics
    ///
    /// If the bytes are not UTF-8 or the offsets do not end at the last byte (at compile time
    /// when used in a constant).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::PrefixTable;
    ///
    /// static TABLE: PrefixTable = PrefixTable::new(b"a{k=\"x\"} a{k=\"y\"} ", &[0, 9, 18]);
    /// assert_eq!(TABLE.get(1), Some("a{k=\"y\"} "));
    /// assert_eq!(TABLE.get(2), None);
    /// ```
    pub const fn new(bytes: &'static [u8], offsets: &'static [u32]) -> Self {
        let text = match core::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => panic!("prefixes must be UTF-8"),
        };
        assert!(
            offsets.is_empty() || offsets[offsets.len() - 1] as usize == bytes.len(),
            "offsets must end at the last byte"
        );
        Self { text, offsets }
    }

    /// The prefix of series `index`, if the table has it.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::PrefixTable;
    ///
    /// static TABLE: PrefixTable = PrefixTable::new(b"up ", &[0, 3]);
    /// assert_eq!(TABLE.get(0), Some("up "));
    /// ```
    ///
    /// # Performance
    ///
    /// Two offset loads and a slice: the text was checked to be UTF-8 when the table was built.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&'static str> {
        let start = *self.offsets.get(index)? as usize;
        let end = *self.offsets.get(index + 1)? as usize;
        self.text.get(start..end)
    }
}

/// The descriptor of a metric whose HELP needs no escaping in any format and whose series
/// have no pre-rendered prefixes (the hand-written collectors: process, tokio).
#[cfg(any(feature = "process", feature = "tokio-metrics"))]
pub(crate) const fn plain_desc(
    name: &'static str,
    family: &'static str,
    kind: MetricKind,
    help: &'static str,
    unit: &'static str,
) -> MetricDesc<'static> {
    MetricDesc {
        name,
        family,
        kind,
        help,
        help_text: help,
        help_om: help,
        help_json: help,
        unit,
        prefixes: &PrefixTable::EMPTY,
        shape: &MetricShape::EMPTY,
    }
}
