//! The HTTP client of the push exporters: hyper 1.x over tokio, one pooled connection.

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The `User-Agent` of every push request.
const USER_AGENT: &str = concat!("metrics-runtime/", env!("CARGO_PKG_VERSION"));

/// The most of a response body read (an error message, an OTLP partial-success report): a
/// receiver cannot make the exporter buffer more.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Why an exporter could not be configured.
///
/// # Examples
///
/// ```
/// use metrics_runtime::push::PushError;
/// use metrics_runtime::push::remote_write::RemoteWriteConfig;
///
/// let err = RemoteWriteConfig::new("ftp://mimir.example/api/v1/push").unwrap_err();
/// assert!(matches!(err, PushError::UnsupportedScheme(_)));
/// assert!(err.to_string().contains("http://"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The URL does not parse, or has no host.
    InvalidUrl(String),
    /// Not an `http://` URL (nor `https://`, with feature `tls`).
    UnsupportedScheme(String),
    /// A header name or value that HTTP does not allow.
    InvalidHeader(String),
    /// A setting out of its range, or an environment variable that does not parse.
    InvalidSetting(String),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::InvalidUrl(url) => write!(f, "invalid push URL `{url}`: expected http://host[:port]/path"),
            PushError::UnsupportedScheme(url) if cfg!(feature = "tls") => {
                write!(f, "unsupported push URL `{url}`: expected http:// or https://")
            }
            PushError::UnsupportedScheme(url) => {
                write!(f, "unsupported push URL `{url}`: only http:// is supported without feature `tls`")
            }
            PushError::InvalidHeader(h) => write!(f, "invalid HTTP header `{h}`"),
            PushError::InvalidSetting(s) => write!(f, "invalid push setting: {s}"),
        }
    }
}

impl std::error::Error for PushError {}

/// Parses an `http://` URL, or an `https://` one with feature `tls`.
pub(crate) fn parse_url(url: &str) -> Result<Uri, PushError> {
    let uri: Uri = url.parse().map_err(|_| PushError::InvalidUrl(url.to_owned()))?;
    match uri.scheme_str() {
        Some("http") => {}
        #[cfg(feature = "tls")]
        Some("https") => {}
        Some(_) => return Err(PushError::UnsupportedScheme(url.to_owned())),
        None => return Err(PushError::InvalidUrl(url.to_owned())),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(PushError::InvalidUrl(url.to_owned()));
    }
    Ok(uri)
}

/// Extra headers in `Debug` output: their names, never their values (credentials).
pub(crate) struct Redacted<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(k, _)| (k, ".."))).finish()
    }
}

/// Parses extra headers given as `name: value` pairs.
pub(crate) fn parse_headers(headers: &[(String, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, PushError> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = HeaderName::from_bytes(k.trim().as_bytes()).map_err(|_| PushError::InvalidHeader(k.clone()))?;
            let value = HeaderValue::from_str(v.trim()).map_err(|_| PushError::InvalidHeader(format!("{k}: {v}")))?;
            Ok((name, value))
        })
        .collect()
}

/// One request to make.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

/// What came back.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A status, the `Retry-After` delay if any, and the body (at most 64 KiB of it).
    Status { status: StatusCode, retry_after: Option<Duration>, body: Bytes },
    /// No answer within the timeout, or a connection error.
    Failed(String),
}

/// The connector: plain TCP, or TLS for `https://` URLs too (feature `tls`).
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;
#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A pooled HTTP/1.1 client.
#[derive(Clone)]
pub(crate) struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    pub(crate) fn new(timeout: Duration, #[cfg(feature = "tls")] tls: &crate::tls::ClientTls) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        #[cfg(feature = "tls")]
        let connector = {
            connector.enforce_http(false);
            let builder = hyper_rustls::HttpsConnectorBuilder::new();
            let builder = match &tls.config {
                Some(config) => builder.with_tls_config((**config).clone()),
                None => builder.with_webpki_roots(),
            };
            builder.https_or_http().enable_http1().wrap_connector(connector)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(1)
            .build(connector);
        Self { client, timeout }
    }

    /// Makes the call, giving up after the timeout (connection, request and response body).
    pub(crate) async fn call(&self, call: &Call) -> Answer {
        let mut request = Request::builder().method(call.method.clone()).uri(call.uri.clone());
        // Every exporter's `User-Agent`, unless the configured headers give one.
        if !call.headers.iter().any(|(name, _)| name == header::USER_AGENT) {
            request = request.header(header::USER_AGENT, USER_AGENT);
        }
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        let request = match request.body(Full::new(call.body.clone())) {
            Ok(r) => r,
            Err(e) => return Answer::Failed(e.to_string()),
        };
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| error_chain(&e))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Ok::<_, String>(Answer::Status { status, retry_after, body })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Answer::Failed(e),
            Err(_) => Answer::Failed(format!("no answer within {:?}", self.timeout)),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After`: a number of seconds, or an HTTP date (the delay until then; none if past).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_url("http://127.0.0.1:9090/api/v1/write").is_ok());
        // https with feature `tls` only.
        assert_eq!(parse_url("https://x/").is_ok(), cfg!(feature = "tls"));
        assert!(matches!(parse_url("ftp://x/"), Err(PushError::UnsupportedScheme(_))));
        assert!(matches!(parse_url("127.0.0.1:9090"), Err(PushError::InvalidUrl(_))));
        assert!(matches!(parse_url("not a url"), Err(PushError::InvalidUrl(_))));
    }
}
