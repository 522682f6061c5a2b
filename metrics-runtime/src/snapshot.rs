//! Snapshots: every series of a metric struct or [`Registry`] as plain data, and totals per
//! metric selected by name prefix.
//!
//! How values are read, and what it costs, is documented on [`Snapshot`].

pub use crate::aggregate::HistogramValue;
use crate::group::Metrics;
use crate::read::{HistogramRead, MetricDesc, MetricKind, Series, SummaryRead, Visitor};
use crate::registry::Registry;

/// Every metric of a metric struct or [`Registry`] at one moment, as plain data.
///
/// Built by [`MetricsExt::snapshot`] or [`Registry::snapshot`]. With the `serde` feature it
/// implements `Serialize` and `Deserialize`; non-finite floats are written as the strings
/// `"NaN"`, `"+Inf"`, `"-Inf"`, as in the JSON exposition (so use a self-describing format).
///
/// Series are read one after the other, not atomically together: a snapshot taken while
/// other threads record may mix values from slightly different instants, as a scrape does.
///
/// # How values are read
///
/// [`Metrics::visit`] is run with a [`Visitor`] that keeps each value: no text, no parsing. It works for anything that implements
/// [`Metrics`] (derived structs, [`BoundedRegistry`](crate::dynamic::BoundedRegistry), hand-written
/// impls); it allocates the snapshot's strings and vectors, and recording is unaffected.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Metrics, MetricsExt, Tag};
/// use metrics_runtime::snapshot::SeriesValue;
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Kind { Read, Write }
///
/// #[derive(Metrics)]
/// struct Disk {
///     /// Operations.
///     ops_total: Counter<Kind>,
/// }
///
/// let disk = Disk::new();
/// disk.ops_total.with(Kind::Write).add(3);
///
/// let snapshot = disk.snapshot();
/// let ops = snapshot.metric("ops_total").unwrap();
/// assert_eq!(ops.help, "Operations.");
/// assert_eq!(ops.series.len(), 2);
/// assert_eq!(ops.series[1].labels, vec![("kind".to_owned(), "write".to_owned())]);
/// assert_eq!(ops.series[1].value, SeriesValue::Counter(3));
/// assert_eq!(ops.total(), SeriesValue::Counter(3));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    /// The metrics, in exposition order.
    pub metrics: Vec<MetricSnapshot>,
}

/// One metric of a [`Snapshot`]: what is known about it and every series.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Gauge, Metrics, MetricsExt, MetricKind};
///
/// #[derive(Metrics)]
/// struct Pool {
///     /// Bytes in use.
///     #[metric(unit = "bytes")]
///     used_bytes: Gauge,
/// }
///
/// let pool = Pool::new();
/// let m = pool.snapshot().metrics.remove(0);
/// assert_eq!((m.name.as_str(), m.kind, m.unit.as_str()), ("used_bytes", MetricKind::Gauge, "bytes"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MetricSnapshot {
    /// The exposed name, namespace included.
    pub name: String,
    /// The kind.
    pub kind: MetricKind,
    /// The HELP text, unescaped.
    pub help: String,
    /// The unit, or `""`.
    pub unit: String,
    /// Every series, in exposition order (for a derived struct: tag set index order).
    pub series: Vec<SeriesSnapshot>,
}

/// One series of a [`MetricSnapshot`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::snapshot::{SeriesSnapshot, SeriesValue};
///
/// let s = SeriesSnapshot { labels: vec![("method".into(), "GET".into())], value: SeriesValue::Counter(2), created: 0.0 };
/// assert_eq!(s.label("method"), Some("GET"));
/// assert_eq!(s.label("status"), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeriesSnapshot {
    /// `(name, value)` label pairs, unescaped, in tag set order; empty for an untagged metric.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: SeriesValue,
    /// When the series started, in seconds since the Unix epoch (see
    /// [`Series::created`](crate::Series::created)); 0 when unknown.
    #[cfg_attr(feature = "serde", serde(default))]
    pub created: f64,
}

