//! A registry that renders several metric structs together.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::const_labels::{ConstLabelsVisitor, OwnedLabels};
use crate::expose::{Format, JsonWriter, OpenMetricsWriter, PrometheusWriter};
use crate::group::Metrics;
use crate::read::{HistogramRead, MetricDesc, Series, SummaryRead, Visitor};

/// A struct held by a registry or a push source: a static one, or a shared one.
pub(crate) enum Entry {
    Static(&'static dyn Metrics),
    Shared(Arc<dyn Metrics>),
}

impl Entry {
    pub(crate) fn get(&self) -> &dyn Metrics {
        match self {
            Entry::Static(m) => *m,
            Entry::Shared(m) => m.as_ref(),
        }
    }
}

/// Several `#[derive(Metrics)]` structs rendered as one exposition.
///
/// Registration refuses a struct that would expose a name another registered struct already
/// exposes (the same metric name, or colliding series such as a histogram `x` and a gauge
/// `x_count`), so a scrape never sees a family twice.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Gauge, Metrics, Registry};
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "db")]
/// struct Db {
///     /// Queries run.
///     queries_total: Counter,
/// }
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "cache")]
/// struct Cache {
///     /// Entries held.
///     entries: Gauge,
/// }
///
/// static DB: Db = Db::new();
/// static CACHE: Cache = Cache::new();
///
/// let mut registry = Registry::new();
/// registry.register(&DB).unwrap();
/// registry.register(&CACHE).unwrap();
/// assert!(registry.register(&DB).is_err()); // `db_queries_total` is already registered
///
/// DB.queries_total.inc();
/// let text = registry.render_openmetrics();
/// assert!(text.contains("db_queries_total 1\n"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
    names: HashMap<String, (String, usize)>,
    /// The memory gauge, if exported (also registered as an entry).
    own_memory: Option<Arc<OwnMemory>>,
    /// Labels added to every series ([`Registry::set_labels`]).
    labels: OwnedLabels,
}

/// The library's own memory, as a metric.
#[derive(crate::Metrics)]
#[metrics(namespace = "metrics_runtime")]
struct OwnMemory {
    /// Memory held by the metrics of this registry (inline storage and heap), in bytes.
    #[metric(unit = "bytes")]
    memory_bytes: crate::Gauge,
}

/// Why [`Registry::register`] refused a struct.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Gauge, Metrics, Registry, RegistryError};
///
/// #[derive(Metrics)]
/// struct Queue {
///     /// Jobs waiting.
///     jobs: Gauge,
/// }
///
/// #[derive(Metrics)]
/// struct Worker {
///     /// Jobs run.
///     jobs_total: Counter, // its OpenMetrics family is `jobs` too
/// }
///
/// static QUEUE: Queue = Queue::new();
/// static WORKER: Worker = Worker::new();
///
/// let mut registry = Registry::new();
/// registry.register(&QUEUE).unwrap();
/// let err = registry.register(&WORKER).unwrap_err();
/// assert_eq!(
///     err,
///     RegistryError::DuplicateName { name: "jobs".into(), metric: "jobs_total".into(), existing: "jobs".into() }
/// );
/// assert!(err.to_string().contains("rename one of them or use another namespace"));
/// assert_eq!(registry.len(), 1); // unchanged
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// A name the struct exposes is already exposed by a registered struct; rename one of the
    /// metrics (or give the structs different namespaces).
    DuplicateName {
        /// The colliding exposed name.
        name: String,
        /// The metric of the new struct that exposes it.
        metric: String,
        /// The already registered metric that exposes it.
        existing: String,
    },
    /// A constant label ([`Registry::set_labels`]) is not a valid label, or is given twice.
    InvalidLabel {
        /// What is wrong.
        reason: String,
    },
    /// A constant label has the name of a label a registered metric already has.
    LabelCollision {
        /// The label.
        label: String,
        /// The metric that has a label of that name.
        metric: String,
    },
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::DuplicateName { name, metric, existing } => write!(
                f,
                "metric `{metric}` exposes `{name}`, which registered metric `{existing}` already exposes; rename one of them or use another namespace"
            ),
            RegistryError::InvalidLabel { reason } => write!(f, "{reason}"),
            RegistryError::LabelCollision { label, metric } => write!(
                f,
                "constant label `{label}` is also a label of metric `{metric}`; rename one of them"
            ),
        }
    }
}

impl std::error::Error for RegistryError {}

