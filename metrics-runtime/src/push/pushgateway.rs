//! Pushgateway (feature `pushgateway`): the Prometheus text exposition of the source, PUT (or
//! POSTed) under a job and grouping labels, for batch jobs that end before a scrape.
//!
//! The grouping key is the URL path `/metrics/job/<job>/<label>/<value>...`; a value with a
//! character outside `[A-Za-z0-9._~-]` (a `/`, a space, an empty value) is sent in the
//! Pushgateway's `<label>@base64/<base64url>` form. `PUT` replaces every metric of the group;
//! `POST` only those with the names pushed. With [`PushgatewayConfig::delete_on_shutdown`], the
//! exporter's shutdown DELETEs the group after its last push, so that a finished job's metrics
//! do not linger.
//!
//! The Pushgateway keeps only the last push of a group, so a batch that waited in the queue
//! behind a newer one is worth nothing: the pipeline's queue holds one batch (the newest).
//!
//! # Examples
//!
//! ```no_run
//! use metrics_runtime::push::pushgateway::{self, PushgatewayConfig};
//! use metrics_runtime::{Counter, Metrics};
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "backup")]
//! struct Backup {
//!     /// Files copied.
//!     files_total: Counter,
//! }
//! static BACKUP: Backup = Backup::new();
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = PushgatewayConfig::new("http://127.0.0.1:9091", "nightly_backup")?;
//! config.grouping.push(("instance".into(), "db-1".into()));
//! let exporter = pushgateway::start(&BACKUP, config)?;
//! BACKUP.files_total.add(1234);
//! exporter.shutdown().await; // the last push
//! # Ok(()) }
//! ```

use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Uri};

use super::client::{parse_headers, parse_url, Call};
use super::pipeline::{Batch, Protocol, PushConfig, PushExporter};
use super::source::Source;
use super::stats::ExporterKind;
use super::PushError;
use crate::expose::PrometheusWriter;
use crate::Format;

/// The settings of a Pushgateway exporter.
///
/// # Examples
///
/// ```
/// use metrics_runtime::push::pushgateway::PushgatewayConfig;
///
/// let mut config = PushgatewayConfig::new("http://127.0.0.1:9091", "import").unwrap();
/// config.grouping.push(("path".into(), "/var/data".into()));
/// assert_eq!(config.group_url().unwrap(), "http://127.0.0.1:9091/metrics/job/import/path@base64/L3Zhci9kYXRh");
/// assert!(PushgatewayConfig::new("http://127.0.0.1:9091", "").is_err());
/// ```
#[derive(Clone)]
pub struct PushgatewayConfig {
    /// The Pushgateway's base URL (`http://host:9091`).
    pub url: String,
    /// The `job` of the grouping key.
    pub job: String,
    /// The other grouping labels (`instance`...), in order.
    pub grouping: Vec<(String, String)>,
    /// `PUT` (replace the group, the default) or `POST` (replace the metrics of the names
    /// pushed).
    pub method: PushMethod,
    /// DELETE the group at shutdown, after the last push.
    pub delete_on_shutdown: bool,
    /// Extra request headers (`Authorization`).
    pub headers: Vec<(String, String)>,
    /// The pipeline's settings (its queue is held at one batch).
    pub push: PushConfig,
}

/// How a push replaces what the Pushgateway holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMethod {
    /// `PUT`: the pushed metrics replace the whole group.
    Put,
    /// `POST`: they replace only the metrics of the same names.
    Post,
}

impl std::fmt::Debug for PushgatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushgatewayConfig")
            .field("url", &self.url)
            .field("job", &self.job)
            .field("grouping", &self.grouping)
            .field("method", &self.method)
            .field("delete_on_shutdown", &self.delete_on_shutdown)
            .field("headers", &super::client::Redacted(&self.headers))
            .field("push", &self.push)
            .finish()
    }
}