impl SeriesSnapshot {
    /// The value of the label `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::{SeriesSnapshot, SeriesValue};
    ///
    /// let s = SeriesSnapshot { labels: vec![("zone".into(), "east".into())], value: SeriesValue::Gauge(1.0), created: 0.0 };
    /// assert_eq!(s.label("zone"), Some("east"));
    /// ```
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The value of one series (or a total), by metric kind.
///
/// # Examples
///
/// ```
/// use metrics_runtime::snapshot::SeriesValue;
///
/// let v = SeriesValue::Counter(7);
/// assert_eq!(v.as_counter(), Some(7));
/// assert_eq!(v.as_gauge(), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum SeriesValue {
    /// A counter's count.
    Counter(u64),
    /// A gauge's value.
    Gauge(#[cfg_attr(feature = "serde", serde(with = "crate::aggregate::serde_f64"))] f64),
    /// A histogram's buckets, count and sum.
    Histogram(HistogramValue),
    /// A summary's quantiles, count and sum.
    Summary(SummaryValue),
}

impl SeriesValue {
    /// The count, if this is a counter.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(metrics_runtime::snapshot::SeriesValue::Counter(1).as_counter(), Some(1));
    /// ```
    pub fn as_counter(&self) -> Option<u64> {
        match self {
            SeriesValue::Counter(v) => Some(*v),
            _ => None,
        }
    }

    /// The value, if this is a gauge.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(metrics_runtime::snapshot::SeriesValue::Gauge(0.5).as_gauge(), Some(0.5));
    /// ```
    pub fn as_gauge(&self) -> Option<f64> {
        match self {
            SeriesValue::Gauge(v) => Some(*v),
            _ => None,
        }
    }

    /// The buckets, if this is a histogram.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::{HistogramValue, SeriesValue};
    ///
    /// let v = SeriesValue::Histogram(HistogramValue::empty(&[1.0]));
    /// assert_eq!(v.as_histogram().map(HistogramValue::count), Some(0));
    /// ```
    pub fn as_histogram(&self) -> Option<&HistogramValue> {
        match self {
            SeriesValue::Histogram(v) => Some(v),
            _ => None,
        }
    }

    /// The quantiles, count and sum, if this is a summary.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::{SeriesValue, SummaryValue};
    ///
    /// let v = SeriesValue::Summary(SummaryValue { quantiles: vec![(0.5, Some(2.0))], count: 3, sum: 6.0 });
    /// assert_eq!(v.as_summary().unwrap().count, 3);
    /// ```
    pub fn as_summary(&self) -> Option<&SummaryValue> {
        match self {
            SeriesValue::Summary(v) => Some(v),
            _ => None,
        }
    }

    /// The zero of a kind (a histogram with unknown, empty bounds).
    fn zero(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => SeriesValue::Counter(0),
            MetricKind::Gauge | MetricKind::Info => SeriesValue::Gauge(0.0),
            MetricKind::Histogram => SeriesValue::Histogram(HistogramValue::default()),
            MetricKind::Summary => SeriesValue::Summary(SummaryValue::default()),
        }
    }

    /// Adds `other` (of the same kind; a mismatch is ignored). Summary quantiles do not add
    /// up: the sum of two or more summaries has none.
    fn add(&mut self, other: &SeriesValue, first: bool) {
        match (self, other) {
            (SeriesValue::Counter(a), SeriesValue::Counter(b)) => *a = a.wrapping_add(*b),
            (SeriesValue::Gauge(a), SeriesValue::Gauge(b)) => *a += b,
            (SeriesValue::Histogram(a), SeriesValue::Histogram(b)) => a.merge(b),
            (SeriesValue::Summary(a), SeriesValue::Summary(b)) => {
                a.quantiles = if first { b.quantiles.clone() } else { Vec::new() };
                a.count = a.count.wrapping_add(b.count);
                a.sum += b.sum;
            }
            _ => {}
        }
    }
}

