//! The exposition formats: Prometheus text 0.0.4, OpenMetrics 1.0 text and JSON.
//!
//! Names, HELP text (escaped per format), label pairs and `le`/`quantile` values are escaped and
//! formatted at compile time by the derives; encoding is copying plus number formatting (itoa
//! and ryu). Every series of a tagged metric is written, zero values included.

use std::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::aggregate::HistogramValue;
use crate::counter::Counter;
use crate::gauge::Gauge;
use crate::histogram::Histogram;
use crate::sharded::ShardedCounter;
use crate::snapshot::{SeriesValue, SummaryValue};
use crate::summary::Summary;
use crate::tag::TagSet;

/// An exposition format.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Format, Metrics};
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
///
/// let jobs = Jobs::new();
/// let mut outputs = Vec::new();
/// for format in [Format::Prometheus, Format::OpenMetrics, Format::Json] {
///     let mut out = String::new();
///     jobs.write_format(format, &mut out);
///     outputs.push(out);
/// }
/// assert!(outputs[0].starts_with("# HELP jobs_total"));
/// assert!(outputs[1].ends_with("# EOF\n"));
/// assert!(outputs[2].starts_with("{\"metrics\":["));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text format.
    OpenMetrics,
    /// This library's JSON document (see [`Metrics::render_json`](crate::Metrics::render_json)).
    Json,
}

impl Format {
    /// The exact `Content-Type` of the format.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{negotiate, Format};
    ///
    /// assert_eq!(Format::Prometheus.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    /// assert_eq!(Format::Json.content_type(), "application/json");
    /// // The response header for a scraper that asked for OpenMetrics:
    /// let format = negotiate(Some("application/openmetrics-text;version=1.0.0"));
    /// assert_eq!(format.content_type(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    /// ```
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// The kind of a metric.
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
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// [`Counter`].
    Counter,
    /// [`Gauge`].
    Gauge,
    /// [`Histogram`].
    Histogram,
    /// [`Summary`].
    Summary,
}

impl MetricKind {
    /// The type name used in `# TYPE` lines.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::MetricKind;
    ///
    /// assert_eq!(MetricKind::Counter.as_str(), "counter");
    /// assert_eq!(MetricKind::Summary.as_str(), "summary");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
        }
    }

    /// Every sample name a metric of this kind named `name` can put in an exposition, and its
    /// OpenMetrics family name: what must not collide between two metrics.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::MetricKind;
    ///
    /// assert_eq!(MetricKind::Counter.exposed_names("jobs_total"), ["jobs_total", "jobs", "jobs_created"]);
    /// assert_eq!(MetricKind::Gauge.exposed_names("queue_depth"), ["queue_depth"]);
    /// let histogram = MetricKind::Histogram.exposed_names("latency_seconds");
    /// // A gauge named `latency_seconds_count` would collide with this histogram.
    /// assert!(histogram.contains(&"latency_seconds_count".to_owned()));
    /// ```
    pub fn exposed_names(self, name: &str) -> Vec<String> {
        match self {
            MetricKind::Counter => {
                let family = name.strip_suffix("_total").unwrap_or(name);
                vec![name.to_owned(), family.to_owned(), format!("{family}_created")]
            }
            MetricKind::Gauge => vec![name.to_owned()],
            MetricKind::Histogram => {
                ["", "_bucket", "_sum", "_count", "_created"].iter().map(|s| format!("{name}{s}")).collect()
            }
            MetricKind::Summary => ["", "_sum", "_count", "_created"].iter().map(|s| format!("{name}{s}")).collect(),
        }
    }
}

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
    /// HELP escaped for the Prometheus text format (`\\`, `\n`).
    pub help: &'a str,
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

/// Appends an `f64` as the text formats spell it: shortest round-trip digits, `NaN`, `+Inf`, `-Inf`.
///
/// # Examples
///
/// ```
/// let mut s = String::new();
/// metrics_runtime::push_f64(&mut s, 0.25);
/// s.push(' ');
/// metrics_runtime::push_f64(&mut s, f64::NEG_INFINITY);
/// assert_eq!(s, "0.25 -Inf");
/// ```
#[inline]
pub fn push_f64(out: &mut String, value: f64) {
    if value.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(value));
    } else if value.is_nan() {
        out.push_str("NaN");
    } else if value > 0.0 {
        out.push_str("+Inf");
    } else {
        out.push_str("-Inf");
    }
}