impl Registry {
    /// An empty registry.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Registry;
    ///
    /// let registry = Registry::new();
    /// assert!(registry.is_empty());
    /// assert_eq!(registry.render_prometheus(), "");
    /// assert_eq!(registry.render_openmetrics(), "# EOF\n");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a struct that lives for the whole program (a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "mail")]
    /// struct Mail {
    ///     /// Messages sent.
    ///     sent_total: Counter,
    /// }
    ///
    /// static MAIL: Mail = Mail::new();
    ///
    /// let mut registry = Registry::new();
    /// registry.register(&MAIL).unwrap();
    /// assert!(registry.register(&MAIL).is_err()); // the same names twice
    /// MAIL.sent_total.inc();
    /// assert!(registry.render_prometheus().contains("mail_sent_total 1\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`RegistryError::DuplicateName`] if one of its exposed names is already registered;
    /// the registry is then unchanged.
    pub fn register(&mut self, metrics: &'static dyn Metrics) -> Result<(), RegistryError> {
        self.add(Entry::Static(metrics))
    }

    /// Registers a shared struct.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use metrics_runtime::{Gauge, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "worker")]
    /// struct Worker {
    ///     /// Jobs waiting.
    ///     queue_depth: Gauge,
    /// }
    ///
    /// // Built at run time (say, one per configured pool) and shared with the code that records.
    /// let worker = Arc::new(Worker::new());
    /// let mut registry = Registry::new();
    /// registry.register_arc(Arc::clone(&worker) as Arc<dyn Metrics>).unwrap();
    /// worker.queue_depth.set(3.0);
    /// assert!(registry.render_prometheus().contains("worker_queue_depth 3.0\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Registry::register`].
    pub fn register_arc(&mut self, metrics: Arc<dyn Metrics>) -> Result<(), RegistryError> {
        self.add(Entry::Shared(metrics))
    }

