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
    }
}