/// Appends an integer.
///
/// # Examples
///
/// ```
/// let mut s = String::new();
/// metrics_runtime::push_u64(&mut s, 18_446_744_073_709_551_615);
/// assert_eq!(s, "18446744073709551615");
/// ```
#[inline]
pub fn push_u64(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends `s` escaped for a JSON string (without the quotes).
///
/// # Examples
///
/// ```
/// let mut json = String::from("{\"help\":\"");
/// metrics_runtime::push_json_str(&mut json, "Bytes \"sent\"\n\tby peer");
/// json.push_str("\"}");
/// assert_eq!(json, r#"{"help":"Bytes \"sent\"\n\tby peer"}"#);
/// ```
#[inline]
pub fn push_json_str(out: &mut String, s: &str) {
    metrics_rules::push_json_str(out, s);
}

/// A JSON number, or a string for the values JSON cannot spell (`"NaN"`, `"+Inf"`, `"-Inf"`).
fn push_json_f64(out: &mut String, value: f64) {
    if value.is_finite() {
        push_f64(out, value);
    } else {
        out.push('"');
        push_f64(out, value);
        out.push('"');
    }
}

/// The time this process started, in seconds since the Unix epoch: the `_created` value of
/// every metric, which exists from program start (its storage is static).
///
/// Read from `/proc/self/stat` on Linux; elsewhere, the time of the first call.
///
/// # Examples
///
/// ```
/// use std::time::{SystemTime, UNIX_EPOCH};
/// use metrics_runtime::process_start_time;
///
/// let started = process_start_time();
/// let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
/// assert!(started > 0.0 && started <= now);
/// assert_eq!(process_start_time(), started); // read once, then fixed
/// ```
pub fn process_start_time() -> f64 {
    static START: OnceLock<f64> = OnceLock::new();
    *START.get_or_init(|| linux_process_start().unwrap_or_else(now_unix))
}

fn now_unix() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn linux_process_start() -> Option<f64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 22 (starttime, in clock ticks since boot) counts after the `)` closing field 2.
    let after = &stat[stat.rfind(')')? + 1..];
    let ticks: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: f64 = boot.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    // USER_HZ is 100 on every Linux architecture the standard library supports.
    let start = btime + ticks / 100.0;
    (start > 0.0 && start <= now_unix() + 1.0).then_some(start)
}

/// Receives what an [`Encoder`] would write, as values instead of text: how snapshots read
/// any [`Metrics`](crate::Metrics) implementation.
pub(crate) trait Visitor: fmt::Debug {
    /// A metric starts; its series follow.
    fn metric(&mut self, d: &MetricDesc<'_>);
    /// One series of the current metric.
    fn series(&mut self, labels: &dyn Labels, value: SeriesValue);
}

/// Writes metrics in one format into a caller's buffer. Handed to
/// [`Metrics::encode`](crate::Metrics::encode) by the render methods and the registry.
///
/// # Examples
///
/// A hand-written [`Metrics`](crate::Metrics) implementation (in short, what the derive
/// generates):
///
/// ```
/// use metrics_runtime::{Counter, Encoder, MetricDesc, MetricKind, Metrics, PrefixTable};
///
/// static DESCRIPTORS: [MetricDesc<'static>; 1] = [MetricDesc {
///     name: "jobs_total",
///     family: "jobs",
///     kind: MetricKind::Counter,
///     help: "Jobs run.",
///     help_om: "Jobs run.",
///     help_json: "Jobs run.",
///     unit: "",
///     prefixes: &PrefixTable::EMPTY,
/// }];
///
/// struct Jobs {
///     total: Counter,
/// }
///
/// impl Metrics for Jobs {
///     fn descriptors(&self) -> &'static [MetricDesc<'static>] {
///         &DESCRIPTORS
///     }
///
///     fn encode(&self, encoder: &mut Encoder<'_>) {
///         encoder.counter(&DESCRIPTORS[0], &self.total);
///     }
/// }
///
/// let jobs = Jobs { total: Counter::new() };
/// jobs.total.add(4);
/// assert_eq!(jobs.render_prometheus(), "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 4\n");
/// assert!(jobs.render_json().contains(r#""series":[{"labels":{},"value":4}]"#));
/// ```
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut String,
    format: Format,
    first: bool,
    created: f64,
    /// When set, values go here and nothing is written to `out`.
    visitor: Option<&'a mut dyn Visitor>,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out`. For JSON, call [`Encoder::begin`] and [`Encoder::finish`]
    /// around the metrics; for OpenMetrics, `finish` writes `# EOF`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Encoder, Format, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// let jobs = Jobs::new();
    /// let mut out = String::new();
    /// let mut encoder = Encoder::new(&mut out, Format::Json);
    /// encoder.begin();
    /// jobs.encode(&mut encoder);
    /// encoder.finish();
    /// assert_eq!(out, jobs.render_json()); // what `render_json` does
    /// ```
    pub fn new(out: &'a mut String, format: Format) -> Self {
        Self { out, format, first: true, created: process_start_time(), visitor: None }
    }

