//! OTLP/HTTP metrics export (feature `otlp`): to an OpenTelemetry Collector, or any receiver of
//! `POST /v1/metrics`, in protobuf (`application/x-protobuf`, the default) or JSON
//! (`application/json`), gzip-compressed on request. The types are generated from the official
//! `opentelemetry-proto` schemas.
//!
//! Every interval, one `ExportMetricsServiceRequest` with one resource (`service.name`, the
//! `telemetry.sdk.*` attributes, `OTEL_RESOURCE_ATTRIBUTES` and the configured ones) and one
//! instrumentation scope (`metrics-runtime`), holding every metric of the read:
//!
//! | ours | OTLP |
//! | --- | --- |
//! | counter | `Sum`, monotonic, `asInt` (`asDouble` for fractional counters such as CPU seconds) |
//! | gauge | `Gauge`, `asDouble` |
//! | info metric | `Gauge` of value 1, its labels as attributes |
//! | histogram | `Histogram`: explicit bounds, per-bucket counts, sum (left out when a value or bound is negative) |
//! | native histogram | `ExponentialHistogram`: `scale` = schema, zero bucket, positive and negative buckets (OTLP index = native key - 1) |
//! | summary | `Summary`: count, sum, the quantiles of its window (NaN quantiles of an empty window left out) |
//!
//! Names are the exposition names (`shop_requests_total`, `shop_request_duration_seconds`),
//! so that a metric is spelled the same in every protocol; units are mapped to UCUM
//! (`seconds` to `s`, `bytes` to `By`, `ratio` to `1`...); HELP is the description; labels are
//! string attributes; exemplars carry their labels, value and time, and a `trace_id` or
//! `span_id` label of the right length in hex becomes the exemplar's trace or span id.
//!
//! # Temporality
//!
//! [`Temporality::Cumulative`] (the default) sends totals since each series started:
//! `startTimeUnixNano` is the series' start (the process start for compile-time metrics),
//! stable from push to push, so a dropped batch loses nothing. [`Temporality::Delta`] sends the
//! change since the last read, with the last read's time as start; a series whose total went
//! down (a run-time series evicted and made again) restarts from its own start. A dropped
//! delta batch is lost, and counted as dropped. Gauges and summaries are the same in both.
//!
//! # Environment
//!
//! [`OtlpConfig::from_env`] and [`OtlpConfig::with_env`] read the standard variables:
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL,
//! `/v1/metrics` appended); `OTEL_EXPORTER_OTLP[_METRICS]_PROTOCOL` (`http/protobuf`,
//! `http/json`; `grpc` is refused: not supported, use the Collector's HTTP receiver);
//! `OTEL_EXPORTER_OTLP[_METRICS]_HEADERS`, `_COMPRESSION` (`gzip`, `none`), `_TIMEOUT` (ms);
//! `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (`cumulative`, `delta`, `lowmemory`);
//! `OTEL_METRIC_EXPORT_INTERVAL` (ms); `OTEL_SERVICE_NAME`; `OTEL_RESOURCE_ATTRIBUTES`.
//!
//! # Retries
//!
//! As the OTLP spec says: 429, 502, 503 and 504 are retried with backoff (honouring
//! `Retry-After`); any other failure status is not. A 200 whose `partial_success` reports
//! rejected data points counts them as dropped (`partial_success`).
//!
//! # Examples
//!
//! ```no_run
//! use metrics_runtime::push::otlp::{self, OtlpConfig};
//! use metrics_runtime::{Counter, Metrics};
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "shop")]
//! struct Shop {
//!     /// Orders placed.
//!     orders_total: Counter,
//! }
//! static SHOP: Shop = Shop::new();
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // `OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318` and friends, or an explicit URL:
//! let config = match OtlpConfig::from_env()? {
//!     Some(config) => config,
//!     None => OtlpConfig::new("http://127.0.0.1:4318/v1/metrics")?.with_env()?,
//! };
//! let exporter = otlp::start(&SHOP, config)?;
//! SHOP.orders_total.inc();
//! exporter.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, StatusCode, Uri};
use prost::Message;

use super::client::{parse_headers, parse_url, Call};
use super::pipeline::{Batch, Protocol, PushConfig, PushExporter};
use super::proto::opentelemetry::proto::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use super::proto::opentelemetry::proto::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use super::proto::opentelemetry::proto::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric, number_data_point, summary_data_point,
    AggregationTemporality, Exemplar as OtlpExemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use super::proto::opentelemetry::proto::resource::v1::Resource;
use super::source::Source;
use super::stats::ExporterKind;
use super::PushError;
use crate::exemplar::Exemplar;
use crate::read::{HistogramRead, MetricDesc, Series, SummaryRead, Visitor};
use crate::NativeRead;