/// A summary series: quantiles over its window, count and sum since start.
///
/// # Examples
///
/// ```
/// use metrics_runtime::snapshot::SummaryValue;
///
/// let s = SummaryValue { quantiles: vec![(0.5, Some(0.2)), (0.99, None)], count: 1, sum: 0.2 };
/// assert_eq!(s.quantile(0.5), Some(0.2));
/// assert_eq!(s.quantile(0.99), None); // configured, but the window is empty
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SummaryValue {
    /// `(quantile, value)` for each configured quantile; the value is `None` when the window
    /// holds no observation.
    pub quantiles: Vec<(f64, Option<f64>)>,
    /// Observations since start.
    pub count: u64,
    /// Their sum.
    #[cfg_attr(feature = "serde", serde(with = "crate::aggregate::serde_f64"))]
    pub sum: f64,
}

impl SummaryValue {
    /// The value of the configured quantile `q`, if configured and the window is not empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::SummaryValue;
    ///
    /// let s = SummaryValue { quantiles: vec![(0.9, Some(4.0))], count: 10, sum: 25.0 };
    /// assert_eq!(s.quantile(0.9), Some(4.0));
    /// assert_eq!(s.quantile(0.5), None);
    /// ```
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles.iter().find(|(k, _)| *k == q).and_then(|(_, v)| *v)
    }
}

/// One metric selected by [`MetricsExt::aggregate_by_prefix`] or
/// [`Registry::aggregate_by_prefix`], with the total of its series.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Metrics, MetricsExt, MetricKind};
/// use metrics_runtime::snapshot::SeriesValue;
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
///
/// let jobs = Jobs::new();
/// jobs.jobs_total.add(4);
/// let totals = jobs.aggregate_by_prefix("jobs_");
/// assert_eq!(totals[0].name, "jobs_total");
/// assert_eq!(totals[0].kind, MetricKind::Counter);
/// assert_eq!(totals[0].series, 1);
/// assert_eq!(totals[0].total, SeriesValue::Counter(4));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MetricTotal {
    /// The exposed name, namespace included.
    pub name: String,
    /// The kind.
    pub kind: MetricKind,
    /// How many series were added up.
    pub series: usize,
    /// Their sum; see [`MetricSnapshot::total`].
    pub total: SeriesValue,
}

impl Snapshot {
    /// The metric with the exposed name `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, MetricsExt};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "app")]
    /// struct App {
    ///     /// Starts.
    ///     starts_total: Counter,
    /// }
    ///
    /// let snapshot = App::new().snapshot();
    /// assert!(snapshot.metric("app_starts_total").is_some());
    /// assert!(snapshot.metric("starts_total").is_none());
    /// ```
    pub fn metric(&self, name: &str) -> Option<&MetricSnapshot> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The total of every metric whose exposed name (namespace included) starts with
    /// `prefix`, in exposition order; see [`MetricSnapshot::total`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Gauge, Metrics, MetricsExt};
    /// use metrics_runtime::snapshot::SeriesValue;
    ///
    /// #[derive(Metrics)]
    /// struct Net {
    ///     /// Requests.
    ///     http_requests_total: Counter,
    ///     /// Open sockets.
    ///     tcp_sockets: Gauge,
    /// }
    ///
    /// let net = Net::new();
    /// net.http_requests_total.inc();
    /// let totals = net.snapshot().aggregate_by_prefix("http_");
    /// assert_eq!(totals.len(), 1);
    /// assert_eq!(totals[0].total, SeriesValue::Counter(1));
    /// ```
    pub fn aggregate_by_prefix(&self, prefix: &str) -> Vec<MetricTotal> {
        self.metrics
            .iter()
            .filter(|m| m.name.starts_with(prefix))
            .map(|m| MetricTotal { name: m.name.clone(), kind: m.kind, series: m.series.len(), total: m.total() })
            .collect()
    }
}