    /// An encoder that hands every value to `visitor` and writes nothing into `out`.
    pub(crate) fn visiting(out: &'a mut String, visitor: &'a mut dyn Visitor) -> Self {
        Self { out, format: Format::Prometheus, first: true, created: 0.0, visitor: Some(visitor) }
    }

    /// The format being written.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Encoder, Format};
    ///
    /// let mut out = String::new();
    /// let encoder = Encoder::new(&mut out, Format::OpenMetrics);
    /// assert_eq!(encoder.format(), Format::OpenMetrics);
    /// ```
    pub fn format(&self) -> Format {
        self.format
    }

    /// Starts the document (JSON: `{"metrics":[`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Encoder, Format};
    ///
    /// let mut json = String::new();
    /// Encoder::new(&mut json, Format::Json).begin();
    /// assert_eq!(json, "{\"metrics\":[");
    ///
    /// let mut text = String::new();
    /// Encoder::new(&mut text, Format::Prometheus).begin();
    /// assert_eq!(text, ""); // nothing for the text formats
    /// ```
    pub fn begin(&mut self) {
        if self.format == Format::Json {
            self.out.push_str("{\"metrics\":[");
        }
    }

    /// Ends the document: `# EOF` for OpenMetrics, `]}` for JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Encoder, Format};
    ///
    /// let mut out = String::new();
    /// let mut encoder = Encoder::new(&mut out, Format::OpenMetrics);
    /// encoder.finish();
    /// assert_eq!(out, "# EOF\n");
    ///
    /// let mut json = String::new();
    /// let mut encoder = Encoder::new(&mut json, Format::Json);
    /// encoder.begin();
    /// encoder.finish();
    /// assert_eq!(json, "{\"metrics\":[]}");
    /// ```
    pub fn finish(&mut self) {
        match self.format {
            Format::Prometheus => {}
            Format::OpenMetrics => self.out.push_str("# EOF\n"),
            Format::Json => self.out.push_str("]}"),
        }
    }

    pub(crate) fn header(&mut self, d: &MetricDesc<'_>) {
        if let Some(v) = self.visitor.as_mut() {
            return v.metric(d);
        }
        let out = &mut *self.out;
        match self.format {
            Format::Prometheus => {
                out.push_str("# HELP ");
                out.push_str(d.name);
                out.push(' ');
                out.push_str(d.help);
                out.push_str("\n# TYPE ");
                out.push_str(d.name);
                out.push(' ');
                out.push_str(d.kind.as_str());
                out.push('\n');
            }
            Format::OpenMetrics => {
                out.push_str("# TYPE ");
                out.push_str(d.family);
                out.push(' ');
                out.push_str(d.kind.as_str());
                out.push('\n');
                if !d.unit.is_empty() {
                    out.push_str("# UNIT ");
                    out.push_str(d.family);
                    out.push(' ');
                    out.push_str(d.unit);
                    out.push('\n');
                }
                out.push_str("# HELP ");
                out.push_str(d.family);
                out.push(' ');
                out.push_str(d.help_om);
                out.push('\n');
            }
            Format::Json => {
                if !self.first {
                    out.push(',');
                }
                out.push_str("{\"name\":\"");
                out.push_str(d.name);
                out.push_str("\",\"type\":\"");
                out.push_str(d.kind.as_str());
                out.push_str("\",\"help\":\"");
                out.push_str(d.help_json);
                out.push_str("\",\"unit\":\"");
                out.push_str(d.unit);
                out.push_str("\",\"series\":[");
            }
        }
        self.first = false;
    }