/// The OTLP/HTTP encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf`: binary protobuf, `application/x-protobuf`.
    HttpProtobuf,
    /// `http/json`: the OTLP/JSON mapping, `application/json`.
    HttpJson,
}

/// Request compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None.
    None,
    /// gzip (`Content-Encoding: gzip`).
    Gzip,
}

/// Aggregation temporality of sums and histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    /// Totals since each series started (the default).
    Cumulative,
    /// The change since the previous read.
    Delta,
}

/// The settings of an OTLP exporter.
///
/// # Examples
///
/// ```
/// use metrics_runtime::push::otlp::{Compression, OtlpConfig, OtlpProtocol, Temporality};
///
/// let config = OtlpConfig::new("http://127.0.0.1:4318/v1/metrics").unwrap();
/// assert_eq!((config.protocol, config.compression, config.temporality), (OtlpProtocol::HttpProtobuf, Compression::None, Temporality::Cumulative));
///
/// // What the standard variables say, from any lookup (here a fixed list):
/// let env = [
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
///     ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
///     ("OTEL_SERVICE_NAME", "checkout"),
///     ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=pay%20ments"),
///     ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
/// ];
/// let lookup = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
/// let config = OtlpConfig::from_lookup(lookup).unwrap().unwrap();
/// assert_eq!(config.url, "http://collector:4318/v1/metrics");
/// assert_eq!(config.protocol, OtlpProtocol::HttpJson);
/// assert_eq!(config.push.interval, std::time::Duration::from_secs(5));
/// assert!(config.resource.contains(&("service.name".into(), "checkout".into())));
/// assert!(config.resource.contains(&("team".into(), "pay ments".into())));
/// ```
#[derive(Clone)]
pub struct OtlpConfig {
    /// The full URL (`http://host:4318/v1/metrics`).
    pub url: String,
    /// Protobuf or JSON.
    pub protocol: OtlpProtocol,
    /// Request compression.
    pub compression: Compression,
    /// Cumulative or delta sums and histograms.
    pub temporality: Temporality,
    /// Extra request headers (`Authorization`, `api-key`...).
    pub headers: Vec<(String, String)>,
    /// Resource attributes, besides the `telemetry.sdk.*` ones; `service.name` defaults to
    /// `unknown_service:<executable name>`, as the OpenTelemetry SDKs do.
    pub resource: Vec<(String, String)>,
    /// The pipeline's settings.
    pub push: PushConfig,
}

impl std::fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpConfig")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("compression", &self.compression)
            .field("temporality", &self.temporality)
            .field("headers", &super::client::Redacted(&self.headers))
            .field("resource", &self.resource)
            .field("push", &self.push)
            .finish()
    }
}

impl OtlpConfig {
    /// Settings for `url` (a full `/v1/metrics` URL).
    ///
    /// # Errors
    ///
    /// [`PushError::InvalidUrl`] or [`PushError::UnsupportedScheme`].
    pub fn new(url: &str) -> Result<Self, PushError> {
        parse_url(url)?;
        Ok(Self {
            url: url.to_owned(),
            protocol: OtlpProtocol::HttpProtobuf,
            compression: Compression::None,
            temporality: Temporality::Cumulative,
            headers: Vec::new(),
            resource: Vec::new(),
            push: PushConfig::default(),
        })
    }

