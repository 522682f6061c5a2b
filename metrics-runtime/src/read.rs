//! The read protocol: every way out of the process is a [`Visitor`] that
//! [`Metrics::visit`](crate::Metrics::visit) walks over a pure read of the storage.
//!
//! Storage (counters, gauges, histograms, summaries, the run-time registry) hands each series
//! to the visitor as typed values next to the metric's [`MetricDesc`]; the sinks (Prometheus
//! text, OpenMetrics, JSON, snapshots, StatsD) are visitors. Reading never changes state.

use core::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::exemplar::Exemplar;
use crate::native::NativeRead;
use crate::tag::TagSet;

pub use crate::desc::{MetricDesc, MetricKind, MetricShape, NativeShape, Objective, PrefixTable, Slo};

/// The labels of one series.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Labels, MetricDesc, Metrics, Series, Tag, Visitor};
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
/// #[derive(Default)]
/// struct Pairs(Vec<String>);
///
/// impl Visitor for Pairs {
///     fn counter(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: u64) {
///         series.labels.pairs(&mut |k, v| self.0.push(format!("{k}={v}:{value}")));
///     }
/// }
///
/// let jobs = Jobs::new();
/// jobs.jobs_total.with(Queue::Slow).inc();
/// let mut pairs = Pairs::default();
/// jobs.visit(&mut pairs);
/// assert_eq!(pairs.0, ["queue=fast:0", "queue=slow:1"]);
/// ```
pub trait Labels {
    /// The number of label pairs.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Each `(name, value)` pair, unescaped, in order.
    fn pairs(&self, f: &mut dyn FnMut(&str, &str));
    /// `a="x",b="y"`, escaped for the text formats (values escaped once, at compile time or at
    /// series creation, not at every read).
    fn write_text(&self, out: &mut String);
    /// `"a":"x","b":"y"`, escaped for JSON.
    fn write_json(&self, out: &mut String) {
        let mut first = true;
        self.pairs(&mut |name, value| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(name);
            out.push_str("\":\"");
            metrics_rules::push_json_str(out, value);
            out.push('"');
        });
    }
}

impl fmt::Debug for dyn Labels + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        self.pairs(&mut |k, v| {
            list.entry(&(k, v));
        });
        list.finish()
    }
}

/// One series, as a visitor receives it.
#[derive(Clone, Copy)]
pub struct Series<'a> {
    /// The series' position in its metric: its index in the metric's
    /// [`PrefixTable`](MetricDesc::prefixes), where the text writers find its pre-rendered
    /// sample prefix.
    pub index: usize,
    /// Its labels.
    pub labels: &'a dyn Labels,
    /// When the series started counting, in seconds since the Unix epoch: the process start
    /// for compile-time metrics (their storage is static), the creation of the series for
    /// run-time ones. OpenMetrics' `_created`; a series whose start time changed is a new
    /// series (its counts restarted).
    pub created: f64,
}

impl fmt::Debug for Series<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Series").field("index", &self.index).field("labels", &self.labels).finish()
    }
}

/// Texts for the `le` label of each bound.
#[derive(Debug, Clone, Copy)]
pub enum BoundTexts<'a> {
    /// Texts known at compile time.
    Static(&'a [&'a str]),
    /// Texts owned by a run-time family.
    Owned(&'a [Box<str>]),
}

impl BoundTexts<'_> {
    /// The text of bound `i`, or `+Inf` past the last one.
    #[inline]
    pub fn get(&self, i: usize) -> &str {
        match self {
            BoundTexts::Static(t) => t.get(i).copied().unwrap_or("+Inf"),
            BoundTexts::Owned(t) => t.get(i).map_or("+Inf", |s| s),
        }
    }
}

