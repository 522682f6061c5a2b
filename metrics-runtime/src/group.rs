//! The trait that `#[derive(Metrics)]` implements, and the render methods built on it.

use crate::encode::{Encoder, Format, MetricDesc};

/// A struct of metrics, as produced by `#[derive(Metrics)]`.
///
/// The derive also adds inherent `new` (a `const fn`) and the `render_*`/`write_*` methods, so
/// most code never names this trait; it exists for code that handles several metric structs
/// (a [`Registry`](crate::Registry)), and it is object safe.
pub trait Metrics: Send + Sync {
    /// What is known at compile time about each metric, in declaration order.
    fn descriptors(&self) -> &'static [MetricDesc];

    /// Writes every metric into `encoder`.
    fn encode(&self, encoder: &mut Encoder<'_>);

    /// Heap held by the metrics, in bytes: zero for counters, gauges and histograms (their
    /// storage is inline), the staging buffers and t-digests of summaries.
    fn heap_bytes(&self) -> usize {
        0
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
    fn write_prometheus(&self, out: &mut String) {
        let mut e = Encoder::new(out, Format::Prometheus);
        self.encode(&mut e);
    }

    /// The Prometheus text format (0.0.4) exposition of every metric.
    fn render_prometheus(&self) -> String {
        let mut out = String::new();
        self.write_prometheus(&mut out);
        out
    }

    /// Appends the OpenMetrics 1.0 exposition of every metric to `out`, ending with `# EOF`.
    fn write_openmetrics(&self, out: &mut String) {
        let mut e = Encoder::new(out, Format::OpenMetrics);
        self.encode(&mut e);
        e.finish();
    }

    /// The OpenMetrics 1.0 exposition of every metric, ending with `# EOF`.
    fn render_openmetrics(&self) -> String {
        let mut out = String::new();
        self.write_openmetrics(&mut out);
        out
    }

    /// Appends the JSON document of every metric to `out`:
    /// `{"metrics":[{"name","type","help","unit","series":[{"labels":{..},"value"}]}]}`, with
    /// `buckets`/`sum`/`count` for histograms and `quantiles`/`sum`/`count` for summaries;
    /// values JSON cannot spell are the strings `"NaN"`, `"+Inf"`, `"-Inf"`.
    fn write_json(&self, out: &mut String) {
        let mut e = Encoder::new(out, Format::Json);
        e.begin();
        self.encode(&mut e);
        e.finish();
    }

    /// The JSON document of every metric (see [`Metrics::write_json`]).
    fn render_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the exposition in `format` (complete document: `# EOF` or JSON brackets included).
    fn write_format(&self, format: Format, out: &mut String) {
        match format {
            Format::Prometheus => self.write_prometheus(out),
            Format::OpenMetrics => self.write_openmetrics(out),
            Format::Json => self.write_json(out),
        }
    }
}