    /// The settings the standard `OTEL_*` variables give, or `None` when neither
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` nor `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    ///
    /// # Errors
    ///
    /// A variable that does not parse, or `grpc` as the protocol.
    pub fn from_env() -> Result<Option<Self>, PushError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`from_env`](Self::from_env), reading the variables through `lookup`.
    ///
    /// # Errors
    ///
    /// A variable that does not parse, or `grpc` as the protocol.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, PushError> {
        let url = match (lookup("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), lookup("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(url), _) if !url.trim().is_empty() => url.trim().to_owned(),
            (_, Some(base)) if !base.trim().is_empty() => format!("{}/v1/metrics", base.trim().trim_end_matches('/')),
            _ => return Ok(None),
        };
        Self::new(&url)?.with_lookup(lookup).map(Some)
    }

    /// These settings with what the standard `OTEL_*` variables say applied over them (all but
    /// the endpoint): protocol, headers, compression, timeout, temporality, export interval,
    /// service name and resource attributes.
    ///
    /// # Errors
    ///
    /// A variable that does not parse, or `grpc` as the protocol.
    pub fn with_env(self) -> Result<Self, PushError> {
        self.with_lookup(|k| std::env::var(k).ok())
    }

    /// As [`with_env`](Self::with_env), reading the variables through `lookup`.
    ///
    /// # Errors
    ///
    /// A variable that does not parse, or `grpc` as the protocol.
    pub fn with_lookup(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, PushError> {
        let get = |specific: &str, general: &str| {
            lookup(specific).or_else(|| lookup(general)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
        };
        let bad = |name: &str, value: &str| PushError::InvalidSetting(format!("{name}={value}"));
        if let Some(p) = get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") {
            self.protocol = match p.as_str() {
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                "http/json" => OtlpProtocol::HttpJson,
                "grpc" => return Err(PushError::InvalidSetting(
                    "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: use http/protobuf (port 4318 of the Collector)"
                        .into(),
                )),
                _ => return Err(bad("OTEL_EXPORTER_OTLP_PROTOCOL", &p)),
            };
        }
        if let Some(h) = get("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS") {
            self.headers.extend(pairs(&h).ok_or_else(|| bad("OTEL_EXPORTER_OTLP_HEADERS", &h))?);
        }
        if let Some(c) = get("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION") {
            self.compression = match c.as_str() {
                "gzip" => Compression::Gzip,
                "none" => Compression::None,
                _ => return Err(bad("OTEL_EXPORTER_OTLP_COMPRESSION", &c)),
            };
        }
        if let Some(t) = get("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT") {
            let ms: u64 = t.parse().map_err(|_| bad("OTEL_EXPORTER_OTLP_TIMEOUT", &t))?;
            self.push.timeout = Duration::from_millis(ms.max(1));
        }
        if let Some(t) = get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "-") {
            self.temporality = match t.to_ascii_lowercase().as_str() {
                "cumulative" => Temporality::Cumulative,
                // Low memory: delta for counters and histograms, which is all we have.
                "delta" | "lowmemory" => Temporality::Delta,
                _ => return Err(bad("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", &t)),
            };
        }
        if let Some(i) = get("OTEL_METRIC_EXPORT_INTERVAL", "-") {
            let ms: u64 = i.parse().map_err(|_| bad("OTEL_METRIC_EXPORT_INTERVAL", &i))?;
            self.push.interval = Duration::from_millis(ms.max(1));
        }
        if let Some(attrs) = get("OTEL_RESOURCE_ATTRIBUTES", "-") {
            for (k, v) in pairs(&attrs).ok_or_else(|| bad("OTEL_RESOURCE_ATTRIBUTES", &attrs))? {
                set(&mut self.resource, k, v);
            }
        }
        // `OTEL_SERVICE_NAME` wins over a `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.
        if let Some(name) = get("OTEL_SERVICE_NAME", "-") {
            set(&mut self.resource, "service.name".to_owned(), name);
        }
        Ok(self)
    }
}

fn set(list: &mut Vec<(String, String)>, key: String, value: String) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => list.push((key, value)),
    }
}

/// `k=v,k2=v2`, percent-decoded: the W3C Baggage-like lists of the OTEL variables.
fn pairs(text: &str) -> Option<Vec<(String, String)>> {
    let decode = |s: &str| percent_encoding::percent_decode_str(s.trim()).decode_utf8().ok().map(|c| c.into_owned());
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=')?;
            let k = decode(k)?;
            (!k.is_empty()).then_some(())?;
            Some((k, decode(v)?))
        })
        .collect()
}

/// Starts exporting `source`, on the push thread (see [`push`](crate::push)): any thread may
/// call it. The first export is one to two intervals from now, on the schedule every
/// exporter of the process shares.
///
/// # Errors
///
/// A URL or header the configuration cannot use.
pub fn start(source: impl Into<Source>, config: OtlpConfig) -> Result<PushExporter, PushError> {
    let uri = parse_url(&config.url)?;
    let mut headers = parse_headers(&config.headers)?;
    let content_type = match config.protocol {
        OtlpProtocol::HttpProtobuf => "application/x-protobuf",
        OtlpProtocol::HttpJson => "application/json",
    };
    headers.push((CONTENT_TYPE, HeaderValue::from_static(content_type)));
    if config.compression == Compression::Gzip {
        headers.push((CONTENT_ENCODING, HeaderValue::from_static("gzip")));
    }
    let protocol = Otlp { uri, headers, protocol: config.protocol, encoder: OtlpEncoder::new(&config) };
    Ok(PushExporter::start(protocol, source.into(), config.push))
}

struct Otlp {
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    protocol: OtlpProtocol,
    encoder: OtlpEncoder,
}

/// The request bodies of an OTLP exporter, without the exporter: what [`start`] sends each
/// interval, for a transport of your own (or a benchmark). Keeps the previous read for delta
/// temporality.
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use metrics_runtime::push::otlp::{OtlpConfig, OtlpEncoder};
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
/// let mut encoder = OtlpEncoder::new(&OtlpConfig::new("http://127.0.0.1:4318/v1/metrics").unwrap());
/// let (body, points) = encoder.encode(&Source::from(&JOBS), SystemTime::now());
/// assert_eq!(points, 1);
/// assert!(!body.is_empty()); // an ExportMetricsServiceRequest, in protobuf
/// ```
pub struct OtlpEncoder {
    encoder: Encoder,
    protocol: OtlpProtocol,
    compression: Compression,
}

