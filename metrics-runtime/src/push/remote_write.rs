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

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
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
#[derive(Debug, Clone)]
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

/// Starts pushing `source` to the receiver. Must be called inside a tokio runtime (with time
/// and I/O enabled); the first push is one interval from now.
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
        (USER_AGENT, HeaderValue::from_static(concat!("metrics-runtime/", env!("CARGO_PKG_VERSION")))),
        (HeaderName::from_static("x-prometheus-remote-write-version"), HeaderValue::from_static("0.1.0")),
    ]);
    let mut labels = Vec::with_capacity(config.labels.len());
    for (name, value) in &config.labels {
        metrics_rules::check_label_name(name).map_err(|e| PushError::InvalidSetting(format!("label `{name}`: {e}")))?;
        labels.push(Label { name: name.clone(), value: value.clone() });
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    let protocol = RemoteWrite {
        uri,
        headers,
        encoder: Encoder { external: labels, native: config.native_histograms, ..Encoder::default() },
    };
    Ok(PushExporter::start(protocol, source.into(), config.push))
}

struct RemoteWrite {
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    encoder: Encoder,
}

impl Protocol for RemoteWrite {
    const KIND: ExporterKind = ExporterKind::RemoteWrite;

    fn encode(&mut self, source: &Source, at: SystemTime) -> Option<Batch> {
        let (request, points) = self.encoder.encode(source, at);
        if points == 0 {
            return None;
        }
        let body = snap::raw::Encoder::new().compress_vec(&request.encode_to_vec()).ok()?;
        Some(Batch { body: Bytes::from(body), points })
    }

    fn call(&self, body: Bytes) -> Call {
        Call { method: Method::POST, uri: self.uri.clone(), headers: self.headers.clone(), body }
    }
}

/// Builds a `WriteRequest` from a read: a visitor of the read protocol.
#[derive(Default)]
pub(crate) struct Encoder {
    /// External labels, sorted by name.
    pub(crate) external: Vec<Label>,
    /// Native histograms as native samples.
    pub(crate) native: bool,
    timestamp: i64,
    request: WriteRequest,
    points: u64,
    /// Metrics whose metadata is written (a name can appear in several structs).
    seen: HashSet<String>,
}

impl Encoder {
    /// The request for a read of `source` taken at `at`, and its number of samples.
    pub(crate) fn encode(&mut self, source: &Source, at: SystemTime) -> (WriteRequest, u64) {
        self.timestamp = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        self.points = 0;
        self.seen.clear();
        source.visit(self);
        (std::mem::take(&mut self.request), std::mem::take(&mut self.points))
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
        let labels = self.labels(name, series, extra);
        self.request.timeseries.push(TimeSeries {
            labels,
            samples: vec![Sample { value, timestamp: self.timestamp }],
            ..TimeSeries::default()
        });
        self.points += 1;
    }
}

impl Visitor for Encoder {
    fn begin_metric(&mut self, metric: &MetricDesc<'_>) {
        if !self.seen.insert(metric.name.to_owned()) {
            return;
        }
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
        let labels = self.labels(metric.name, &series, None);
        self.request.timeseries.push(TimeSeries {
            labels,
            histograms: vec![Histogram {
                count: Some(histogram::Count::CountInt(h.count)),
                sum: h.sum,
                schema: i32::from(h.schema),
                zero_threshold: h.zero_threshold,
                zero_count: Some(histogram::ZeroCount::ZeroCountInt(h.zero_count)),
                negative_spans,
                negative_deltas,
                positive_spans,
                positive_deltas,
                timestamp: self.timestamp,
                ..Histogram::default()
            }],
            ..TimeSeries::default()
        });
        self.points += 1;
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
}
