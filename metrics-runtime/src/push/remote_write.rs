//! Prometheus remote write 1.0 (feature `remote-write`): to Prometheus
//! (`--web.enable-remote-write-receiver`), Mimir, Thanos, Cortex, VictoriaMetrics.
//!
//! Every interval, one `WriteRequest` (types generated from the official `prompb` protos),
//! snappy-compressed (block format), POSTed with `Content-Encoding: snappy`,
//! `Content-Type: application/x-protobuf` and `X-Prometheus-Remote-Write-Version: 0.1.0`:
//!
//! - one time series per series of the read, labels sorted by name, `__name__` first, the
//!   configured external labels added (a series label of the same name wins);
//! - one sample each, stamped with the time of the read (ms);
//! - counters and gauges as one series each (an info metric as a gauge of value 1), a histogram
//!   as its classic `_bucket{le}`, `_sum` and `_count` series, a summary as its `quantile`
//!   series, `_sum` and `_count`;
//! - a native histogram as its classic series by default, or as one native `Histogram` sample
//!   with [`RemoteWriteConfig::native_histograms`] (for receivers that take them: Prometheus
//!   with `--enable-feature=native-histograms`, Mimir);
//! - one `MetricMetadata` per metric (type, HELP, unit).
//!
//! Retries follow the spec: 5xx and 429 are retried with backoff (honouring `Retry-After`),
//! other 4xx never are. Across an outage, the batches wait in the pipeline's bounded queue
//! (their samples keep their own timestamps) and are sent in order when the receiver is back;
//! past [`PushConfig::max_queued_batches`] the oldest go and their samples are counted as
//! dropped (`queue_full`).
//!
//! # Examples
//!
//! ```no_run
//! use std::time::Duration;
//! use metrics_runtime::push::remote_write::{self, RemoteWriteConfig};
//! use metrics_runtime::{Counter, Metrics};
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "job")]
//! struct Job {
//!     /// Rows imported.
//!     rows_total: Counter,
//! }
//! static JOB: Job = Job::new();
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = RemoteWriteConfig::new("http://127.0.0.1:9090/api/v1/write")?;
//! config.push.interval = Duration::from_secs(15);
//! config.labels.push(("instance".into(), "importer-1".into()));
//! let exporter = remote_write::start(&JOB, config)?;
//! JOB.rows_total.add(1000);
//! exporter.shutdown().await; // a last push
//! # Ok(()) }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, Uri};
use prost::Message;

use super::client::{parse_headers, parse_url, Call};
use super::pipeline::{Batch, Protocol, PushConfig, PushExporter};
use super::proto::prometheus::{
    histogram, metric_metadata::MetricType, BucketSpan, Histogram, Label, MetricMetadata, Sample, TimeSeries,
    WriteRequest,
};
use super::source::Source;
use super::stats::ExporterKind;
use super::PushError;
use crate::read::{HistogramRead, MetricDesc, MetricKind, Series, SummaryRead, Visitor};
use crate::NativeRead;

/// The settings of a remote-write exporter.
///
/// # Examples
///
/// ```
/// use metrics_runtime::push::remote_write::RemoteWriteConfig;
///
/// let config = RemoteWriteConfig::new("http://127.0.0.1:9090/api/v1/write").unwrap();
/// assert!(!config.native_histograms);
/// assert!(RemoteWriteConfig::new("127.0.0.1:9090").is_err());
/// ```
#[derive(Clone)]
pub struct RemoteWriteConfig {
    /// The receiver's URL (`http://host:port/api/v1/write` for Prometheus).
    pub url: String,
    /// The pipeline's settings.
    pub push: PushConfig,
    /// Labels added to every series (`job`, `instance`, a tenant...): what Prometheus calls
    /// external labels. Names must be valid label names.
    pub labels: Vec<(String, String)>,
    /// Extra request headers (`X-Scope-OrgID` for Mimir and Cortex, `Authorization`).
    pub headers: Vec<(String, String)>,
    /// Send native histograms as native samples rather than their classic series.
    pub native_histograms: bool,
}

impl std::fmt::Debug for RemoteWriteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteWriteConfig")
            .field("url", &self.url)
            .field("push", &self.push)
            .field("labels", &self.labels)
            .field("headers", &super::client::Redacted(&self.headers))
            .field("native_histograms", &self.native_histograms)
            .finish()
    }
}