impl std::fmt::Debug for OtlpEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpEncoder")
            .field("protocol", &self.protocol)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl OtlpEncoder {
    /// An encoder with the protocol, compression, temporality and resource of `config`.
    pub fn new(config: &OtlpConfig) -> Self {
        Self { encoder: Encoder::new(config), protocol: config.protocol, compression: config.compression }
    }

    /// The request body for a read of `source` taken at `at` (encoded and compressed as
    /// configured), and the number of data points in it.
    pub fn encode(&mut self, source: &Source, at: SystemTime) -> (Vec<u8>, u64) {
        let (request, points) = self.encoder.encode(source, at);
        let body = match self.protocol {
            OtlpProtocol::HttpProtobuf => request.encode_to_vec(),
            // Serializing generated types into a `Vec` does not fail.
            OtlpProtocol::HttpJson => serde_json::to_vec(&request).unwrap_or_default(),
        };
        let body = match self.compression {
            Compression::None => body,
            // Compressing into a `Vec` does not fail.
            Compression::Gzip => crate::expose::gzip(&body).unwrap_or_default(),
        };
        (body, points)
    }
}

impl Protocol for Otlp {
    const KIND: ExporterKind = ExporterKind::Otlp;

    fn encode(&mut self, source: &Source, at: SystemTime) -> Option<Batch> {
        let (body, points) = self.encoder.encode(source, at);
        Some(Batch { body: Bytes::from(body), points })
    }

    fn call(&self, body: Bytes) -> Call {
        Call { method: Method::POST, uri: self.uri.clone(), headers: self.headers.clone(), body }
    }

    fn retryable(&self, status: StatusCode) -> bool {
        matches!(status.as_u16(), 429 | 502 | 503 | 504)
    }

    fn rejected_points(&self, body: &[u8]) -> u64 {
        match self.protocol {
            OtlpProtocol::HttpProtobuf => ExportMetricsServiceResponse::decode(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map_or(0, |p| p.rejected_data_points.max(0) as u64),
            OtlpProtocol::HttpJson => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    let n = v.get("partialSuccess")?.get("rejectedDataPoints")?.clone();
                    n.as_u64().or_else(|| n.as_str()?.parse().ok())
                })
                .unwrap_or(0),
        }
    }
}

/// What a delta series was at the previous read.
#[derive(Debug, Clone)]
enum Previous {
    Int(u64),
    Float(f64),
    Histogram { counts: Vec<u64>, sum: f64 },
    Native { schema: i8, zero: u64, positive: Vec<(i32, u64)>, negative: Vec<(i32, u64)>, sum: f64, count: u64 },
}

/// Builds an `ExportMetricsServiceRequest` from a read: a visitor of the read protocol.
///
/// The request is kept from read to read and updated in place: a metric or data point whose
/// name or labels are those of the last read keeps its strings, so that a read of an unchanged
/// set of series allocates nothing but what the values need.
pub(crate) struct Encoder {
    request: ExportMetricsServiceRequest,
    temporality: Temporality,
    now: u64,
    /// The metric being written is `metrics[metric_at - 1]`.
    metric_at: usize,
    /// The data point being written is `point_at` of the current metric.
    point_at: usize,
    points: u64,
    /// Delta temporality: each series' previous read and its time, by name and labels.
    previous: HashMap<String, (u64, Previous)>,
    /// Series seen in this read (the others are forgotten after it).
    seen: Vec<String>,
}