    fn add(&mut self, entry: Entry) -> Result<(), RegistryError> {
        if let Some((label, metric)) = collision(&self.labels, entry.get()) {
            return Err(RegistryError::LabelCollision { label, metric });
        }
        let index = self.entries.len();
        let mut new_names: Vec<(String, String)> = Vec::new();
        for d in entry.get().descriptors() {
            for exposed in d.kind.exposed_names(d.name) {
                if let Some((existing, _)) = self.names.get(&exposed) {
                    return Err(RegistryError::DuplicateName {
                        name: exposed,
                        metric: d.name.to_owned(),
                        existing: existing.clone(),
                    });
                }
                new_names.push((exposed, d.name.to_owned()));
            }
        }
        for (exposed, metric) in new_names {
            self.names.insert(exposed, (metric, index));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Sets labels added to every series of every registered struct, in every format the
    /// registry writes and every push that reads it (`service`, `region`, `instance`...): the
    /// run-time counterpart of `#[metrics(labels(..))]`. Set them once, before the registry is
    /// shared (it takes `&mut self`); a later call replaces them. A series label of the same
    /// name wins over a constant one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry, RegistryError};
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
    /// let region = std::env::var("REGION").unwrap_or_else(|_| "eu-west-1".into());
    /// registry.set_labels(&[("service", "checkout"), ("region", &region)]).unwrap();
    /// JOBS.jobs_total.inc();
    /// assert!(registry.render_prometheus().contains("jobs_total{service=\"checkout\",region=\"eu-west-1\"} 1\n"));
    /// assert!(matches!(registry.set_labels(&[("bad-name", "x")]), Err(RegistryError::InvalidLabel { .. })));
    /// ```
    ///
    /// # Errors
    ///
    /// [`RegistryError::InvalidLabel`] for a name or value the formats cannot carry (or `le`,
    /// `quantile`), or a name given twice; [`RegistryError::LabelCollision`] when a registered
    /// metric has a label of the same name.
    pub fn set_labels(&mut self, labels: &[(&str, &str)]) -> Result<(), RegistryError> {
        let labels = OwnedLabels::new(labels).map_err(|reason| RegistryError::InvalidLabel { reason })?;
        for entry in &self.entries {
            if let Some((label, metric)) = collision(&labels, entry.get()) {
                return Err(RegistryError::LabelCollision { label, metric });
            }
        }
        self.labels = labels;
        Ok(())
    }

    /// The number of registered structs.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// static JOBS: Jobs = Jobs::new();
    /// let mut registry = Registry::new();
    /// assert_eq!(registry.len(), 0);
    /// registry.register(&JOBS).unwrap();
    /// assert_eq!(registry.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// static JOBS: Jobs = Jobs::new();
    /// let mut registry = Registry::new();
    /// assert!(registry.is_empty());
    /// registry.register(&JOBS).unwrap();
    /// assert!(!registry.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Memory held by the registered metrics ([`Metrics::memory_bytes`] of each) and by the
    /// registry's own tables, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs done.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    /// let mut registry = Registry::new();
    /// registry.register(&JOBS).unwrap();
    /// assert!(registry.memory_bytes() >= JOBS.memory_bytes());
    /// ```
    pub fn memory_bytes(&self) -> usize {
        let metrics: usize = self.entries.iter().map(|e| e.get().memory_bytes()).sum();
        let names: usize = self.names.iter().map(|(k, (v, _))| k.capacity() + v.capacity()).sum();
        let table = self.names.capacity() * (size_of::<(String, (String, usize))>() + 1);
        metrics + names + table + self.entries.capacity() * size_of::<Entry>() + size_of::<Self>()
    }

    /// Adds to the exposition a gauge of the memory this library holds for the registered
    /// metrics, `metrics_runtime_memory_bytes`, computed at every read.
    ///
    /// # Errors
    ///
    /// [`RegistryError::DuplicateName`] if that name is already registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Registry;
    ///
    /// let mut registry = Registry::new();
    /// registry.export_own_memory().unwrap();
    /// assert!(registry.render_prometheus().contains("metrics_runtime_memory_bytes "));
    /// ```
    pub fn export_own_memory(&mut self) -> Result<(), RegistryError> {
        let own = Arc::new(OwnMemory::new());
        self.add(Entry::Shared(Arc::clone(&own) as Arc<dyn Metrics>))?;
        self.own_memory = Some(own);
        Ok(())
    }

    /// Appends the complete exposition of every registered struct in `format` to `out`.
    ///
    /// With a reused buffer (`out.clear()` between scrapes) this allocates nothing once the
    /// buffer has grown to the exposition's size, except for summaries' quantile snapshots.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Format, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// static JOBS: Jobs = Jobs::new();
    /// let mut registry = Registry::new();
    /// registry.register(&JOBS).unwrap();
    ///
    /// let mut buffer = String::new();
    /// for expected in 1..=3 {
    ///     JOBS.jobs_total.inc();
    ///     buffer.clear(); // one buffer for every scrape
    ///     registry.write(Format::Prometheus, &mut buffer);
    ///     assert!(buffer.ends_with(&format!("jobs_total {expected}\n")));
    /// }
    /// ```
    pub fn write(&self, format: Format, out: &mut String) {
        match format {
            Format::Prometheus => self.visit(&mut PrometheusWriter::new(out)),
            Format::OpenMetrics => {
                let mut writer = OpenMetricsWriter::new(out);
                self.visit(&mut writer);
                writer.finish();
            }
            Format::Json => {
                let mut writer = JsonWriter::new(out);
                self.visit(&mut writer);
                writer.finish();
            }
            // A `String` cannot hold protobuf: the text format instead (see `write_body`).
            #[cfg(feature = "protobuf")]
            Format::Protobuf => self.visit(&mut PrometheusWriter::new(out)),
        }
    }

    /// Appends the exposition in `format` to `out` as bytes: what an HTTP body holds, for every
    /// format, [`Format::Protobuf`](crate::Format) included (which [`write`](Self::write) cannot
    /// hold).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Format, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// static JOBS: Jobs = Jobs::new();
    /// let mut registry = Registry::new();
    /// registry.register(&JOBS).unwrap();
    /// let mut body = Vec::new();
    /// registry.write_body(Format::OpenMetrics, &mut body);
    /// assert!(body.ends_with(b"# EOF\n"));
    /// ```
    pub fn write_body(&self, format: Format, out: &mut Vec<u8>) {
        #[cfg(feature = "protobuf")]
        if format == Format::Protobuf {
            self.visit(&mut crate::expose::ProtobufWriter::new(out));
            return;
        }
        let mut text = String::from_utf8(std::mem::take(out)).unwrap_or_default();
        self.write(format, &mut text);
        *out = text.into_bytes();
    }

    /// Hands every series of every registered struct to `visitor`, in registration order
    /// (see [`Metrics::visit`]). Reading changes nothing: the memory gauge of
    /// [`export_own_memory`](Self::export_own_memory) is computed for the visit, not stored.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, MetricDesc, Metrics, Registry, Series, Visitor};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    ///
    /// struct Count(usize);
    /// impl Visitor for Count {
    ///     fn counter(&mut self, _: &MetricDesc<'_>, _: Series<'_>, _: u64) {
    ///         self.0 += 1;
    ///     }
    /// }
    ///
    /// let mut registry = Registry::new();
    /// registry.register(&JOBS).unwrap();
    /// let mut count = Count(0);
    /// registry.visit(&mut count);
    /// assert_eq!(count.0, 1);
    /// ```
    pub fn visit(&self, visitor: &mut dyn Visitor) {
        if !self.labels.pairs.is_empty() {
            let pairs: Vec<(&str, &str)> = self.labels.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut with = ConstLabelsVisitor::new(&pairs, &self.labels.text, visitor);
            return self.visit_entries(&mut with);
        }
        self.visit_entries(visitor);
    }

    /// The registered structs, in registration order.
    #[cfg(feature = "catalog")]
    pub(crate) fn structs(&self) -> impl Iterator<Item = &dyn Metrics> {
        self.entries.iter().map(Entry::get)
    }

    /// The constant labels of [`Registry::set_labels`].
    #[cfg(feature = "catalog")]
    pub(crate) fn const_labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.labels.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn visit_entries(&self, visitor: &mut dyn Visitor) {
        for entry in &self.entries {
            match (&self.own_memory, entry) {
                (Some(own), Entry::Shared(m)) if std::ptr::addr_eq(Arc::as_ptr(m), Arc::as_ptr(own)) => {
                    let mut with_value = GaugeValue { inner: visitor, value: self.memory_bytes() as f64 };
                    own.visit(&mut with_value);
                }
                _ => entry.get().visit(visitor),
            }
        }
    }

    /// Runs [`Metrics::maintain`] on every registered struct (a
    /// [`BoundedRegistry`](crate::dynamic::BoundedRegistry) evicts its idle series): the HTTP server
    /// calls it after each render.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use metrics_runtime::Registry;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let dynamic = Arc::new(BoundedRegistry::new(BoundedConfig { idle_timeout: Some(Duration::ZERO), ..Default::default() }));
    /// let hits = dynamic.counter("hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// hits.inc(&["acme"]).unwrap();
    /// let mut registry = Registry::new();
    /// registry.register_arc(dynamic.clone()).unwrap();
    /// registry.maintain(); // notes that `acme` changed
    /// registry.maintain(); // unchanged since: evicted
    /// assert_eq!(dynamic.series_count(), 0);
    /// ```
    pub fn maintain(&self) {
        for entry in &self.entries {
            entry.get().maintain();
        }
    }

    /// The complete exposition in `format`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    /// use metrics_runtime::expose::negotiate;
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// static JOBS: Jobs = Jobs::new();
    /// let mut registry = Registry::new();
    /// registry.register(&JOBS).unwrap();
    ///
    /// // What a `/metrics` handler does with the scraper's `Accept` header.
    /// let format = negotiate(Some("application/openmetrics-text; version=1.0.0"));
    /// let body = registry.render(format);
    /// assert!(body.contains("# TYPE jobs counter\n"));
    /// assert!(body.ends_with("# EOF\n"));
    /// ```
    pub fn render(&self, format: Format) -> String {
        let mut out = String::new();
        self.write(format, &mut out);
        out
    }

    /// The Prometheus text format (0.0.4) exposition.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "app")]
    /// struct App {
    ///     /// Logins.
    ///     logins_total: Counter,
    /// }
    ///
    /// static APP: App = App::new();
    /// let mut registry = Registry::new();
    /// registry.register(&APP).unwrap();
    /// APP.logins_total.add(2);
    /// assert_eq!(
    ///     registry.render_prometheus(),
    ///     "# HELP app_logins_total Logins.\n# TYPE app_logins_total counter\napp_logins_total 2\n"
    /// );
    /// ```
    pub fn render_prometheus(&self) -> String {
        self.render(Format::Prometheus)
    }

    /// The OpenMetrics 1.0 exposition, ending with `# EOF`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "app")]
    /// struct App {
    ///     /// Logins.
    ///     logins_total: Counter,
    /// }
    ///
    /// static APP: App = App::new();
    /// let mut registry = Registry::new();
    /// registry.register(&APP).unwrap();
    /// let text = registry.render_openmetrics();
    /// assert!(text.starts_with("# TYPE app_logins counter\n# HELP app_logins Logins.\napp_logins_total 0\n"));
    /// assert!(text.contains("app_logins_created "));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render_openmetrics(&self) -> String {
        self.render(Format::OpenMetrics)
    }

    /// The JSON document (see [`Metrics::write_json`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "pool")]
    /// struct Pool {
    ///     /// Open connections.
    ///     connections: Gauge,
    /// }
    ///
    /// static POOL: Pool = Pool::new();
    /// let mut registry = Registry::new();
    /// registry.register(&POOL).unwrap();
    /// POOL.connections.set(5.0);
    /// let json = registry.render_json();
    /// assert!(json.starts_with(r#"{"metrics":[{"name":"pool_connections","type":"gauge""#));
    /// assert!(json.ends_with(r#""series":[{"labels":{},"value":5.0}]}]}"#));
    /// ```
    pub fn render_json(&self) -> String {
        self.render(Format::Json)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> =
            self.entries.iter().flat_map(|e| e.get().descriptors().iter().map(|d| d.name)).collect();
        names.sort_unstable();
        f.debug_struct("Registry").field("metrics", &names).finish()
    }
}

/// Hands `value` to `inner` in place of every gauge value: how the registry's own memory gauge
/// is read without storing anything.
struct GaugeValue<'v> {
    inner: &'v mut dyn Visitor,
    value: f64,
}