impl MetricSnapshot {
    /// The sum of every series: counts and gauge values added, histograms added bucket by
    /// bucket, summaries' counts and sums added. Quantiles do not add up: the total of a
    /// summary keeps them only when it has a single series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Metrics, MetricsExt, Tag};
    /// use metrics_runtime::snapshot::SeriesValue;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Pool { Read, Write }
    ///
    /// #[derive(Metrics)]
    /// struct Db {
    ///     /// Open connections.
    ///     connections: Gauge<Pool>,
    /// }
    ///
    /// let db = Db::new();
    /// db.connections.with(Pool::Read).set(2.0);
    /// db.connections.with(Pool::Write).set(1.0);
    /// assert_eq!(db.snapshot().metrics[0].total(), SeriesValue::Gauge(3.0));
    /// ```
    pub fn total(&self) -> SeriesValue {
        let mut total = SeriesValue::zero(self.kind);
        for (i, s) in self.series.iter().enumerate() {
            total.add(&s.value, i == 0);
        }
        total
    }

    /// The series added up per value of the label `label`, values in order of first
    /// appearance; `None` when no series has that label.
    ///
    /// The untyped counterpart of [`Counter::sum_by_label`](crate::Counter::sum_by_label), for
    /// any metric a snapshot holds (run-time families of a
    /// [`BoundedRegistry`](crate::dynamic::BoundedRegistry) included).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, MetricsExt, Tag, TagSet};
    /// use metrics_runtime::snapshot::SeriesValue;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Op { Get, Put }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Hit { Yes, No }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Tags { op: Op, hit: Hit }
    ///
    /// #[derive(Metrics)]
    /// struct Cache {
    ///     /// Lookups.
    ///     lookups_total: Counter<Tags>,
    /// }
    ///
    /// let cache = Cache::new();
    /// cache.lookups_total.with(Tags { op: Op::Get, hit: Hit::Yes }).add(2);
    /// cache.lookups_total.with(Tags { op: Op::Get, hit: Hit::No }).add(1);
    /// let snapshot = cache.snapshot();
    /// let by_op = snapshot.metrics[0].sum_by_label("op").unwrap();
    /// assert_eq!(by_op, vec![("get".to_owned(), SeriesValue::Counter(3)), ("put".to_owned(), SeriesValue::Counter(0))]);
    /// assert!(snapshot.metrics[0].sum_by_label("region").is_none());
    /// ```
    pub fn sum_by_label(&self, label: &str) -> Option<Vec<(String, SeriesValue)>> {
        let mut groups: Vec<(String, SeriesValue, bool)> = Vec::new();
        for s in &self.series {
            let Some(v) = s.label(label) else { continue };
            let at = match groups.iter().position(|(g, _, _)| g == v) {
                Some(at) => at,
                None => {
                    groups.push((v.to_owned(), SeriesValue::zero(self.kind), true));
                    groups.len() - 1
                }
            };
            let (_, total, first) = &mut groups[at];
            total.add(&s.value, *first);
            *first = false;
        }
        (!groups.is_empty()).then(|| groups.into_iter().map(|(g, v, _)| (g, v)).collect())
    }

    /// The series whose labels are exactly `labels`, in any order.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, MetricsExt, Tag};
    /// use metrics_runtime::snapshot::SeriesValue;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Op { Get, Put }
    ///
    /// #[derive(Metrics)]
    /// struct Store {
    ///     /// Operations.
    ///     ops_total: Counter<Op>,
    /// }
    ///
    /// let store = Store::new();
    /// store.ops_total.with(Op::Put).inc();
    /// let snapshot = store.snapshot();
    /// let put = snapshot.metrics[0].series_with(&[("op", "put")]).unwrap();
    /// assert_eq!(put.value, SeriesValue::Counter(1));
    /// assert!(snapshot.metrics[0].series_with(&[("op", "delete")]).is_none());
    /// ```
    pub fn series_with(&self, labels: &[(&str, &str)]) -> Option<&SeriesSnapshot> {
        self.series.iter().find(|s| {
            s.labels.len() == labels.len() && labels.iter().all(|(name, value)| s.label(name) == Some(*value))
        })
    }
}