impl Encoder {
    pub(crate) fn new(config: &OtlpConfig) -> Self {
        let mut attributes = config.resource.clone();
        if !attributes.iter().any(|(k, _)| k == "service.name") {
            let exe =
                std::env::current_exe().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            attributes.push(("service.name".into(), format!("unknown_service:{}", exe.unwrap_or_default())));
        }
        for (k, v) in [
            ("telemetry.sdk.name", "metrics-runtime"),
            ("telemetry.sdk.language", "rust"),
            ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ] {
            if !attributes.iter().any(|(key, _)| key == k) {
                attributes.push((k.into(), v.into()));
            }
        }
        let resource =
            Resource { attributes: attributes.iter().map(|(k, v)| key_value(k, v)).collect(), ..Resource::default() };
        Self {
            request: ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: Some(resource),
                    scope_metrics: vec![ScopeMetrics {
                        scope: Some(InstrumentationScope {
                            name: "metrics-runtime".into(),
                            version: env!("CARGO_PKG_VERSION").into(),
                            ..InstrumentationScope::default()
                        }),
                        metrics: Vec::new(),
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                }],
            },
            temporality: config.temporality,
            now: 0,
            metric_at: 0,
            point_at: 0,
            points: 0,
            previous: HashMap::new(),
            seen: Vec::new(),
        }
    }

    /// The request for a read of `source` taken at `at`, and its number of data points.
    pub(crate) fn encode(&mut self, source: &Source, at: SystemTime) -> (&ExportMetricsServiceRequest, u64) {
        self.now = at.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.points = 0;
        self.metric_at = 0;
        self.seen.clear();
        source.visit(self);
        let metric_at = self.metric_at;
        self.metrics().truncate(metric_at);
        if self.temporality == Temporality::Delta {
            let seen: std::collections::HashSet<&String> = self.seen.iter().collect();
            self.previous.retain(|k, _| seen.contains(k));
        }
        (&self.request, std::mem::take(&mut self.points))
    }

    fn metrics(&mut self) -> &mut Vec<Metric> {
        &mut self.request.resource_metrics[0].scope_metrics[0].metrics
    }

    fn temporality(&self) -> i32 {
        match self.temporality {
            Temporality::Cumulative => AggregationTemporality::Cumulative as i32,
            Temporality::Delta => AggregationTemporality::Delta as i32,
        }
    }

    /// The data of the metric being written, made (or remade) of the kind `is` accepts.
    fn data(&mut self, is: fn(&metric::Data) -> bool, make: impl FnOnce(i32) -> metric::Data) -> &mut metric::Data {
        let temporality = self.temporality();
        let at = self.metric_at - 1;
        let metric = &mut self.metrics()[at];
        if !metric.data.as_ref().is_some_and(is) {
            metric.data = None;
        }
        metric.data.get_or_insert_with(|| make(temporality))
    }

    /// The point is written: on to the next.
    fn next_point(&mut self) {
        self.point_at += 1;
        self.points += 1;
    }

    /// For delta temporality: the start time and the previous value of a series, recording
    /// `now` as its new previous. For cumulative, the series' own start and nothing.
    fn previous(&mut self, name: &str, series: &Series<'_>, current: Previous) -> (u64, Option<Previous>) {
        let created = seconds_to_nanos(series.created);
        if self.temporality == Temporality::Cumulative {
            return (created, None);
        }
        let mut key = String::with_capacity(64);
        key.push_str(name);
        series.labels.write_text(&mut key);
        let before = self.previous.insert(key.clone(), (self.now, current));
        self.seen.push(key);
        match before {
            // Seen before, and not restarted since.
            Some((at, previous)) if at >= created => (at, Some(previous)),
            _ => (created, None),
        }
    }

    fn number(
        &mut self,
        metric: &MetricDesc<'_>,
        series: &Series<'_>,
        value: number_data_point::Value,
        exemplars: Vec<OtlpExemplar>,
    ) {
        let created = seconds_to_nanos(series.created);
        let (start, value) = match value {
            number_data_point::Value::AsInt(v) => {
                let v = v as u64;
                let (start, delta) = match self.previous(metric.name, series, Previous::Int(v)) {
                    (start, Some(Previous::Int(before))) if before <= v => (start, v - before),
                    (_, Some(_)) => (created, v),
                    (start, None) => (start, v),
                };
                (start, number_data_point::Value::AsInt(delta as i64))
            }
            number_data_point::Value::AsDouble(v) => {
                let (start, delta) = match self.previous(metric.name, series, Previous::Float(v)) {
                    (start, Some(Previous::Float(before))) if before <= v => (start, v - before),
                    (_, Some(_)) => (created, v),
                    (start, None) => (start, v),
                };
                (start, number_data_point::Value::AsDouble(delta))
            }
        };
        let point = NumberDataPoint {
            start_time_unix_nano: start,
            time_unix_nano: self.now,
            exemplars,
            value: Some(value),
            ..NumberDataPoint::default()
        };
        let at = self.point_at;
        if let metric::Data::Sum(sum) = self.data(
            |d| matches!(d, metric::Data::Sum(_)),
            |t| metric::Data::Sum(Sum { data_points: Vec::new(), aggregation_temporality: t, is_monotonic: true }),
        ) {
            place(&mut sum.data_points, at, series, point);
        }
        self.next_point();
    }
}

fn seconds_to_nanos(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1e9) as u64
    } else {
        0
    }
}

fn key_value(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_owned())) }),
    }
}

/// A data point type: its attributes.
trait Point {
    fn attributes(&mut self) -> &mut Vec<KeyValue>;
}

macro_rules! point {
    ($($t:ty),*) => {
        $(impl Point for $t {
            fn attributes(&mut self) -> &mut Vec<KeyValue> {
                &mut self.attributes
            }
        })*
    };
}
point!(NumberDataPoint, HistogramDataPoint, ExponentialHistogramDataPoint, SummaryDataPoint);

/// Puts `point` (without attributes) at `at` of `points`: over the point there when it is the
/// same series, keeping its attributes (the allocations this saves), else in place of it and of
/// everything after it, with the series' attributes.
fn place<P: Point>(points: &mut Vec<P>, at: usize, series: &Series<'_>, mut point: P) {
    if let Some(old) = points.get_mut(at) {
        if same_labels(old.attributes(), series) {
            *point.attributes() = std::mem::take(old.attributes());
            *old = point;
            return;
        }
    }
    points.truncate(at);
    *point.attributes() = attributes(series);
    points.push(point);
}