/// One histogram series, read.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{BoundTexts, HistogramRead};
///
/// let h = HistogramRead { bounds: &[1.0, 5.0], le: BoundTexts::Static(&["1.0", "5.0"]), counts: &[2, 0, 1], sum: 12.0, negative: false, exemplars: &[] };
/// assert_eq!(h.count(), 3);
/// assert_eq!(h.cumulative().collect::<Vec<_>>(), [2, 2, 3]);
/// assert_eq!(h.le.get(2), "+Inf");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HistogramRead<'a> {
    /// The finite bucket bounds, increasing; `+Inf` is implied.
    pub bounds: &'a [f64],
    /// The `le` text of each bound.
    pub le: BoundTexts<'a>,
    /// Per-bucket counts (not cumulative): one per bound, then `+Inf`.
    pub counts: &'a [u64],
    /// The sum of the recorded values.
    pub sum: f64,
    /// Whether a negative value was recorded, or a bound is negative: the sum is then no
    /// counter (OpenMetrics leaves it out).
    pub negative: bool,
    /// One exemplar slot per bucket (aligned with `counts`), or empty for a histogram without
    /// exemplars.
    pub exemplars: &'a [Option<Exemplar>],
}

impl HistogramRead<'_> {
    /// The number of observations (saturating).
    pub fn count(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
    }

    /// Cumulative counts, one per bound then `+Inf`, as `_bucket{le}` samples (saturating).
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        cumulative(self.counts.iter().copied())
    }
}

/// Running totals of per-bucket counts, saturating at `u64::MAX`: the cumulative `_bucket{le}`
/// counts of every histogram type and read.
pub(crate) fn cumulative(counts: impl Iterator<Item = u64>) -> impl Iterator<Item = u64> {
    counts.scan(0u64, |acc, c| {
        *acc = acc.saturating_add(c);
        Some(*acc)
    })
}

/// One summary series, read.
///
/// # Examples
///
/// ```
/// use metrics_runtime::SummaryRead;
///
/// let s = SummaryRead { quantiles: &[0.5, 0.99], labels: &["0.5", "0.99"], values: &[2.0, 9.0], count: 10, sum: 31.0 };
/// assert_eq!(s.quantiles.len(), s.values.len());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SummaryRead<'a> {
    /// The configured quantiles.
    pub quantiles: &'a [f64],
    /// Their `quantile` label texts.
    pub labels: &'a [&'a str],
    /// The estimate of each over the window; NaN when the window is empty.
    pub values: &'a [f64],
    /// Observations since start.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

/// What reads the metrics: one callback per kind, each with the metric's descriptor, the
/// series and its values. Every method but the per-kind ones has a default that does nothing,
/// so a visitor implements what it needs.
///
/// [`Metrics::visit`](crate::Metrics::visit) calls `begin_metric`, then one callback per series
/// (every series of a compile-time tag set, zero values included), then `end_metric`, metric by
/// metric in declaration order.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Gauge, HistogramRead, MetricDesc, Metrics, Series, Visitor};
///
/// #[derive(Metrics)]
/// struct Pool {
///     /// Connections opened.
///     opened_total: Counter,
///     /// Connections open.
///     open: Gauge,
/// }
///
/// /// Adds up every counter and gauge.
/// #[derive(Default)]
/// struct Total(f64);
///
/// impl Visitor for Total {
///     fn counter(&mut self, _: &MetricDesc<'_>, _: Series<'_>, value: u64) {
///         self.0 += value as f64;
///     }
///     fn gauge(&mut self, _: &MetricDesc<'_>, _: Series<'_>, value: f64) {
///         self.0 += value;
///     }
/// }
///
/// let pool = Pool::new();
/// pool.opened_total.add(3);
/// pool.open.set(2.0);
/// let mut total = Total::default();
/// pool.visit(&mut total);
/// assert_eq!(total.0, 5.0);
/// ```
pub trait Visitor {
    /// A metric starts; its series follow.
    fn begin_metric(&mut self, metric: &MetricDesc<'_>) {
        let _ = metric;
    }

    /// One counter series.
    fn counter(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        let _ = (metric, series, value);
    }

    /// One counter series whose value is not a whole number (such as CPU seconds). By default,
    /// handed on to [`Visitor::counter`] rounded down; the text, JSON and protobuf writers
    /// override it to keep the fraction.
    fn counter_f64(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.counter(metric, series, value as u64);
    }