/// Collects what [`Metrics::visit`] hands over into a [`Snapshot`].
#[derive(Debug, Default)]
pub(crate) struct Builder {
    metrics: Vec<MetricSnapshot>,
}

impl Builder {
    pub(crate) fn run(visit: impl FnOnce(&mut dyn Visitor)) -> Snapshot {
        let mut builder = Builder::default();
        visit(&mut builder);
        Snapshot { metrics: builder.metrics }
    }

    fn push(&mut self, series: Series<'_>, value: SeriesValue) {
        let mut pairs = Vec::with_capacity(series.labels.len());
        series.labels.pairs(&mut |name, value| pairs.push((name.to_owned(), value.to_owned())));
        if let Some(m) = self.metrics.last_mut() {
            m.series.push(SeriesSnapshot { labels: pairs, value, created: series.created });
        }
    }
}

impl Visitor for Builder {
    fn begin_metric(&mut self, d: &MetricDesc<'_>) {
        self.metrics.push(MetricSnapshot {
            name: d.name.to_owned(),
            kind: d.kind,
            help: d.help.to_owned(),
            unit: d.unit.to_owned(),
            series: Vec::new(),
        });
    }

    fn counter(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        self.push(series, SeriesValue::Counter(value));
    }

    fn gauge(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.push(series, SeriesValue::Gauge(value));
    }

    fn histogram(&mut self, _: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        let value = HistogramValue { bounds: h.bounds.to_vec(), counts: h.counts.to_vec(), sum: h.sum };
        self.push(series, SeriesValue::Histogram(value));
    }

    fn summary(&mut self, _: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        let quantiles = s.quantiles.iter().zip(s.values).map(|(q, v)| (*q, (!v.is_nan()).then_some(*v)));
        let value = SummaryValue { quantiles: quantiles.collect(), count: s.count, sum: s.sum };
        self.push(series, SeriesValue::Summary(value));
    }
}

/// Snapshots and prefix totals for every [`Metrics`] implementation: derived structs,
/// [`BoundedRegistry`](crate::dynamic::BoundedRegistry), `dyn Metrics`.
///
/// Implemented for every `Metrics` type; bring it into scope with
/// `use metrics_runtime::MetricsExt`. For a [`Registry`], use its inherent
/// [`Registry::snapshot`] and [`Registry::aggregate_by_prefix`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Metrics, MetricsExt};
/// use metrics_runtime::snapshot::SeriesValue;
///
/// #[derive(Metrics)]
/// struct App {
///     /// Logins.
///     logins_total: Counter,
/// }
///
/// let app = App::new();
/// app.logins_total.inc();
/// let as_dyn: &dyn Metrics = &app;
/// assert_eq!(as_dyn.snapshot().metrics[0].total(), SeriesValue::Counter(1));
/// ```
pub trait MetricsExt: Metrics {
    /// Every metric and series, as plain data.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Metrics, MetricsExt};
    ///
    /// #[derive(Metrics)]
    /// struct Rpc {
    ///     /// Call latency.
    ///     #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    ///     call_seconds: Histogram,
    /// }
    ///
    /// let rpc = Rpc::new();
    /// rpc.call_seconds.record(0.5);
    /// let snapshot = rpc.snapshot();
    /// let h = snapshot.metrics[0].series[0].value.as_histogram().unwrap();
    /// assert_eq!((h.bounds.as_slice(), h.counts.as_slice(), h.sum), (&[0.1, 1.0][..], &[0, 1, 0][..], 0.5));
    /// ```
    ///
    /// # Performance
    ///
    /// One pass over the series (see [`Snapshot`](Snapshot#how-values-are-read)): a few
    /// allocations per series. Like every read, it changes nothing.
    fn snapshot(&self) -> Snapshot {
        Builder::run(|v| self.visit(v))
    }