    pub(crate) fn footer(&mut self) {
        if self.format == Format::Json {
            self.out.push_str("]}");
        }
    }

    /// `name_suffix{labels} ` (or `name_suffix{labels,extra} `) in the text formats.
    #[inline]
    fn sample_prefix(&mut self, name: &str, suffix: &str, labels: &impl Labels, extra: Option<(&str, &str)>) {
        let out = &mut *self.out;
        out.push_str(name);
        out.push_str(suffix);
        let has_labels = !labels.is_empty();
        if has_labels || extra.is_some() {
            out.push('{');
            if has_labels {
                labels.write_text(out);
            }
            if let Some((key, value)) = extra {
                if has_labels {
                    out.push(',');
                }
                out.push_str(key);
                out.push_str("=\"");
                out.push_str(value);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
    }

    /// `{"labels":{...}` opening a JSON series object.
    fn json_series_open(&mut self, labels: &impl Labels, first: bool) {
        let out = &mut *self.out;
        if !first {
            out.push(',');
        }
        out.push_str("{\"labels\":{");
        labels.write_json(out);
        out.push('}');
    }

    fn created_line(&mut self, d: &MetricDesc<'_>, labels: &impl Labels) {
        self.sample_prefix(d.family, "_created", labels, None);
        push_f64(self.out, self.created);
        self.out.push('\n');
    }

    /// One counter series.
    pub(crate) fn counter_series(&mut self, d: &MetricDesc<'_>, labels: &impl Labels, first: bool, value: u64) {
        self.counter_series_with(d, labels, None, first, value);
    }

    /// One counter series, with its prefix when rendered at compile time.
    #[inline]
    fn counter_series_with(
        &mut self,
        d: &MetricDesc<'_>,
        labels: &impl Labels,
        prefix: Option<&str>,
        first: bool,
        value: u64,
    ) {
        if let Some(v) = self.visitor.as_mut() {
            return v.series(labels, SeriesValue::Counter(value));
        }
        match self.format {
            Format::Prometheus => {
                match prefix {
                    Some(p) => self.out.push_str(p),
                    None => self.sample_prefix(d.name, "", labels, None),
                }
                push_u64(self.out, value);
                self.out.push('\n');
            }
            Format::OpenMetrics => {
                // A counter's name is its family plus `_total`: the same prefix.
                match prefix {
                    Some(p) => self.out.push_str(p),
                    None => self.sample_prefix(d.family, "_total", labels, None),
                }
                push_u64(self.out, value);
                self.out.push('\n');
                self.created_line(d, labels);
            }
            Format::Json => {
                self.json_series_open(labels, first);
                self.out.push_str(",\"value\":");
                push_u64(self.out, value);
                self.out.push('}');
            }
        }
    }

    /// One gauge series.
    pub(crate) fn gauge_series(&mut self, d: &MetricDesc<'_>, labels: &impl Labels, first: bool, value: f64) {
        self.gauge_series_with(d, labels, None, first, value);
    }

    /// One gauge series, with its prefix when rendered at compile time.
    #[inline]
    fn gauge_series_with(
        &mut self,
        d: &MetricDesc<'_>,
        labels: &impl Labels,
        prefix: Option<&str>,
        first: bool,
        value: f64,
    ) {
        if let Some(v) = self.visitor.as_mut() {
            return v.series(labels, SeriesValue::Gauge(value));
        }
        if self.format == Format::Json {
            self.json_series_open(labels, first);
            self.out.push_str(",\"value\":");
            push_json_f64(self.out, value);
            self.out.push('}');
        } else {
            match prefix {
                Some(p) => self.out.push_str(p),
                None => self.sample_prefix(d.name, "", labels, None),
            }
            push_f64(self.out, value);
            self.out.push('\n');
        }
    }

    /// One histogram series: `counts` are per bucket (not cumulative), one per bound then `+Inf`.
    pub(crate) fn histogram_series(
        &mut self,
        d: &MetricDesc<'_>,
        labels: &impl Labels,
        first: bool,
        (bounds, le): (&[f64], &[impl AsRef<str>]),
        counts: impl Iterator<Item = u64>,
        (sum, negative): (f64, bool),
    ) {
        if let Some(v) = self.visitor.as_mut() {
            let value = HistogramValue { bounds: bounds.to_vec(), counts: counts.collect(), sum };
            return v.series(labels, SeriesValue::Histogram(value));
        }
        if self.format == Format::Json {
            self.json_series_open(labels, first);
            self.out.push_str(",\"buckets\":[");
            let mut cumulative = 0u64;
            for (b, count) in counts.enumerate() {
                cumulative = cumulative.saturating_add(count);
                if b > 0 {
                    self.out.push(',');
                }
                self.out.push_str("{\"le\":");
                match bounds.get(b) {
                    Some(bound) => push_json_f64(self.out, *bound),
                    None => self.out.push_str("\"+Inf\""),
                }
                self.out.push_str(",\"count\":");
                push_u64(self.out, cumulative);
                self.out.push('}');
            }
            self.out.push_str("],\"sum\":");
            push_json_f64(self.out, sum);
            self.out.push_str(",\"count\":");
            push_u64(self.out, cumulative);
            self.out.push('}');
            return;
        }
        let mut cumulative = 0u64;
        for (b, count) in counts.enumerate() {
            cumulative = cumulative.saturating_add(count);
            self.sample_prefix(d.name, "_bucket", labels, Some(("le", le.get(b).map_or("+Inf", AsRef::as_ref))));
            push_u64(self.out, cumulative);
            self.out.push('\n');
        }
        // OpenMetrics: a histogram with negative observations or bounds has no `_sum` (it is
        // not a counter then), and without `_sum` no `_count` either (the `+Inf` bucket is
        // the count).
        let negative = negative || bounds.first().is_some_and(|b| *b < 0.0);
        if !(negative && self.format == Format::OpenMetrics) {
            self.sample_prefix(d.name, "_sum", labels, None);
            push_f64(self.out, sum);
            self.out.push('\n');
            self.sample_prefix(d.name, "_count", labels, None);
            push_u64(self.out, cumulative);
            self.out.push('\n');
        }
        if self.format == Format::OpenMetrics {
            self.created_line(d, labels);
        }
    }

    /// Writes a counter family.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Encoder, Format, Metrics, Tag};
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
    /// let jobs = Jobs::new();
    /// jobs.jobs_total.with(Queue::Slow).add(2);
    /// let mut out = String::new();
    /// Encoder::new(&mut out, Format::Prometheus).counter(&jobs.descriptors()[0], &jobs.jobs_total);
    /// assert!(out.ends_with("jobs_total{queue=\"fast\"} 0\njobs_total{queue=\"slow\"} 2\n"));
    /// ```
    pub fn counter<T: TagSet>(&mut self, d: &MetricDesc<'_>, counter: &Counter<T>) {
        self.header(d);
        for (i, series) in counter.series().iter().enumerate() {
            self.counter_series_with(d, &Static::<T>::new(i), d.prefixes.get(i), i == 0, series.get());
        }
        self.footer();
    }

    /// Writes a sharded counter family (exposed exactly like a counter).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Encoder, Format, Metrics, ShardedCounter};
    ///
    /// #[derive(Metrics)]
    /// struct Net {
    ///     /// Packets received.
    ///     packets_total: ShardedCounter,
    /// }
    ///
    /// let net = Net::new();
    /// net.packets_total.add(9);
    /// let mut out = String::new();
    /// Encoder::new(&mut out, Format::Prometheus).sharded_counter(&net.descriptors()[0], &net.packets_total);
    /// assert!(out.contains("# TYPE packets_total counter\npackets_total 9\n"));
    /// ```
    pub fn sharded_counter<T: TagSet>(&mut self, d: &MetricDesc<'_>, counter: &ShardedCounter<T>) {
        self.header(d);
        for (i, series) in counter.series().iter().enumerate() {
            self.counter_series_with(d, &Static::<T>::new(i), d.prefixes.get(i), i == 0, series.get());
        }
        self.footer();
    }

    /// Writes a gauge family.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Encoder, Format, Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Pool {
    ///     /// Open connections.
    ///     connections: Gauge,
    /// }
    ///
    /// let pool = Pool::new();
    /// pool.connections.set(12.0);
    /// let mut out = String::new();
    /// Encoder::new(&mut out, Format::Prometheus).gauge(&pool.descriptors()[0], &pool.connections);
    /// assert_eq!(out, "# HELP connections Open connections.\n# TYPE connections gauge\nconnections 12.0\n");
    /// ```
    pub fn gauge<T: TagSet>(&mut self, d: &MetricDesc<'_>, gauge: &Gauge<T>) {
        self.header(d);
        for (i, series) in gauge.series().iter().enumerate() {
            self.gauge_series_with(d, &Static::<T>::new(i), d.prefixes.get(i), i == 0, series.get());
        }
        self.footer();
    }

    /// Writes a histogram family: cumulative `_bucket{le}` ending in `+Inf`, `_sum`, `_count`
    /// (and `_created` in OpenMetrics).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Encoder, Format, Histogram, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Api {
    ///     /// Request time.
    ///     #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    ///     request_seconds: Histogram,
    /// }
    ///
    /// let api = Api::new();
    /// api.request_seconds.record(0.5);
    /// let mut out = String::new();
    /// Encoder::new(&mut out, Format::Prometheus).histogram(&api.descriptors()[0], &api.request_seconds);
    /// assert!(out.contains("request_seconds_bucket{le=\"0.1\"} 0\nrequest_seconds_bucket{le=\"1.0\"} 1\n"));
    /// assert!(out.ends_with("request_seconds_bucket{le=\"+Inf\"} 1\nrequest_seconds_sum 0.5\nrequest_seconds_count 1\n"));
    /// ```
    pub fn histogram<T: TagSet, const B: usize>(&mut self, d: &MetricDesc<'_>, histogram: &Histogram<T, B>) {
        self.header(d);
        let bounds = histogram.bounds();
        let le = histogram.le_texts();
        for (i, series) in histogram.series().iter().enumerate() {
            let labels = Static::<T>::new(i);
            let (counts, sum) = series.read(bounds);
            let counts = counts[..=bounds.len()].iter().copied();
            self.histogram_series(d, &labels, i == 0, (bounds, le), counts, (sum, series.has_negative()));
        }
        self.footer();
    }

    /// Writes a summary family: `{quantile="q"}` per configured quantile, `_sum`, `_count`
    /// (and `_created` in OpenMetrics).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Encoder, Format, Metrics, Summary};
    ///
    /// #[derive(Metrics)]
    /// struct Checkout {
    ///     /// Checkout time quantiles.
    ///     #[metric(unit = "seconds", quantiles = [0.5, 0.99])]
    ///     checkout_seconds: Summary,
    /// }
    ///
    /// let checkout = Checkout::new();
    /// checkout.checkout_seconds.record(2.0);
    /// let mut out = String::new();
    /// Encoder::new(&mut out, Format::Prometheus).summary(&checkout.descriptors()[0], &checkout.checkout_seconds);
    /// assert!(out.contains("checkout_seconds{quantile=\"0.5\"} 2.0\ncheckout_seconds{quantile=\"0.99\"} 2.0\n"));
    /// assert!(out.ends_with("checkout_seconds_sum 2.0\ncheckout_seconds_count 1\n"));
    /// ```
    ///
    /// # Performance
    ///
    /// Takes each series' lock to read its quantiles (see [`SummaryHandle::snapshot`](crate::SummaryHandle::snapshot)).
    pub fn summary<T: TagSet>(&mut self, d: &MetricDesc<'_>, summary: &Summary<T>) {
        self.header(d);
        let config = summary.config();
        for i in 0..summary.series_count() {
            let Some(series) = summary.series_at(i) else { break };
            let snapshot = series.snapshot();
            let labels = Static::<T>::new(i);
            if let Some(v) = self.visitor.as_mut() {
                let quantiles =
                    config.quantiles.iter().zip(&snapshot.quantiles).map(|(q, v)| (*q, (!v.is_nan()).then_some(*v)));
                let value = SummaryValue { quantiles: quantiles.collect(), count: snapshot.count, sum: snapshot.sum };
                v.series(&labels, SeriesValue::Summary(value));
                continue;
            }
            if self.format == Format::Json {
                self.json_series_open(&labels, i == 0);
                self.out.push_str(",\"quantiles\":[");
                for (k, (q, v)) in config.quantiles.iter().zip(&snapshot.quantiles).enumerate() {
                    if k > 0 {
                        self.out.push(',');
                    }
                    self.out.push_str("{\"quantile\":");
                    push_f64(self.out, *q);
                    self.out.push_str(",\"value\":");
                    push_json_f64(self.out, *v);
                    self.out.push('}');
                }
                self.out.push_str("],\"sum\":");
                push_json_f64(self.out, snapshot.sum);
                self.out.push_str(",\"count\":");
                push_u64(self.out, snapshot.count);
                self.out.push('}');
                continue;
            }
            for (label, value) in config.quantile_labels.iter().zip(&snapshot.quantiles) {
                self.sample_prefix(d.name, "", &labels, Some(("quantile", label)));
                push_f64(self.out, *value);
                self.out.push('\n');
            }
            self.sample_prefix(d.name, "_sum", &labels, None);
            push_f64(self.out, snapshot.sum);
            self.out.push('\n');
            self.sample_prefix(d.name, "_count", &labels, None);
            push_u64(self.out, snapshot.count);
            self.out.push('\n');
            if self.format == Format::OpenMetrics {
                self.created_line(d, &labels);
            }
        }
        self.footer();
    }
}

/// The labels of one series, as the encoder writes them.
pub(crate) trait Labels {
    /// No labels at all.
    fn is_empty(&self) -> bool;
    /// `a="x",b="y"`, escaped for the text formats.
    fn write_text(&self, out: &mut String);
    /// `"a":"x","b":"y"`, escaped for JSON.
    fn write_json(&self, out: &mut String);
    /// Each `(name, value)` pair, unescaped.
    fn pairs(&self, f: &mut dyn FnMut(&str, &str));
}

/// The labels of series `index` of a compile-time tag set.
struct Static<T> {
    index: usize,
    _tags: core::marker::PhantomData<T>,
}

impl<T> Static<T> {
    #[inline]
    fn new(index: usize) -> Self {
        Self { index, _tags: core::marker::PhantomData }
    }
}

impl<T: TagSet> Labels for Static<T> {
    #[inline]
    fn is_empty(&self) -> bool {
        T::NAMES.is_empty()
    }

    #[inline]
    fn write_text(&self, out: &mut String) {
        T::write_labels(self.index, out);
    }

    fn write_json(&self, out: &mut String) {
        for (l, name) in T::NAMES.iter().enumerate() {
            if l > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":\"");
            push_json_str(out, T::label_value(self.index, l));
            out.push('"');
        }
    }

    fn pairs(&self, f: &mut dyn FnMut(&str, &str)) {
        for (l, name) in T::NAMES.iter().enumerate() {
            f(name, T::label_value(self.index, l));
        }
    }
}

/// Chooses the exposition format from an HTTP `Accept` header: OpenMetrics when the client
/// prefers it (by q-value, ties going to OpenMetrics), Prometheus text otherwise.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{negotiate, Format};
///
/// // What Prometheus sends.
/// let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(negotiate(Some(accept)), Format::OpenMetrics);
/// assert_eq!(negotiate(Some("text/plain")), Format::Prometheus);
/// assert_eq!(negotiate(None), Format::Prometheus);
/// assert_eq!(Format::OpenMetrics.content_type(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
/// ```
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Prometheus;
    };
    let mut best_om = 0.0f64;
    let mut best_text = 0.0f64;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f64;
        let mut version: Option<String> = None;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse::<f64>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                } else if k == "version" {
                    version = Some(v.to_owned());
                }
            }
        }
        match media.as_str() {
            "application/openmetrics-text" if matches!(version.as_deref(), None | Some("1.0.0")) => {
                best_om = best_om.max(q)
            }
            "text/plain" | "text/*" | "*/*" => best_text = best_text.max(q),
            _ => {}
        }
    }
    if best_om > 0.0 && best_om >= best_text {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_respects_q_values() {
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0.2, text/plain;q=0.9")), Format::Prometheus);
        assert_eq!(negotiate(Some("application/openmetrics-text; version=1.0.0")), Format::OpenMetrics);
        assert_eq!(negotiate(Some("application/openmetrics-text; version=0.0.1")), Format::Prometheus);
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0")), Format::Prometheus);
        assert_eq!(negotiate(Some("application/json")), Format::Prometheus);
        assert_eq!(negotiate(Some("")), Format::Prometheus);
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001é");
    }

    #[test]
    fn process_start_is_in_the_past() {
        let start = process_start_time();
        assert!(start > 1.0e9 && start <= now_unix(), "{start}");
    }
}