impl RemoteWriteConfig {
    /// Settings for `url`, with the pipeline's defaults.
    ///
    /// # Errors
    ///
    /// [`PushError::InvalidUrl`] or [`PushError::UnsupportedScheme`].
    pub fn new(url: &str) -> Result<Self, PushError> {
        parse_url(url)?;
        Ok(Self {
            url: url.to_owned(),
            push: PushConfig::default(),
            labels: Vec::new(),
            headers: Vec::new(),
            native_histograms: false,
        })
    }
}

/// Starts pushing `source` to the receiver, on the push thread (see [`push`](crate::push)): any
/// thread may call it. The first push is one to two intervals from now, on the schedule every
/// exporter of the process shares.
///
/// # Errors
///
/// A URL, header or label the configuration cannot use.
pub fn start(source: impl Into<Source>, config: RemoteWriteConfig) -> Result<PushExporter, PushError> {
    let uri = parse_url(&config.url)?;
    let mut headers = parse_headers(&config.headers)?;
    headers.extend([
        (CONTENT_ENCODING, HeaderValue::from_static("snappy")),
        (CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf")),
        (HeaderName::from_static("x-prometheus-remote-write-version"), HeaderValue::from_static("0.1.0")),
    ]);
    let protocol = RemoteWrite { uri, headers, encoder: RemoteWriteEncoder::new(&config)? };
    Ok(PushExporter::start(protocol, source.into(), config.push))
}

struct RemoteWrite {
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    encoder: RemoteWriteEncoder,
}

/// The request bodies of a remote-write exporter, without the exporter: what [`start`] sends
/// each interval (a snappy-compressed `WriteRequest`), for a transport of your own (or a
/// benchmark).
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use metrics_runtime::push::remote_write::{RemoteWriteConfig, RemoteWriteEncoder};
/// use metrics_runtime::push::Source;
/// use metrics_runtime::{Counter, Metrics};
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
/// static JOBS: Jobs = Jobs::new();
///
/// let config = RemoteWriteConfig::new("http://127.0.0.1:9090/api/v1/write").unwrap();
/// let mut encoder = RemoteWriteEncoder::new(&config).unwrap();
/// let (body, samples) = encoder.encode(&Source::from(&JOBS), SystemTime::now());
/// assert_eq!(samples, 1);
/// assert!(!body.is_empty());
/// ```
#[derive(Debug)]
pub struct RemoteWriteEncoder {
    encoder: Encoder,
    snappy: snap::raw::Encoder,
    /// The uncompressed request, reused.
    buffer: Vec<u8>,
}

impl RemoteWriteEncoder {
    /// An encoder with the external labels and native-histogram choice of `config`.
    ///
    /// # Errors
    ///
    /// An external label whose name is not a valid label name.
    pub fn new(config: &RemoteWriteConfig) -> Result<Self, PushError> {
        let mut labels = Vec::with_capacity(config.labels.len());
        for (name, value) in &config.labels {
            metrics_rules::check_label_name(name)
                .map_err(|e| PushError::InvalidSetting(format!("label `{name}`: {e}")))?;
            labels.push(Label { name: name.clone(), value: value.clone() });
        }
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            encoder: Encoder { external: labels, native: config.native_histograms, ..Encoder::default() },
            snappy: snap::raw::Encoder::new(),
            buffer: Vec::new(),
        })
    }

    /// The request body for a read of `source` taken at `at` (snappy-compressed protobuf), and
    /// the number of samples in it.
    pub fn encode(&mut self, source: &Source, at: SystemTime) -> (Vec<u8>, u64) {
        let (request, points) = self.encoder.encode(source, at);
        self.buffer.clear();
        // Encoding into a `Vec` does not fail.
        let _ = request.encode(&mut self.buffer);
        // Compressing into a fresh `Vec` of the right size does not fail.
        let body = self.snappy.compress_vec(&self.buffer).unwrap_or_default();
        (body, points)
    }
}

impl Protocol for RemoteWrite {
    const KIND: ExporterKind = ExporterKind::RemoteWrite;

    fn encode(&mut self, source: &Source, at: SystemTime) -> Option<Batch> {
        let (body, points) = self.encoder.encode(source, at);
        (points > 0).then(|| Batch { body: Bytes::from(body), points })
    }

    fn call(&self, body: Bytes) -> Call {
        Call { method: Method::POST, uri: self.uri.clone(), headers: self.headers.clone(), body }
    }
}