    /// The total of every metric whose exposed name (namespace included) starts with `prefix`;
    /// see [`Snapshot::aggregate_by_prefix`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, MetricsExt, Tag};
    /// use metrics_runtime::snapshot::SeriesValue;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Code { Success, Failure }
    ///
    /// #[derive(Metrics)]
    /// struct Web {
    ///     /// Requests.
    ///     http_requests_total: Counter<Code>,
    ///     /// Responses.
    ///     http_responses_total: Counter,
    ///     /// Queries.
    ///     db_queries_total: Counter,
    /// }
    ///
    /// let web = Web::new();
    /// web.http_requests_total.with(Code::Success).add(2);
    /// web.http_requests_total.with(Code::Failure).add(1);
    /// let totals = web.aggregate_by_prefix("http_");
    /// let names: Vec<&str> = totals.iter().map(|t| t.name.as_str()).collect();
    /// assert_eq!(names, ["http_requests_total", "http_responses_total"]);
    /// assert_eq!((totals[0].series, &totals[0].total), (2, &SeriesValue::Counter(3)));
    /// ```
    fn aggregate_by_prefix(&self, prefix: &str) -> Vec<MetricTotal> {
        self.snapshot().aggregate_by_prefix(prefix)
    }
}

impl<M: Metrics + ?Sized> MetricsExt for M {}

impl Registry {
    /// Every metric of every registered struct, as plain data; see [`MetricsExt::snapshot`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "a")]
    /// struct A {
    ///     /// Events.
    ///     events_total: Counter,
    /// }
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "b")]
    /// struct B {
    ///     /// Events.
    ///     events_total: Counter,
    /// }
    ///
    /// static METRICS_A: A = A::new();
    /// static METRICS_B: B = B::new();
    /// let mut registry = Registry::new();
    /// registry.register(&METRICS_A).unwrap();
    /// registry.register(&METRICS_B).unwrap();
    /// let names: Vec<String> = registry.snapshot().metrics.into_iter().map(|m| m.name).collect();
    /// assert_eq!(names, ["a_events_total", "b_events_total"]);
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        Builder::run(|v| self.visit(v))
    }

    /// The total of every registered metric whose exposed name starts with `prefix`; see
    /// [`Snapshot::aggregate_by_prefix`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Gauge, Metrics, Registry};
    /// use metrics_runtime::snapshot::SeriesValue;
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "http")]
    /// struct Http {
    ///     /// Requests.
    ///     requests_total: Counter,
    /// }
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "db")]
    /// struct Db {
    ///     /// Open connections.
    ///     connections: Gauge,
    /// }
    ///
    /// static HTTP: Http = Http::new();
    /// static DB: Db = Db::new();
    /// let mut registry = Registry::new();
    /// registry.register(&HTTP).unwrap();
    /// registry.register(&DB).unwrap();
    /// HTTP.requests_total.add(5);
    ///
    /// let totals = registry.aggregate_by_prefix("http_");
    /// assert_eq!(totals.len(), 1);
    /// assert_eq!(totals[0].total, SeriesValue::Counter(5));
    /// ```
    pub fn aggregate_by_prefix(&self, prefix: &str) -> Vec<MetricTotal> {
        self.snapshot().aggregate_by_prefix(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_of_empty_and_mixed_metrics() {
        let empty = MetricSnapshot {
            name: "x".into(),
            kind: MetricKind::Histogram,
            help: String::new(),
            unit: String::new(),
            series: vec![],
        };
        assert_eq!(empty.total(), SeriesValue::Histogram(HistogramValue::default()));
        assert_eq!(empty.sum_by_label("a"), None);
        let summary = |q: Option<f64>| SeriesSnapshot {
            labels: vec![],
            value: SeriesValue::Summary(SummaryValue { quantiles: vec![(0.5, q)], count: 2, sum: 1.0 }),
            created: 0.0,
        };
        let mut m = MetricSnapshot { kind: MetricKind::Summary, series: vec![summary(Some(0.5))], ..empty };
        assert_eq!(m.total().as_summary().unwrap().quantiles, vec![(0.5, Some(0.5))]);
        m.series.push(summary(Some(0.7)));
        assert_eq!(m.total(), SeriesValue::Summary(SummaryValue { quantiles: vec![], count: 4, sum: 2.0 }));
    }
}