/// Whether `attributes` are the series' labels, in order.
fn same_labels(attributes: &[KeyValue], series: &Series<'_>) -> bool {
    if attributes.len() != series.labels.len() {
        return false;
    }
    let (mut i, mut same) = (0, true);
    series.labels.pairs(&mut |k, v| {
        let a = &attributes[i];
        let value = matches!(&a.value, Some(AnyValue { value: Some(any_value::Value::StringValue(s)) }) if s == v);
        same &= a.key == k && value;
        i += 1;
    });
    same
}

fn attributes(series: &Series<'_>) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(series.labels.len());
    series.labels.pairs(&mut |k, v| out.push(key_value(k, v)));
    out
}

/// UCUM for the units the name rules accept; anything else as written.
fn ucum(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        "milliseconds" => "ms",
        "microseconds" => "us",
        "nanoseconds" => "ns",
        "bytes" => "By",
        "ratio" => "1",
        "percent" => "%",
        "celsius" => "Cel",
        "meters" => "m",
        "volts" => "V",
        "amperes" => "A",
        "joules" => "J",
        "grams" => "g",
        "hertz" => "Hz",
        "watts" => "W",
        other => other,
    }
}

fn hex_id(text: &str, len: usize) -> Option<Vec<u8>> {
    if text.len() != len * 2 {
        return None;
    }
    (0..len).map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn exemplar(e: &Exemplar) -> OtlpExemplar {
    let mut out = OtlpExemplar {
        time_unix_nano: seconds_to_nanos(e.timestamp),
        value: Some(exemplar::Value::AsDouble(e.value)),
        ..OtlpExemplar::default()
    };
    for (k, v) in e.labels() {
        match (k, hex_id(v, 16), hex_id(v, 8)) {
            ("trace_id", Some(id), _) => out.trace_id = id,
            ("span_id", _, Some(id)) => out.span_id = id,
            _ => out.filtered_attributes.push(key_value(k, v)),
        }
    }
    out
}

/// Dense OTLP buckets from `(native key, count)` pairs: OTLP bucket `i` covers
/// `(base^i, base^(i+1)]`, native key `k` covers `(base^(k-1), base^k]`.
fn buckets(pairs: &[(i32, u64)]) -> Option<Buckets> {
    let (first, last) = (pairs.first()?.0, pairs.last()?.0);
    let mut counts = vec![0u64; (last - first + 1) as usize];
    for &(key, count) in pairs {
        counts[(key - first) as usize] += count;
    }
    Some(Buckets { offset: first - 1, bucket_counts: counts })
}

/// `pairs` minus `before` (both sorted by key), at the same schema.
fn subtract(pairs: &[(i32, u64)], before: &[(i32, u64)]) -> Option<Vec<(i32, u64)>> {
    let mut out = Vec::with_capacity(pairs.len());
    let mut j = 0;
    for &(key, count) in pairs {
        while j < before.len() && before[j].0 < key {
            // A bucket that was there and is gone: counts went down, a reset.
            if before[j].1 > 0 {
                return None;
            }
            j += 1;
        }
        let was = if j < before.len() && before[j].0 == key {
            j += 1;
            before[j - 1].1
        } else {
            0
        };
        out.push((key, count.checked_sub(was)?));
    }
    // Buckets past the last one now that had counts: a reset too.
    before[j..].iter().all(|(_, c)| *c == 0).then_some(out)
}

/// `pairs` at a schema `by` steps coarser.
fn coarser(pairs: &[(i32, u64)], by: u32) -> Vec<(i32, u64)> {
    let mut out: Vec<(i32, u64)> = Vec::with_capacity(pairs.len());
    for &(key, count) in pairs {
        let key = metrics_rules::native_coarser_key(key, by);
        match out.last_mut() {
            Some((k, c)) if *k == key => *c += count,
            _ => out.push((key, count)),
        }
    }
    out
}

impl Visitor for Encoder {
    fn begin_metric(&mut self, metric: &MetricDesc<'_>) {
        let at = self.metric_at;
        let metrics = self.metrics();
        let same = metrics.get(at).is_some_and(|m| m.name == metric.name && m.description == metric.help);
        if !same {
            metrics.truncate(at);
            metrics.push(Metric {
                name: metric.name.to_owned(),
                description: metric.help.to_owned(),
                unit: ucum(metric.unit).to_owned(),
                ..Metric::default()
            });
        }
        self.metric_at += 1;
        self.point_at = 0;
    }

    fn end_metric(&mut self, _: &MetricDesc<'_>) {
        let (at, points) = (self.metric_at - 1, self.point_at);
        let metric = &mut self.metrics()[at];
        match &mut metric.data {
            Some(metric::Data::Sum(d)) => d.data_points.truncate(points),
            Some(metric::Data::Gauge(d)) => d.data_points.truncate(points),
            Some(metric::Data::Histogram(d)) => d.data_points.truncate(points),
            Some(metric::Data::ExponentialHistogram(d)) => d.data_points.truncate(points),
            Some(metric::Data::Summary(d)) => d.data_points.truncate(points),
            None => {}
        }
        // A metric without series (an empty run-time family) is left out.
        if points == 0 {
            self.metrics().truncate(at);
            self.metric_at = at;
        }
    }

    fn counter(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        self.number(metric, &series, number_data_point::Value::AsInt(value.min(i64::MAX as u64) as i64), Vec::new());
    }

    fn counter_f64(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.number(metric, &series, number_data_point::Value::AsDouble(value), Vec::new());
    }

    fn counter_with_exemplar(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: u64, e: Option<&Exemplar>) {
        let exemplars = e.map(exemplar).into_iter().collect();
        self.number(metric, &series, number_data_point::Value::AsInt(value.min(i64::MAX as u64) as i64), exemplars);
    }

    fn gauge(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        let point = NumberDataPoint {
            time_unix_nano: self.now,
            value: Some(number_data_point::Value::AsDouble(value)),
            ..NumberDataPoint::default()
        };
        let at = self.point_at;
        if let metric::Data::Gauge(gauge) = self
            .data(|d| matches!(d, metric::Data::Gauge(_)), |_| metric::Data::Gauge(Gauge { data_points: Vec::new() }))
        {
            place(&mut gauge.data_points, at, &series, point);
        }
        self.next_point();
    }

    fn histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        let counts = h.counts.to_vec();
        let current = Previous::Histogram { counts: counts.clone(), sum: h.sum };
        let (start, counts, sum) = match self.previous(metric.name, &series, current) {
            (start, Some(Previous::Histogram { counts: before, sum }))
                if before.len() == counts.len() && before.iter().zip(&counts).all(|(b, c)| b <= c) =>
            {
                (start, counts.iter().zip(&before).map(|(c, b)| c - b).collect(), h.sum - sum)
            }
            (_, Some(_)) => (seconds_to_nanos(series.created), counts, h.sum),
            (start, None) => (start, counts, h.sum),
        };
        let point = HistogramDataPoint {
            start_time_unix_nano: start,
            time_unix_nano: self.now,
            count: counts.iter().fold(0u64, |a, c| a.saturating_add(*c)),
            sum: (!h.negative).then_some(sum),
            bucket_counts: counts,
            explicit_bounds: h.bounds.to_vec(),
            exemplars: h.exemplars.iter().flatten().map(exemplar).collect(),
            ..HistogramDataPoint::default()
        };
        let at = self.point_at;
        if let metric::Data::Histogram(hist) = self.data(
            |d| matches!(d, metric::Data::Histogram(_)),
            |t| metric::Data::Histogram(Histogram { data_points: Vec::new(), aggregation_temporality: t }),
        ) {
            place(&mut hist.data_points, at, &series, point);
        }
        self.next_point();
    }

    fn native_histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, h: &NativeRead) {
        let current = Previous::Native {
            schema: h.schema,
            zero: h.zero_count,
            positive: h.positive.clone(),
            negative: h.negative.clone(),
            sum: h.sum,
            count: h.count,
        };
        let (mut positive, mut negative, mut zero, mut sum, mut count) =
            (h.positive.clone(), h.negative.clone(), h.zero_count, h.sum, h.count);
        let start = match self.previous(metric.name, &series, current) {
            (at, Some(Previous::Native { schema, zero: z, positive: p, negative: n, sum: s, count: c })) => {
                // The previous read at the current schema (a series only ever gets coarser).
                let by = u32::try_from(i32::from(schema) - i32::from(h.schema)).ok();
                let delta = by.and_then(|by| {
                    let positive = subtract(&h.positive, &coarser(&p, by))?;
                    let negative = subtract(&h.negative, &coarser(&n, by))?;
                    Some((positive, negative, h.zero_count.checked_sub(z)?, h.count.checked_sub(c)?))
                });
                match delta {
                    Some((p, n, z, c)) => {
                        (positive, negative, zero, sum, count) = (p, n, z, h.sum - s, c);
                        at
                    }
                    None => seconds_to_nanos(series.created),
                }
            }
            (at, _) => at,
        };
        positive.retain(|(_, c)| *c > 0);
        negative.retain(|(_, c)| *c > 0);
        let point = ExponentialHistogramDataPoint {
            start_time_unix_nano: start,
            time_unix_nano: self.now,
            count,
            sum: (!h.has_negative).then_some(sum),
            scale: i32::from(h.schema),
            zero_count: zero,
            zero_threshold: h.zero_threshold,
            positive: buckets(&positive),
            negative: buckets(&negative),
            exemplars: h.exemplars.iter().map(exemplar).collect(),
            ..ExponentialHistogramDataPoint::default()
        };
        let at = self.point_at;
        if let metric::Data::ExponentialHistogram(hist) = self.data(
            |d| matches!(d, metric::Data::ExponentialHistogram(_)),
            |t| {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: Vec::new(),
                    aggregation_temporality: t,
                })
            },
        ) {
            place(&mut hist.data_points, at, &series, point);
        }
        self.next_point();
    }

    fn summary(&mut self, _: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        let point = SummaryDataPoint {
            start_time_unix_nano: seconds_to_nanos(series.created),
            time_unix_nano: self.now,
            count: s.count,
            sum: s.sum,
            quantile_values: s
                .quantiles
                .iter()
                .zip(s.values)
                .filter(|(_, v)| !v.is_nan())
                .map(|(q, v)| summary_data_point::ValueAtQuantile { quantile: *q, value: *v })
                .collect(),
            ..SummaryDataPoint::default()
        };
        let at = self.point_at;
        if let metric::Data::Summary(summary) = self.data(
            |d| matches!(d, metric::Data::Summary(_)),
            |_| metric::Data::Summary(Summary { data_points: Vec::new() }),
        ) {
            place(&mut summary.data_points, at, &series, point);
        }
        self.next_point();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_keys_map_to_otlp_buckets() {
        // Native keys 1 and 3 at any schema: OTLP offset 0, counts [a, 0, b].
        let b = buckets(&[(1, 2), (3, 5)]).unwrap();
        assert_eq!((b.offset, b.bucket_counts), (0, vec![2, 0, 5]));
        assert!(buckets(&[]).is_none());
    }

    #[test]
    fn deltas_of_buckets_detect_resets() {
        assert_eq!(subtract(&[(1, 5), (2, 3)], &[(1, 2)]), Some(vec![(1, 3), (2, 3)]));
        assert_eq!(subtract(&[(2, 3)], &[(1, 2)]), None); // bucket 1 went from 2 to 0
        assert_eq!(subtract(&[(1, 1)], &[(1, 2)]), None);
        assert_eq!(subtract(&[(1, 1)], &[(1, 1), (4, 1)]), None);
        assert_eq!(coarser(&[(1, 1), (2, 1), (3, 1)], 1), vec![(1, 2), (2, 1)]);
    }

    #[test]
    fn env_lists_and_errors() {
        assert_eq!(pairs("a=1, b = x%2Cy ,"), Some(vec![("a".into(), "1".into()), ("b".into(), "x,y".into())]));
        assert_eq!(pairs("novalue"), None);
        let grpc = OtlpConfig::new("http://x:4318/v1/metrics")
            .unwrap()
            .with_lookup(|k| (k == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grpc".to_owned()));
        assert!(matches!(grpc, Err(PushError::InvalidSetting(m)) if m.contains("grpc")));
        let none = OtlpConfig::from_lookup(|_| None).unwrap();
        assert!(none.is_none());
        let full = OtlpConfig::from_lookup(|k| match k {
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" => Some("http://a:1/custom".into()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://b:2".into()),
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE" => Some("Delta".into()),
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=s3cret".into()),
            "OTEL_EXPORTER_OTLP_COMPRESSION" => Some("gzip".into()),
            _ => None,
        })
        .unwrap()
        .unwrap();
        assert_eq!(full.url, "http://a:1/custom");
        assert_eq!((full.temporality, full.compression), (Temporality::Delta, Compression::Gzip));
        assert_eq!(full.headers, [("api-key".to_owned(), "s3cret".to_owned())]);
        // Credentials never reach Debug output.
        let shown = format!("{full:?}");
        assert!(shown.contains("api-key") && !shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn trace_ids_are_hex() {
        let e = Exemplar::new(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), ("user", "7")], 0.5, 1.0).unwrap();
        let o = exemplar(&e);
        assert_eq!(o.trace_id.len(), 16);
        assert_eq!(o.trace_id[0], 0x4b);
        assert_eq!(o.filtered_attributes.len(), 1);
        let short = Exemplar::new(&[("trace_id", "abc")], 0.5, 1.0).unwrap();
        assert!(exemplar(&short).trace_id.is_empty());
    }

    #[test]
    fn a_kept_encoder_writes_what_a_fresh_one_writes() {
        let config = OtlpConfig::new("http://127.0.0.1:4318/v1/metrics").unwrap();
        let mut kept = Encoder::new(&config);
        crate::push::source::reuse_rounds(|source, at| {
            let mut fresh = Encoder::new(&config);
            let (want, want_points) = fresh.encode(source, at);
            let (got, got_points) = kept.encode(source, at);
            assert_eq!(got, want);
            assert_eq!(got_points, want_points);
        });
    }
}