impl Visitor for GaugeValue<'_> {
    fn begin_metric(&mut self, m: &MetricDesc<'_>) {
        self.inner.begin_metric(m);
    }
    fn counter(&mut self, m: &MetricDesc<'_>, s: Series<'_>, v: u64) {
        self.inner.counter(m, s, v);
    }
    fn gauge(&mut self, m: &MetricDesc<'_>, s: Series<'_>, _: f64) {
        self.inner.gauge(m, s, self.value);
    }
    fn histogram(&mut self, m: &MetricDesc<'_>, s: Series<'_>, h: &HistogramRead<'_>) {
        self.inner.histogram(m, s, h);
    }
    fn summary(&mut self, m: &MetricDesc<'_>, s: Series<'_>, q: &SummaryRead<'_>) {
        self.inner.summary(m, s, q);
    }
    fn counter_with_exemplar(
        &mut self,
        m: &MetricDesc<'_>,
        s: Series<'_>,
        v: u64,
        e: Option<&crate::exemplar::Exemplar>,
    ) {
        self.inner.counter_with_exemplar(m, s, v, e);
    }
    fn native_histogram(&mut self, m: &MetricDesc<'_>, s: Series<'_>, h: &crate::NativeRead) {
        self.inner.native_histogram(m, s, h);
    }
    fn end_metric(&mut self, m: &MetricDesc<'_>) {
        self.inner.end_metric(m);
    }
}

