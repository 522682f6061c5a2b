//! The trait that `#[derive(Metrics)]` implements, and the render methods built on it.

use crate::expose::{Format, JsonWriter, OpenMetricsWriter, PrometheusWriter};
use crate::read::{MetricDesc, Visitor};

/// A struct of metrics, as produced by `#[derive(Metrics)]`.
///
/// The derive also adds inherent `new` (a `const fn`) and the `render_*`/`write_*` methods, so
/// most code never names this trait; it exists for code that handles several metric structs
/// (a [`Registry`](crate::Registry)), and it is object safe.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Gauge, Metrics};
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "api")]
/// struct Api {
///     /// Calls served.
///     calls_total: Counter,
/// }
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "pool")]
/// struct Pool {
///     /// Open connections.
///     connections: Gauge,
/// }
///
/// static API: Api = Api::new();
/// static POOL: Pool = Pool::new();
///
/// // Code that handles any metrics struct takes `&dyn Metrics`.
/// fn scrape(all: &[&dyn Metrics]) -> String {
///     let mut out = String::new();
///     for m in all {
///         m.write_prometheus(&mut out);
///     }
///     out
/// }
///
/// API.calls_total.inc();
/// POOL.connections.set(4.0);
/// let text = scrape(&[&API, &POOL]);
/// assert!(text.contains("api_calls_total 1\n"));
/// assert!(text.contains("pool_connections 4.0\n"));
/// ```
pub trait Metrics: Send + Sync {
    /// What is known at compile time about each metric, in declaration order.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Histogram, MetricKind, Metrics};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "db")]
    /// struct Db {
    ///     /// Queries run.
    ///     queries_total: Counter,
    ///     /// Query time.
    ///     #[metric(unit = "seconds")]
    ///     query_seconds: Histogram,
    /// }
    ///
    /// let db = Db::new();
    /// let names: Vec<(&str, MetricKind)> = db.descriptors().iter().map(|d| (d.name, d.kind)).collect();
    /// assert_eq!(names, [("db_queries_total", MetricKind::Counter), ("db_query_seconds", MetricKind::Histogram)]);
    /// assert_eq!(db.descriptors()[1].unit, "seconds");
    /// ```
    fn descriptors(&self) -> &'static [MetricDesc<'static>];

    /// Hands every series of every metric to `visitor`, metric by metric in declaration
    /// order: the read protocol that every writer, snapshot and exporter is built on. Reading
    /// changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, MetricDesc, Metrics, Series, Visitor};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// struct Names(Vec<String>);
    /// impl Visitor for Names {
    ///     fn counter(&mut self, m: &MetricDesc<'_>, _: Series<'_>, value: u64) {
    ///         self.0.push(format!("{} = {value}", m.name));
    ///     }
    /// }
    ///
    /// let jobs = Jobs::new();
    /// jobs.jobs_total.add(3);
    /// let mut names = Names(Vec::new());
    /// jobs.visit(&mut names);
    /// assert_eq!(names.0, ["jobs_total = 3"]);
    /// ```
    fn visit(&self, visitor: &mut dyn Visitor);

    /// Maintenance that reads must not do, run on the caller's schedule: a
    /// [`BoundedRegistry`](crate::dynamic::BoundedRegistry) evicts its idle series here. Nothing for
    /// derived structs. The HTTP server and the exporters call it after their reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// let jobs = Jobs::new();
    /// jobs.jobs_total.inc();
    /// jobs.maintain(); // nothing to do for static storage
    /// assert_eq!(jobs.jobs_total.get(), 1);
    /// ```
    fn maintain(&self) {}

    /// Heap held by the metrics, in bytes: zero for counters, gauges and native histograms
    /// (their storage is inline), the per-thread stripes of histogram series that timers
    /// record into ([`Histogram::heap_bytes`](crate::Histogram::heap_bytes)), the staging
    /// buffers and t-digests of summaries.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Summary};
    ///
    /// #[derive(Metrics)]
    /// struct Counters {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// #[derive(Metrics)]
    /// struct Latency {
    ///     /// Job time quantiles.
    ///     #[metric(unit = "seconds")]
    ///     job_seconds: Summary,
    /// }
    ///
    /// assert_eq!(Counters::new().heap_bytes(), 0); // inline storage only
    /// let latency = Latency::new();
    /// for _ in 0..1_000 {
    ///     latency.job_seconds.record(0.25);
    /// }
    /// assert!(latency.heap_bytes() > 0); // staging buffer and t-digests
    /// ```
    fn heap_bytes(&self) -> usize {
        0
    }

    /// The implementing type's name, path included (`app::ShopMetrics`): what a catalog names
    /// the struct's group of metrics after.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Pool {
    ///     /// Open connections.
    ///     connections: Gauge,
    /// }
    ///
    /// let all: &dyn Metrics = &Pool::new();
    /// assert!(all.type_name().ends_with("Pool"));
    /// ```
    fn type_name(&self) -> &'static str {
        core::any::type_name::<Self>()
    }

    /// Memory held, in bytes: the inline storage (`size_of_val`) plus [`Metrics::heap_bytes`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Small {
    ///     /// Jobs.
    ///     jobs_total: Counter,
    /// }
    /// let m = Small::new();
    /// assert_eq!(m.memory_bytes(), 8); // one series, one `AtomicU64`, no heap
    /// ```
    fn memory_bytes(&self) -> usize {
        core::mem::size_of_val(self) + self.heap_bytes()
    }

    /// Appends the Prometheus text format (0.0.4) exposition of every metric to `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Queue {
    ///     /// Jobs waiting.
    ///     queue_depth: Gauge,
    /// }
    ///
    /// static QUEUE: Queue = Queue::new();
    /// QUEUE.queue_depth.set(7.0);
    /// let mut buffer = String::new();
    /// for _ in 0..2 {
    ///     buffer.clear(); // reuse the allocation between scrapes
    ///     Metrics::write_prometheus(&QUEUE, &mut buffer);
    /// }
    /// assert_eq!(buffer, "# HELP queue_depth Jobs waiting.\n# TYPE queue_depth gauge\nqueue_depth 7.0\n");
    /// ```
    fn write_prometheus(&self, out: &mut String) {
        self.visit(&mut PrometheusWriter::new(out));
    }

    /// The Prometheus text format (0.0.4) exposition of every metric.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "mail")]
    /// struct Mail {
    ///     /// Messages sent.
    ///     sent_total: Counter,
    /// }
    ///
    /// static MAIL: Mail = Mail::new();
    /// MAIL.sent_total.add(2);
    /// let metrics: &dyn Metrics = &MAIL;
    /// assert_eq!(
    ///     metrics.render_prometheus(),
    ///     "# HELP mail_sent_total Messages sent.\n# TYPE mail_sent_total counter\nmail_sent_total 2\n"
    /// );
    /// ```
    fn render_prometheus(&self) -> String {
        let mut out = String::new();
        self.write_prometheus(&mut out);
        out
    }

    /// Appends the OpenMetrics 1.0 exposition of every metric to `out`, ending with `# EOF`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Mail {
    ///     /// Messages sent.
    ///     sent_total: Counter,
    /// }
    ///
    /// let mail = Mail::new();
    /// mail.sent_total.inc();
    /// let mut out = String::new();
    /// Metrics::write_openmetrics(&mail, &mut out);
    /// assert!(out.starts_with("# TYPE sent counter\n# HELP sent Messages sent.\nsent_total 1\nsent_created "));
    /// assert!(out.ends_with("# EOF\n"));
    /// ```
    fn write_openmetrics(&self, out: &mut String) {
        let mut writer = OpenMetricsWriter::new(out);
        self.visit(&mut writer);
        writer.finish();
    }

    /// The OpenMetrics 1.0 exposition of every metric, ending with `# EOF`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Uploads {
    ///     /// Upload sizes.
    ///     #[metric(unit = "bytes", buckets = [1024.0, 1048576.0])]
    ///     upload_bytes: Histogram,
    /// }
    ///
    /// let uploads = Uploads::new();
    /// uploads.upload_bytes.record(2048.0);
    /// let text = Metrics::render_openmetrics(&uploads);
    /// assert!(text.contains("# UNIT upload_bytes bytes\n"));
    /// assert!(text.contains("upload_bytes_bucket{le=\"1048576.0\"} 1\n"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    fn render_openmetrics(&self) -> String {
        let mut out = String::new();
        self.write_openmetrics(&mut out);
        out
    }

    /// Appends the JSON document of every metric to `out`:
    /// `{"metrics":[{"name","type","help","unit","series":[{"labels":{..},"value"}]}]}`, with
    /// `buckets`/`sum`/`count` for histograms and `quantiles`/`sum`/`count` for summaries;
    /// values JSON cannot spell are the strings `"NaN"`, `"+Inf"`, `"-Inf"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Pool {
    ///     /// Open connections.
    ///     connections: Gauge,
    /// }
    ///
    /// let pool = Pool::new();
    /// pool.connections.set(f64::INFINITY);
    /// let mut out = String::new();
    /// Metrics::write_json(&pool, &mut out);
    /// assert_eq!(
    ///     out,
    ///     r#"{"metrics":[{"name":"connections","type":"gauge","help":"Open connections.","unit":"","series":[{"labels":{},"value":"+Inf"}]}]}"#
    /// );
    /// ```
    fn write_json(&self, out: &mut String) {
        let mut writer = JsonWriter::new(out);
        self.visit(&mut writer);
        writer.finish();
    }

    /// The JSON document of every metric (see [`Metrics::write_json`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method", rename_all = "UPPERCASE")]
    /// enum Method { Get, Post }
    ///
    /// #[derive(Metrics)]
    /// struct Http {
    ///     /// Requests served.
    ///     requests_total: Counter<Method>,
    /// }
    ///
    /// let http = Http::new();
    /// http.requests_total.with(Method::Post).add(5);
    /// let json = Metrics::render_json(&http);
    /// assert!(json.starts_with(r#"{"metrics":[{"name":"requests_total","type":"counter""#));
    /// assert!(json.contains(r#"{"labels":{"method":"POST"},"value":5}"#));
    /// ```
    fn render_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the exposition in `format` (complete document: `# EOF` or JSON brackets included).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    /// use metrics_runtime::expose::negotiate;
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// let jobs = Jobs::new();
    /// let format = negotiate(Some("application/openmetrics-text; version=1.0.0"));
    /// let mut body = String::new();
    /// jobs.write_format(format, &mut body);
    /// assert!(body.ends_with("# EOF\n")); // a complete OpenMetrics document
    /// ```
    fn write_format(&self, format: Format, out: &mut String) {
        match format {
            Format::Prometheus => self.write_prometheus(out),
            Format::OpenMetrics => self.write_openmetrics(out),
            Format::Json => self.write_json(out),
            // A `String` cannot hold protobuf: the text format instead (use `ProtobufWriter`).
            #[cfg(feature = "protobuf")]
            Format::Protobuf => self.write_prometheus(out),
        }
    }
}