impl PushgatewayConfig {
    /// Settings for the Pushgateway at `url`, job `job`.
    ///
    /// # Errors
    ///
    /// A URL that is not `http://`, or an empty job.
    pub fn new(url: &str, job: &str) -> Result<Self, PushError> {
        parse_url(url)?;
        if job.is_empty() {
            return Err(PushError::InvalidSetting("the Pushgateway job must not be empty".into()));
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            job: job.to_owned(),
            grouping: Vec::new(),
            method: PushMethod::Put,
            delete_on_shutdown: false,
            headers: Vec::new(),
            push: PushConfig::default(),
        })
    }

    /// The group's URL: `url/metrics/job/<job>/<label>/<value>...`.
    ///
    /// # Errors
    ///
    /// A grouping label whose name is not a valid label name.
    pub fn group_url(&self) -> Result<String, PushError> {
        let mut url = format!("{}/metrics", self.url.trim_end_matches('/'));
        let job = [("job".to_owned(), self.job.clone())];
        for (name, value) in job.iter().chain(&self.grouping) {
            metrics_rules::check_label_name(name)
                .map_err(|e| PushError::InvalidSetting(format!("grouping label `{name}`: {e}")))?;
            let plain = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b));
            if plain {
                url.push_str(&format!("/{name}/{value}"));
            } else {
                let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value);
                // An empty value is spelled `=` (one padding character), as the Pushgateway asks.
                let encoded = if encoded.is_empty() { "=".to_owned() } else { encoded };
                url.push_str(&format!("/{name}@base64/{encoded}"));
            }
        }
        Ok(url)
    }
}

/// Starts pushing `source` to the Pushgateway, on the push thread (see [`push`](crate::push)):
/// any thread may call it. The first push is one to two intervals from now, on the schedule every
/// exporter of the process shares (or [`PushExporter::flush`]).
///
/// # Errors
///
/// A URL, header or grouping label the configuration cannot use.
pub fn start(source: impl Into<Source>, mut config: PushgatewayConfig) -> Result<PushExporter, PushError> {
    let uri = parse_url(&config.group_url()?)?;
    let headers = parse_headers(&config.headers)?;
    config.push.max_queued_batches = 1;
    let protocol = Pushgateway {
        uri,
        headers,
        method: match config.method {
            PushMethod::Put => Method::PUT,
            PushMethod::Post => Method::POST,
        },
        delete: config.delete_on_shutdown,
        text: String::new(),
    };
    Ok(PushExporter::start(protocol, source.into(), config.push))
}

struct Pushgateway {
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    method: Method,
    delete: bool,
    text: String,
}

impl Protocol for Pushgateway {
    const KIND: ExporterKind = ExporterKind::Pushgateway;

    fn encode(&mut self, source: &Source, _at: SystemTime) -> Option<Batch> {
        self.text.clear();
        source.visit(&mut PrometheusWriter::new(&mut self.text));
        let points = self.text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count() as u64;
        Some(Batch { body: Bytes::copy_from_slice(self.text.as_bytes()), points })
    }

    fn call(&self, body: Bytes) -> Call {
        let mut headers = self.headers.clone();
        headers.push((CONTENT_TYPE, HeaderValue::from_static(Format::Prometheus.content_type())));
        Call { method: self.method.clone(), uri: self.uri.clone(), headers, body }
    }

    fn farewell(&self) -> Option<Call> {
        self.delete.then(|| Call {
            method: Method::DELETE,
            uri: self.uri.clone(),
            headers: self.headers.clone(),
            body: Bytes::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_values_are_base64_when_not_plain() {
        let mut config = PushgatewayConfig::new("http://127.0.0.1:9091/", "batch").unwrap();
        config.grouping = vec![("instance".into(), "host-1.example".into()), ("empty".into(), String::new())];
        assert_eq!(
            config.group_url().unwrap(),
            "http://127.0.0.1:9091/metrics/job/batch/instance/host-1.example/empty@base64/="
        );
        config.grouping = vec![("bad-name".into(), "x".into())];
        assert!(matches!(config.group_url(), Err(PushError::InvalidSetting(_))));
    }
}