/// The first label of `labels` that a series of `metrics` has too, and its metric.
fn collision(labels: &OwnedLabels, metrics: &dyn Metrics) -> Option<(String, String)> {
    if labels.pairs.is_empty() {
        return None;
    }
    struct Find<'a> {
        labels: &'a OwnedLabels,
        found: Option<(String, String)>,
    }
    impl Find<'_> {
        fn check(&mut self, metric: &MetricDesc<'_>, series: &Series<'_>) {
            if self.found.is_some() {
                return;
            }
            let mut hit = None;
            series.labels.pairs(&mut |k, _| {
                if hit.is_none() && self.labels.pairs.iter().any(|(n, _)| n == k) {
                    hit = Some(k.to_owned());
                }
            });
            self.found = hit.map(|label| (label, metric.name.to_owned()));
        }
    }
    impl Visitor for Find<'_> {
        fn counter(&mut self, m: &MetricDesc<'_>, s: Series<'_>, _: u64) {
            self.check(m, &s);
        }
        fn gauge(&mut self, m: &MetricDesc<'_>, s: Series<'_>, _: f64) {
            self.check(m, &s);
        }
        fn info(&mut self, m: &MetricDesc<'_>, s: Series<'_>) {
            self.check(m, &s);
        }
        fn histogram(&mut self, m: &MetricDesc<'_>, s: Series<'_>, _: &crate::read::HistogramRead<'_>) {
            self.check(m, &s);
        }
        fn native_histogram(&mut self, m: &MetricDesc<'_>, s: Series<'_>, _: &crate::NativeRead) {
            self.check(m, &s);
        }
        fn summary(&mut self, m: &MetricDesc<'_>, s: Series<'_>, _: &crate::read::SummaryRead<'_>) {
            self.check(m, &s);
        }
    }
    let mut find = Find { labels, found: None };
    metrics.visit(&mut find);
    find.found
}