/// Builds a `WriteRequest` from a read: a visitor of the read protocol.
///
/// The request is kept from read to read and updated in place: a time series whose labels are
/// those of the same position in the last read keeps its label strings, so that a read of an
/// unchanged set of series allocates nothing but its native-histogram samples.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// External labels, sorted by name.
    pub(crate) external: Vec<Label>,
    /// Native histograms as native samples.
    pub(crate) native: bool,
    timestamp: i64,
    request: WriteRequest,
    points: u64,
    /// The next time series and metadata entry to write.
    series_at: usize,
    meta_at: usize,
}

impl Encoder {
    /// The request for a read of `source` taken at `at`, and its number of samples.
    pub(crate) fn encode(&mut self, source: &Source, at: SystemTime) -> (&WriteRequest, u64) {
        self.timestamp = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        (self.points, self.series_at, self.meta_at) = (0, 0, 0);
        source.visit(self);
        self.request.timeseries.truncate(self.series_at);
        self.request.metadata.truncate(self.meta_at);
        (&self.request, std::mem::take(&mut self.points))
    }

    /// Whether `labels` (sorted by name) are the labels [`labels`](Self::labels) would build.
    fn same_labels(&self, labels: &[Label], name: &str, series: &Series<'_>, extra: Option<(&str, &str)>) -> bool {
        if self.external.len() > 64 {
            return false;
        }
        let find =
            |k: &str, v: &str| labels.binary_search_by(|l| l.name.as_str().cmp(k)).is_ok_and(|i| labels[i].value == v);
        let (mut count, mut same, mut overridden) = (1usize, find("__name__", name), 0u64);
        let mut check = |k: &str, v: &str| {
            count += 1;
            same &= find(k, v);
            if let Some(i) = self.external.iter().position(|e| e.name == k) {
                overridden |= 1 << i;
            }
        };
        series.labels.pairs(&mut check);
        if let Some((k, v)) = extra {
            check(k, v);
        }
        for (i, e) in self.external.iter().enumerate() {
            if overridden & (1 << i) == 0 {
                count += 1;
                same &= find(&e.name, &e.value);
            }
        }
        same && count == labels.len()
    }

    /// The labels of one series: `__name__`, the series' labels, the external labels, sorted.
    fn labels(&self, name: &str, series: &Series<'_>, extra: Option<(&str, &str)>) -> Vec<Label> {
        let mut labels = Vec::with_capacity(series.labels.len() + self.external.len() + 2);
        labels.push(Label { name: "__name__".to_owned(), value: name.to_owned() });
        series.labels.pairs(&mut |k, v| labels.push(Label { name: k.to_owned(), value: v.to_owned() }));
        if let Some((k, v)) = extra {
            labels.push(Label { name: k.to_owned(), value: v.to_owned() });
        }
        for label in &self.external {
            if !labels.iter().any(|l| l.name == label.name) {
                labels.push(label.clone());
            }
        }
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        labels
    }

    fn sample(&mut self, name: &str, series: &Series<'_>, extra: Option<(&str, &str)>, value: f64) {
        let sample = Sample { value, timestamp: self.timestamp };
        self.place(name, series, extra, |ts| {
            ts.samples.clear();
            ts.samples.push(sample);
            ts.histograms.clear();
        });
    }

    /// Writes the next time series with `fill`: over the one at that position when its labels
    /// are the same, else in place of it and of everything after it.
    fn place(
        &mut self,
        name: &str,
        series: &Series<'_>,
        extra: Option<(&str, &str)>,
        fill: impl FnOnce(&mut TimeSeries),
    ) {
        let at = self.series_at;
        let reuse = self.request.timeseries.get(at).is_some_and(|ts| self.same_labels(&ts.labels, name, series, extra));
        if !reuse {
            let labels = self.labels(name, series, extra);
            self.request.timeseries.truncate(at);
            self.request.timeseries.push(TimeSeries { labels, ..TimeSeries::default() });
        }
        fill(&mut self.request.timeseries[at]);
        self.series_at += 1;
        self.points += 1;
    }
}