    /// The series of an info metric (its labels describe the process; value 1). By default,
    /// handed on to [`Visitor::gauge`] with value 1, which is what Prometheus text and protobuf
    /// expose; OpenMetrics overrides it.
    fn info(&mut self, metric: &MetricDesc<'_>, series: Series<'_>) {
        self.gauge(metric, series, 1.0);
    }

    /// One gauge series.
    fn gauge(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        let _ = (metric, series, value);
    }

    /// One histogram series.
    fn histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, histogram: &HistogramRead<'_>) {
        let _ = (metric, series, histogram);
    }

    /// One counter series with its exemplar slot. By default, handed on to
    /// [`Visitor::counter`] without it (what Prometheus text does); OpenMetrics and protobuf
    /// override it.
    fn counter_with_exemplar(
        &mut self,
        metric: &MetricDesc<'_>,
        series: Series<'_>,
        value: u64,
        exemplar: Option<&Exemplar>,
    ) {
        let _ = exemplar;
        self.counter(metric, series, value);
    }

    /// One native histogram series. By default, handed on to [`Visitor::histogram`] as a
    /// classic histogram ([`NativeRead::classic`]: the populated buckets' upper bounds as `le`),
    /// which is what the text formats expose; the protobuf writer overrides it to keep the
    /// native buckets.
    fn native_histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, histogram: &NativeRead) {
        classic_histogram(self, metric, series, histogram);
    }

    /// One summary series.
    fn summary(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, summary: &SummaryRead<'_>) {
        let _ = (metric, series, summary);
    }

    /// The metric's series are done.
    fn end_metric(&mut self, metric: &MetricDesc<'_>) {
        let _ = metric;
    }
}

/// The labels of series `index` of a compile-time tag set: names, values and their escaped
/// text all come from the tag types.
pub(crate) struct StaticLabels<T> {
    index: usize,
    _tags: core::marker::PhantomData<T>,
}

impl<T> StaticLabels<T> {
    #[inline]
    pub(crate) fn new(index: usize) -> Self {
        Self { index, _tags: core::marker::PhantomData }
    }
}

impl<T: TagSet> Labels for StaticLabels<T> {
    #[inline]
    fn len(&self) -> usize {
        T::NAMES.len()
    }

    #[inline]
    fn pairs(&self, f: &mut dyn FnMut(&str, &str)) {
        for (l, name) in T::NAMES.iter().enumerate() {
            f(name, T::label_value(self.index, l));
        }
    }

    #[inline]
    fn write_text(&self, out: &mut String) {
        T::write_labels(self.index, out);
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

pub(crate) fn now_unix() -> f64 {
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

/// Hands a native histogram to `visitor` as the classic histogram of its populated buckets
/// ([`NativeRead::classic`]): what [`Visitor::native_histogram`] does by default.
pub(crate) fn classic_histogram<V: Visitor + ?Sized>(
    visitor: &mut V,
    metric: &MetricDesc<'_>,
    series: Series<'_>,
    histogram: &NativeRead,
) {
    // Finite bounds only: the `-Inf` bucket joins the next one, and buckets whose upper
    // bound is infinite join `+Inf`.
    let (mut bounds, mut counts, mut carry) = (Vec::new(), Vec::new(), 0u64);
    for (bound, count) in histogram.classic() {
        carry = carry.saturating_add(count);
        if bound.is_finite() {
            bounds.push(bound);
            counts.push(carry);
            carry = 0;
        }
    }
    counts.push(carry);
    // Each exemplar goes to the bucket that holds its value.
    let mut exemplars: Vec<Option<Exemplar>> = Vec::new();
    if !histogram.exemplars.is_empty() {
        exemplars.resize(counts.len(), None);
        for e in &histogram.exemplars {
            let i = bounds.partition_point(|b| *b < e.value);
            exemplars[i] = Some(*e);
        }
    }
    let le: Vec<Box<str>> = bounds.iter().map(|b| metrics_rules::float_text(*b).into_boxed_str()).collect();
    let read = HistogramRead {
        bounds: &bounds,
        le: BoundTexts::Owned(&le),
        counts: &counts,
        sum: histogram.sum,
        negative: histogram.has_negative,
        exemplars: &exemplars,
    };
    visitor.histogram(metric, series, &read);
}