impl Visitor for Encoder {
    fn begin_metric(&mut self, metric: &MetricDesc<'_>) {
        let at = self.meta_at;
        self.meta_at += 1;
        if self.request.metadata.get(at).is_some_and(|m| m.metric_family_name == metric.name && m.help == metric.help) {
            return;
        }
        self.request.metadata.truncate(at);
        let r#type = match metric.kind {
            MetricKind::Counter => MetricType::Counter,
            MetricKind::Gauge => MetricType::Gauge,
            MetricKind::Info => MetricType::Info,
            MetricKind::Histogram => MetricType::Histogram,
            MetricKind::Summary => MetricType::Summary,
        };
        self.request.metadata.push(MetricMetadata {
            r#type: r#type as i32,
            metric_family_name: metric.name.to_owned(),
            help: metric.help.to_owned(),
            unit: metric.unit.to_owned(),
        });
    }

    fn counter(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        self.sample(metric.name, &series, None, value as f64);
    }

    fn counter_f64(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.sample(metric.name, &series, None, value);
    }

    fn gauge(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.sample(metric.name, &series, None, value);
    }

    fn histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        let bucket = format!("{}_bucket", metric.name);
        for (i, count) in h.cumulative().enumerate() {
            self.sample(&bucket, &series, Some(("le", h.le.get(i))), count as f64);
        }
        self.sample(&format!("{}_sum", metric.name), &series, None, h.sum);
        self.sample(&format!("{}_count", metric.name), &series, None, h.count() as f64);
    }

    fn native_histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, h: &NativeRead) {
        if !self.native {
            // The classic series, as the text formats expose them.
            crate::read::classic_histogram(self, metric, series, h);
            return;
        }
        let spans = |buckets: &[(i32, u64)]| {
            let (spans, deltas) = crate::native::spans_and_deltas(buckets);
            (spans.into_iter().map(|(offset, length)| BucketSpan { offset, length }).collect::<Vec<_>>(), deltas)
        };
        let (positive_spans, positive_deltas) = spans(&h.positive);
        let (negative_spans, negative_deltas) = spans(&h.negative);
        let timestamp = self.timestamp;
        let histogram = Histogram {
            count: Some(histogram::Count::CountInt(h.count)),
            sum: h.sum,
            schema: i32::from(h.schema),
            zero_threshold: h.zero_threshold,
            zero_count: Some(histogram::ZeroCount::ZeroCountInt(h.zero_count)),
            negative_spans,
            negative_deltas,
            positive_spans,
            positive_deltas,
            timestamp,
            ..Histogram::default()
        };
        self.place(metric.name, &series, None, |ts| {
            ts.samples.clear();
            ts.histograms.clear();
            ts.histograms.push(histogram);
        });
    }

    fn summary(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        for (label, value) in s.labels.iter().zip(s.values) {
            self.sample(metric.name, &series, Some(("quantile", label)), *value);
        }
        self.sample(&format!("{}_sum", metric.name), &series, None, s.sum);
        self.sample(&format!("{}_count", metric.name), &series, None, s.count as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, Histogram, Metrics, Tag};

    #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    #[tag(name = "zone", rename_all = "lowercase")]
    enum Zone {
        A,
    }

    #[derive(Metrics)]
    #[metrics(namespace = "rw")]
    struct Rw {
        /// Jobs.
        jobs_total: Counter<Zone>,
        /// Times.
        #[metric(unit = "seconds", buckets = [1.0])]
        time_seconds: Histogram,
    }

    #[test]
    fn series_have_sorted_labels_and_one_timestamp() {
        static RW: Rw = Rw::new();
        RW.jobs_total.with(Zone::A).add(3);
        RW.time_seconds.record(0.5);
        let mut encoder =
            Encoder { external: vec![Label { name: "job".into(), value: "import".into() }], ..Encoder::default() };
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let (request, points) = encoder.encode(&Source::from(&RW), at);
        assert_eq!(points, 5); // 1 counter + 2 buckets + sum + count
        let names: Vec<String> = request.timeseries.iter().map(|t| t.labels[0].value.clone()).collect();
        assert_eq!(
            names,
            [
                "rw_jobs_total",
                "rw_time_seconds_bucket",
                "rw_time_seconds_bucket",
                "rw_time_seconds_sum",
                "rw_time_seconds_count"
            ]
        );
        let first: Vec<(&str, &str)> =
            request.timeseries[0].labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
        assert_eq!(first, [("__name__", "rw_jobs_total"), ("job", "import"), ("zone", "a")]);
        assert!(request.timeseries.iter().all(|t| t.samples[0].timestamp == 1_700_000_000_123));
        assert_eq!(request.metadata.len(), 2);
        assert_eq!(request.metadata[0].metric_family_name, "rw_jobs_total");
    }

    #[test]
    fn a_kept_encoder_writes_what_a_fresh_one_writes() {
        let mut kept = Encoder::default();
        crate::push::source::reuse_rounds(|source, at| {
            let mut fresh = Encoder::default();
            let (want, want_points) = fresh.encode(source, at);
            let (got, got_points) = kept.encode(source, at);
            assert_eq!(got, want);
            assert_eq!(got_points, want_points);
        });
    }
}
