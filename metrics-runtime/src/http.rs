//! An HTTP `/metrics` endpoint on tokio and hyper 1.x (feature `http`).
//!
//! [`serve`] runs a bounded, hardened server for a [`Registry`]; [`respond`] is the plain
//! handler for applications that already run axum or hyper and want to mount the endpoint
//! themselves.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use metrics_runtime::http::{serve, ServerConfig};
//! use metrics_runtime::{Counter, Metrics, Registry};
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "app")]
//! struct App {
//!     /// Jobs done.
//!     jobs_total: Counter,
//! }
//! static APP: App = App::new();
//!
//! # fn get(addr: std::net::SocketAddr, path: &str) -> String {
//! #     use std::io::{Read, Write};
//! #     let mut stream = std::net::TcpStream::connect(addr).unwrap();
//! #     stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
//! #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
//! #     let mut response = String::new();
//! #     stream.read_to_string(&mut response).unwrap();
//! #     response
//! # }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut registry = Registry::new();
//! registry.register(&APP).unwrap();
//! let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
//! let server = serve(Arc::new(registry), config).await.unwrap();
//!
//! APP.jobs_total.add(2);
//! let addr = server.local_addr();
//! // `get` is a plain HTTP/1.1 client (hidden), run off the runtime's thread.
//! let response = tokio::task::spawn_blocking(move || get(addr, "/metrics")).await.unwrap();
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"));
//! assert!(response.ends_with("app_jobs_total 2\n"));
//! server.shutdown().await;
//! # });
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_io_timeout::TimeoutStream;

use crate::expose::{negotiate, Format};
use crate::registry::Registry;

/// Settings of the `/metrics` server. The defaults bind `127.0.0.1:9898`.
///
/// The limits answer hostile or broken clients: [`max_connections`](Self::max_connections)
/// with eviction of idle connections and an immediate `503` when every connection is busy,
/// deadlines for reading request heads, for idle connections and for writes that make no
/// progress, a cap on requests and on the age of one connection, and a rendering budget that
/// greedy scrapers share instead of multiplying.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use metrics_runtime::http::{serve, ServerConfig};
/// use metrics_runtime::Registry;
///
/// # fn get(addr: std::net::SocketAddr, path: &str) -> String {
/// #     use std::io::{Read, Write};
/// #     let mut stream = std::net::TcpStream::connect(addr).unwrap();
/// #     stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
/// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
/// #     let mut response = String::new();
/// #     stream.read_to_string(&mut response).unwrap();
/// #     response
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let config = ServerConfig {
///     addr: ([127, 0, 0, 1], 0).into(), // port 0: any free port
///     path: "/internal/metrics".to_owned(),
///     max_connections: 8,
///     header_read_timeout: Duration::from_secs(2),
///     ..ServerConfig::default()
/// };
/// let server = serve(Arc::new(Registry::new()), config).await.unwrap();
/// let addr = server.local_addr();
/// let (moved, served) = tokio::task::spawn_blocking(move || (get(addr, "/metrics"), get(addr, "/internal/metrics")))
///     .await
///     .unwrap();
/// assert!(moved.starts_with("HTTP/1.1 404 Not Found\r\n"));
/// assert!(served.starts_with("HTTP/1.1 200 OK\r\n"));
/// server.shutdown().await;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen. Default `127.0.0.1:9898`; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The path that serves metrics. Default `/metrics`.
    pub path: String,
    /// Connections held at once. Default 256. Every client is accepted at once (none waits in
    /// the listen backlog): at the limit, a new connection takes the place of the one idle the
    /// longest (no request being answered), and when every connection is busy the new client
    /// gets `503 Service Unavailable` with `Retry-After: 1` and is closed.
    pub max_connections: usize,
    /// Time a client has to send a request head before the connection is closed. Default 5 s.
    pub header_read_timeout: Duration,
    /// A connection that receives nothing for this long is closed (a keep-alive connection
    /// between scrapes, or a client that connected and sent nothing). Default 30 s.
    pub idle_timeout: Duration,
    /// A connection whose response write makes no progress for this long (a client that does
    /// not read) is closed. Default 10 s.
    pub write_timeout: Duration,
    /// Requests answered on one connection; the last one carries `Connection: close`.
    /// Default 1000.
    pub max_requests_per_connection: u64,
    /// Age after which a connection's next response carries `Connection: close`; one still
    /// open `write_timeout` after that age is dropped. Default 10 minutes.
    pub max_connection_age: Duration,
    /// Least time between the starts of two renders. Requests that arrive meanwhile wait for
    /// the next render and share it. Default 50 ms.
    pub min_render_interval: Duration,
    /// The share of one core that rendering may take, in `(0, 1]`: after a render (and its
    /// compression) that took `t`, the next starts no sooner than `t / render_cpu_share` after
    /// it started. Default 0.1.
    pub render_cpu_share: f64,
    /// Least time between two runs of [`Registry::maintain`] (a `BoundedRegistry` evicts its
    /// idle series then), which the server runs after a render, never during one. Default
    /// 60 s.
    pub maintenance_interval: Duration,
    /// Largest request head accepted (bigger ones get `431`). Default 8 KiB, hyper's minimum.
    pub max_header_bytes: usize,
    /// How long graceful shutdown waits for in-flight requests. Default 5 s.
    pub shutdown_timeout: Duration,
    /// Who may scrape: `None` (the default) serves anyone who can connect; with [`Auth`],
    /// a request for the metrics path without the right `Authorization` header gets `401`
    /// with `WWW-Authenticate`, and nothing is rendered for it.
    pub auth: Option<Auth>,
    /// Serve over TLS (feature `tls`): `None` (the default) serves plain HTTP. The handshake
    /// must complete within `header_read_timeout`; a client that fails it is closed and counted
    /// ([`ServerStats::tls_failed`]).
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsConfig>,
}

/// The credentials a scraper must send (`ServerConfig::auth`), compared in constant time
/// (`subtle`): what Prometheus' `authorization` (bearer) and `basic_auth` scrape settings send.
/// Over plain HTTP they travel in clear text: beyond a trusted network, serve TLS
/// (`ServerConfig::tls`, feature `tls`) or put TLS in front.
///
/// # Examples
///
/// ```
/// use metrics_runtime::http::{Auth, ServerConfig};
///
/// let config = ServerConfig { auth: Some(Auth::Bearer("s3cret".into())), ..ServerConfig::default() };
/// assert_eq!(format!("{:?}", config.auth), "Some(Bearer(\"..\"))"); // never printed
/// let basic = Auth::Basic { username: "prometheus".into(), password: "pw".into() };
/// assert_eq!(format!("{basic:?}"), "Basic { username: \"prometheus\", password: \"..\" }");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(<username>:<password>)`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&"..").finish(),
            Auth::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).field("password", &"..").finish()
            }
        }
    }
}

/// What an `Authorization` header must say: its scheme and credentials.
#[derive(Clone)]
struct Expected {
    scheme: &'static str,
    credentials: Vec<u8>,
    challenge: HeaderValue,
}

impl std::fmt::Debug for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expected").field("scheme", &self.scheme).finish_non_exhaustive()
    }
}

impl Expected {
    fn new(auth: &Auth) -> Self {
        use base64::Engine as _;
        match auth {
            Auth::Bearer(token) => Self {
                scheme: "bearer",
                credentials: token.as_bytes().to_vec(),
                challenge: HeaderValue::from_static("Bearer realm=\"metrics\""),
            },
            Auth::Basic { username, password } => Self {
                scheme: "basic",
                credentials: base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"))
                    .into_bytes(),
                challenge: HeaderValue::from_static("Basic realm=\"metrics\", charset=\"UTF-8\""),
            },
        }
    }

    /// Whether the request carries the credentials: the scheme case-insensitively, the
    /// credentials compared in constant time.
    fn allows(&self, headers: &HeaderMap) -> bool {
        use subtle::ConstantTimeEq as _;
        let Some(value) = headers.get(header::AUTHORIZATION) else { return false };
        let value = value.as_bytes();
        let Some(space) = value.iter().position(|b| *b == b' ') else { return false };
        let (scheme, rest) = value.split_at(space);
        let given = rest.trim_ascii();
        scheme.eq_ignore_ascii_case(self.scheme.as_bytes()) && bool::from(given.ct_eq(&self.credentials))
    }

    fn refuse(&self) -> Response<Full<Bytes>> {
        let mut response = plain(StatusCode::UNAUTHORIZED, "unauthorized; send the configured credentials\n");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, self.challenge.clone());
        response
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9898)),
            path: "/metrics".to_owned(),
            max_connections: 256,
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
            max_requests_per_connection: 1000,
            max_connection_age: Duration::from_secs(600),
            min_render_interval: Duration::from_millis(50),
            render_cpu_share: 0.1,
            maintenance_interval: Duration::from_secs(60),
            max_header_bytes: 8 * 1024,
            shutdown_timeout: Duration::from_secs(5),
            auth: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// The q-value of one `Accept-Encoding` element's parameters (`;q=0.5`), 1 when absent,
/// `None` when malformed (the element is then ignored).
fn q_value<'a>(mut params: impl Iterator<Item = &'a str>) -> Option<f64> {
    match params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("q").then(|| v.trim())
    }) {
        None => Some(1.0),
        Some(v) => v.parse::<f64>().ok().filter(|q| (0.0..=1.0).contains(q)),
    }
}

/// Whether the client accepts gzip, per RFC 9110 §12.5.3 over every `Accept-Encoding` field:
/// an explicit `gzip` (or `x-gzip`) element decides by its q-value, else `*` does; q=0 means
/// "not acceptable".
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let (mut gzip, mut star) = (None::<f64>, None::<f64>);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for element in value.split(',') {
            let mut parts = element.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let Some(q) = q_value(parts) else { continue };
            let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                &mut gzip
            } else if coding == "*" {
                &mut star
            } else {
                continue;
            };
            *slot = Some(slot.map_or(q, |old: f64| old.max(q)));
        }
    }
    gzip.or(star).is_some_and(|q| q > 0.0)
}

/// Every `Accept` field of the request, joined as one list.
fn accept(headers: &HeaderMap) -> Option<String> {
    let mut values = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).peekable();
    values.peek()?;
    Some(values.collect::<Vec<_>>().join(", "))
}

/// What a request for the metrics path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    format: Format,
    gzip: bool,
}

/// The variant a request asks for and whether it is a HEAD, or the response that refuses it.
#[allow(clippy::result_large_err)]
fn route<B>(path: &str, request: &Request<B>) -> Result<(Variant, bool), Response<Full<Bytes>>> {
    if request.uri().path() != path {
        return Err(plain(StatusCode::NOT_FOUND, "not found; metrics are served at the metrics path\n"));
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed; use GET\n");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Err(response);
    }
    let headers = request.headers();
    let format = negotiate(accept(headers).as_deref());
    Ok((Variant { format, gzip: accepts_gzip(headers) }, request.method() == Method::HEAD))
}

fn metrics_response(variant: Variant, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(variant.format.content_type()));
    h.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if variant.gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

fn gzip(text: &[u8]) -> std::io::Result<Bytes> {
    crate::expose::gzip(text).map(Bytes::from)
}

/// Answers one request for `path`: the exposition of `registry` in the negotiated format
/// (OpenMetrics when the `Accept` header prefers it, Prometheus text otherwise), gzip when
/// accepted; `404` for other paths, `405` (with `Allow`) for methods other than GET and HEAD.
///
/// Mount it in an axum or hyper application, or let [`serve`] run it. It renders on the
/// calling thread, once per call: [`serve`] instead renders on a thread of its own within a
/// CPU budget, shared by every request that arrives during one render.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{http::respond, Counter, Metrics, Registry};
///
/// #[derive(Metrics)]
/// struct App {
///     /// Jobs done.
///     jobs_total: Counter,
/// }
/// static APP: App = App::new();
///
/// let mut registry = Registry::new();
/// registry.register(&APP).unwrap();
/// let request = hyper::Request::get("/metrics").body(()).unwrap();
/// let response = respond(&registry, "/metrics", &request);
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
/// ```
pub fn respond<B>(registry: &Registry, path: &str, request: &Request<B>) -> Response<Full<Bytes>> {
    let (variant, head) = match route(path, request) {
        Ok(v) => v,
        Err(response) => return response,
    };
    if head {
        return metrics_response(variant, Bytes::new());
    }
    let mut text = Vec::new();
    registry.write_body(variant.format, &mut text);
    let body = if variant.gzip {
        match gzip(&text) {
            Ok(bytes) => bytes,
            Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "compression failed\n"),
        }
    } else {
        Bytes::from(text)
    };
    metrics_response(variant, body)
}

/// A request waiting for a render.
struct Job {
    variant: Variant,
    reply: oneshot::Sender<Option<Bytes>>,
}

/// Renders on a thread of its own, one render per round for every request that arrived before
/// the round started, rounds spaced to keep within the CPU budget.
fn render_loop(registry: Arc<Registry>, jobs: mpsc::Receiver<Job>, config: RenderBudget, stats: Arc<Stats>) {
    let mut not_before: Option<Instant> = None;
    let mut last_maintenance: Option<Instant> = None;
    let mut round: Vec<Job> = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    // Blocks without a timer while nobody asks: an idle server never wakes this thread.
    while let Ok(first) = jobs.recv() {
        if let Some(t) = not_before {
            let now = Instant::now();
            if t > now {
                std::thread::sleep(t - now);
            }
        }
        round.push(first);
        round.extend(jobs.try_iter());
        let started = Instant::now();
        stats.renders.fetch_add(1, Relaxed);
        let mut plain_bodies: Vec<(Format, Option<Bytes>)> = Vec::new();
        let mut bodies: Vec<(Variant, Option<Bytes>)> = Vec::new();
        for job in round.drain(..) {
            let body = if let Some((_, b)) = bodies.iter().find(|(v, _)| *v == job.variant) {
                b.clone()
            } else {
                let plain = if let Some((_, b)) = plain_bodies.iter().find(|(f, _)| *f == job.variant.format) {
                    b.clone()
                } else {
                    text.clear();
                    // A `Metrics` implementation that panics fails this render, not the server.
                    let rendered = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        registry.write_body(job.variant.format, &mut text);
                    }));
                    let b = rendered.ok().map(|()| Bytes::copy_from_slice(&text));
                    plain_bodies.push((job.variant.format, b.clone()));
                    b
                };
                let b = if job.variant.gzip { plain.and_then(|p| gzip(&p).ok()) } else { plain };
                bodies.push((job.variant, b.clone()));
                b
            };
            // The requester may have gone (connection closed): nothing to do.
            let _ = job.reply.send(body);
        }
        // Maintenance that reads must not do (eviction of idle run-time series), after the
        // round's reads, within the round's budget, at most once per `maintenance_interval`.
        if last_maintenance.is_none_or(|t: Instant| t.elapsed() >= config.maintenance_interval) {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| registry.maintain()));
            last_maintenance = Some(Instant::now());
        }
        let gap = started.elapsed().div_f64(config.cpu_share);
        not_before = Some(started + gap.max(config.min_interval));
        // Keep a big buffer only while renders need it.
        if text.capacity() > 4 * text.len().max(1 << 16) {
            text = Vec::new();
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct RenderBudget {
    min_interval: Duration,
    cpu_share: f64,
    maintenance_interval: Duration,
}

/// Counters of a running server.
#[derive(Debug, Default)]
struct Stats {
    open: AtomicUsize,
    busy: AtomicUsize,
    accepted: AtomicU64,
    evicted: AtomicU64,
    refused: AtomicU64,
    renders: AtomicU64,
    unauthorized: AtomicU64,
    tls_failed: AtomicU64,
}

/// What a running server has done so far; see [`ServerHandle::stats`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use metrics_runtime::http::{serve, ServerConfig, ServerStats};
/// use metrics_runtime::Registry;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
/// let server = serve(Arc::new(Registry::new()), config).await.unwrap();
/// let stats: ServerStats = server.stats();
/// assert_eq!((stats.open_connections, stats.waiting_requests, stats.accepted, stats.renders), (0, 0, 0, 0));
/// server.shutdown().await;
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections open now.
    pub open_connections: usize,
    /// Requests waiting for a render now.
    pub waiting_requests: usize,
    /// Connections accepted and served (refused ones excluded).
    pub accepted: u64,
    /// Idle connections closed to make room for a new one at `max_connections`.
    pub evicted: u64,
    /// Connections answered `503` because every connection was busy.
    pub refused: u64,
    /// Renders of the exposition (each shared by the requests that waited for it).
    pub renders: u64,
    /// Requests for the metrics path refused with `401` (wrong or missing credentials).
    pub unauthorized: u64,
    /// Connections closed because their TLS handshake failed or did not complete in time
    /// (always 0 without TLS).
    pub tls_failed: u64,
}

/// A running server started by [`serve`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use metrics_runtime::http::{serve, ServerConfig, ServerHandle};
/// use metrics_runtime::Registry;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
/// let server: ServerHandle = serve(Arc::new(Registry::new()), config).await.unwrap();
/// assert!(server.local_addr().ip().is_loopback());
/// server.shutdown().await;
/// # });
/// ```
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<Stats>,
}

impl ServerHandle {
    /// The address the server listens on (useful with port 0).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use metrics_runtime::http::{serve, ServerConfig};
    /// use metrics_runtime::Registry;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
    /// let server = serve(Arc::new(Registry::new()), config).await.unwrap();
    /// assert_ne!(server.local_addr().port(), 0); // the port the system picked
    /// server.shutdown().await;
    /// # });
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the server has done so far: open connections, evictions, refusals, renders.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::sync::Arc;
    /// use metrics_runtime::http::{serve, ServerConfig};
    /// use metrics_runtime::Registry;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
    /// let server = serve(Arc::new(Registry::new()), config).await.unwrap();
    /// let addr = server.local_addr();
    /// tokio::task::spawn_blocking(move || {
    ///     let mut s = std::net::TcpStream::connect(addr).unwrap();
    ///     s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    ///     s.read_to_end(&mut Vec::new()).unwrap();
    /// })
    /// .await
    /// .unwrap();
    /// let stats = server.stats();
    /// assert_eq!((stats.accepted, stats.renders, stats.refused), (1, 1, 0));
    /// server.shutdown().await;
    /// # });
    /// ```
    pub fn stats(&self) -> ServerStats {
        let s = &self.stats;
        ServerStats {
            open_connections: s.open.load(Relaxed),
            waiting_requests: s.busy.load(Relaxed),
            accepted: s.accepted.load(Relaxed),
            evicted: s.evicted.load(Relaxed),
            refused: s.refused.load(Relaxed),
            renders: s.renders.load(Relaxed),
            unauthorized: s.unauthorized.load(Relaxed),
            tls_failed: s.tls_failed.load(Relaxed),
        }
    }

    /// Stops accepting, waits for in-flight requests (up to the configured timeout), and
    /// returns when the server has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use metrics_runtime::http::{serve, ServerConfig};
    /// use metrics_runtime::Registry;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
    /// let server = serve(Arc::new(Registry::new()), config).await.unwrap();
    /// let addr = server.local_addr();
    /// server.shutdown().await;
    /// // The listener is closed: new connections are refused.
    /// assert!(std::net::TcpStream::connect(addr).is_err());
    /// # });
    /// ```
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Binds `config.addr` and serves `registry` in a tokio task until [`ServerHandle::shutdown`].
///
/// Hardened for the open network (see [`ServerConfig`] for each limit):
/// - every client is accepted at once: at `max_connections` the connection idle the longest
///   makes room, and when all are busy the newcomer gets `503` and is closed;
/// - request heads are bounded (`431` beyond) and must arrive within `header_read_timeout`;
///   idle connections close after `idle_timeout`, stalled writes after `write_timeout`;
///   connections end after `max_requests_per_connection` requests or `max_connection_age`;
/// - rendering and compression run on a thread of the server's own (`metrics-render`), not
///   on the application's tokio workers: all requests that arrive while one render waits or
///   runs share the next one, whose body is rendered after they arrived (never stale), and
///   renders are spaced so that they take at most `render_cpu_share` of one core however many
///   clients ask;
/// - after a render, at most once per `maintenance_interval`, [`Registry::maintain`] (a
///   `BoundedRegistry` evicts its idle series then, never during a read);
/// - graceful shutdown.
///
/// An idle server (no client) runs no timer and wakes no thread.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use metrics_runtime::http::{serve, ServerConfig};
/// use metrics_runtime::{Gauge, Metrics, Registry};
///
/// #[derive(Metrics)]
/// struct Pool {
///     /// Open connections.
///     connections: Gauge,
/// }
/// static POOL: Pool = Pool::new();
///
/// # fn get(addr: std::net::SocketAddr, path: &str) -> String {
/// #     use std::io::{Read, Write};
/// #     let mut stream = std::net::TcpStream::connect(addr).unwrap();
/// #     stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
/// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
/// #     let mut response = String::new();
/// #     stream.read_to_string(&mut response).unwrap();
/// #     response
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut registry = Registry::new();
/// registry.register(&POOL).unwrap();
/// let registry = Arc::new(registry);
/// let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
/// let server = serve(Arc::clone(&registry), config.clone()).await.unwrap();
///
/// POOL.connections.set(3.0);
/// let addr = server.local_addr();
/// let response = tokio::task::spawn_blocking(move || get(addr, "/metrics")).await.unwrap();
/// assert!(response.ends_with("connections 3.0\n"));
///
/// // The address is taken now: a second server cannot bind it.
/// let taken = ServerConfig { addr, ..config };
/// let err = serve(registry, taken).await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
/// server.shutdown().await;
/// # });
/// ```
///
/// # Errors
///
/// The error of binding the address, or of starting the render thread.
///
/// # Panics
///
/// When polled outside a tokio runtime with I/O and time enabled (`enable_all`): the server
/// is a tokio task.
pub async fn serve(registry: Arc<Registry>, config: ServerConfig) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let stats = Arc::new(Stats::default());
    let (jobs, rx_jobs) = mpsc::channel();
    let budget = RenderBudget {
        min_interval: config.min_render_interval,
        cpu_share: if config.render_cpu_share > 0.0 { config.render_cpu_share.min(1.0) } else { 0.1 },
        maintenance_interval: config.maintenance_interval,
    };
    let render_stats = Arc::clone(&stats);
    // The thread ends when the last sender (the accept loop's and its connections') is gone.
    std::thread::Builder::new()
        .name("metrics-render".to_owned())
        .spawn(move || render_loop(registry, rx_jobs, budget, render_stats))?;
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, jobs, config, rx, Arc::clone(&stats)));
    Ok(ServerHandle { local_addr, shutdown, task, stats })
}

async fn changed(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// One connection as the accept loop sees it.
struct Conn {
    state: Arc<ConnState>,
    /// Closes the connection when sent (or dropped); closed once the connection has ended.
    kill: oneshot::Sender<()>,
}

#[derive(Debug)]
struct ConnState {
    opened: Instant,
    /// Requests being answered now.
    busy: AtomicUsize,
    /// Milliseconds since `opened` at the start of the last request (0: none yet).
    last_active_ms: AtomicU64,
    requests: AtomicU64,
}

impl ConnState {
    /// When the connection was last active, for choosing which idle one to evict.
    fn last_active(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_active_ms.load(Relaxed))
    }
}

/// A request waiting for its render: counted in its connection and in the server's stats
/// until its answer is ready (or abandoned).
struct Busy(Arc<ConnState>, Arc<Stats>);

impl Busy {
    fn new(conn: &Arc<ConnState>, stats: &Arc<Stats>) -> Self {
        conn.busy.fetch_add(1, Relaxed);
        stats.busy.fetch_add(1, Relaxed);
        Self(Arc::clone(conn), Arc::clone(stats))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Relaxed);
        self.1.busy.fetch_sub(1, Relaxed);
    }
}

/// Decrements the open-connection count when a connection task ends.
struct Open(Arc<Stats>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Relaxed);
    }
}

/// The limits a connection's requests check.
#[derive(Debug, Clone)]
struct Limits {
    path: Arc<str>,
    max_requests: u64,
    max_age: Duration,
    auth: Option<Expected>,
}

async fn answer(
    request: Request<hyper::body::Incoming>,
    limits: Arc<Limits>,
    jobs: mpsc::Sender<Job>,
    state: Arc<ConnState>,
    stats: Arc<Stats>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let n = state.requests.fetch_add(1, Relaxed) + 1;
    let age = state.opened.elapsed();
    state.last_active_ms.store(age.as_millis().max(1) as u64, Relaxed);
    let refused = match &limits.auth {
        Some(expected) if request.uri().path() == &*limits.path && !expected.allows(request.headers()) => {
            stats.unauthorized.fetch_add(1, Relaxed);
            Some(expected.refuse())
        }
        _ => None,
    };
    let routed = match refused {
        Some(response) => Err(response),
        None => route(&limits.path, &request),
    };
    let mut response = match routed {
        Err(response) => response,
        Ok((variant, true)) => metrics_response(variant, Bytes::new()),
        Ok((variant, false)) => {
            let _busy = Busy::new(&state, &stats);
            let (reply, body) = oneshot::channel();
            let body = if jobs.send(Job { variant, reply }).is_ok() { body.await.ok().flatten() } else { None };
            match body {
                Some(body) => metrics_response(variant, body),
                None => plain(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"),
            }
        }
    };
    if n >= limits.max_requests || age >= limits.max_age {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

/// The answer to a client that arrives when every connection is busy.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 42\r\n\r\nevery connection is busy; try again later\n";

/// A connection's byte stream: the TCP stream with its timeouts, or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send> Io for T {}

async fn accept_loop(
    listener: TcpListener,
    jobs: mpsc::Sender<Job>,
    config: ServerConfig,
    rx: watch::Receiver<bool>,
    stats: Arc<Stats>,
) {
    let max = config.max_connections.max(1);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    let limits = Arc::new(Limits {
        path: Arc::from(config.path.as_str()),
        max_requests: config.max_requests_per_connection.max(1),
        max_age: config.max_connection_age,
        auth: config.auth.as_ref().map(Expected::new),
    });
    let hard_age = config.max_connection_age.saturating_add(config.write_timeout);
    // The TLS acceptor, once for every connection (each handshake clones its `Arc`).
    #[cfg(feature = "tls")]
    let acceptor = config.tls.as_ref().map(|t| tokio_rustls::TlsAcceptor::from(Arc::clone(&t.config)));
    let mut open: Vec<Conn> = Vec::new();
    // The connection tasks, so that shutdown can end the ones the grace period did not.
    let mut tasks = tokio::task::JoinSet::new();
    let stop = changed(rx);
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors or a reset before accept: back off briefly.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        while tasks.try_join_next().is_some() {}
        open.retain(|c| !c.kill.is_closed());
        if open.len() >= max {
            let idle = open
                .iter()
                .enumerate()
                .filter(|(_, c)| c.state.busy.load(Relaxed) == 0)
                .min_by_key(|(_, c)| c.state.last_active())
                .map(|(i, _)| i);
            match idle {
                Some(i) => {
                    let _ = open.swap_remove(i).kill.send(());
                    stats.evicted.fetch_add(1, Relaxed);
                }
                None => {
                    refuse(stream);
                    stats.refused.fetch_add(1, Relaxed);
                    continue;
                }
            }
        }
        stats.accepted.fetch_add(1, Relaxed);
        stats.open.fetch_add(1, Relaxed);
        let open_guard = Open(Arc::clone(&stats));
        let state = Arc::new(ConnState {
            opened: Instant::now(),
            busy: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        let (kill, killed) = oneshot::channel::<()>();
        open.push(Conn { state: Arc::clone(&state), kill });
        let mut io = TimeoutStream::new(stream);
        io.set_read_timeout(Some(config.idle_timeout));
        io.set_write_timeout(Some(config.write_timeout));
        let (limits, jobs, conn_stats) = (Arc::clone(&limits), jobs.clone(), Arc::clone(&stats));
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            answer(request, Arc::clone(&limits), jobs.clone(), Arc::clone(&state), Arc::clone(&conn_stats))
        });
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        #[cfg(feature = "tls")]
        let tls = acceptor.clone().map(|acceptor| (acceptor, Arc::clone(&stats), config.header_read_timeout));
        tasks.spawn(async move {
            let _open = open_guard;
            let io: Pin<Box<dyn Io>> = Box::pin(io);
            #[cfg(feature = "tls")]
            let mut killed = killed;
            #[cfg(feature = "tls")]
            let io: Pin<Box<dyn Io>> = match tls {
                None => io,
                Some((acceptor, stats, handshake_timeout)) => {
                    let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(io));
                    tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(tls)) => Box::pin(tls),
                            // A failed or too slow handshake: close, count.
                            _ => {
                                stats.tls_failed.fetch_add(1, Relaxed);
                                return;
                            }
                        },
                        _ = &mut killed => return,
                    }
                }
            };
            let connection = watcher.watch(builder.serve_connection(TokioIo::new(io), service));
            // Errors are the client's (reset, timeout, malformed request): nothing to do.
            tokio::select! {
                _ = connection => {}
                _ = killed => {}
                () = tokio::time::sleep(hard_age) => {}
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(config.shutdown_timeout, graceful.shutdown()).await;
    // Close what the grace period did not finish: hyper closes only idle keep-alive
    // connections at once, and waits for any other to complete a request, so a client that
    // never finishes its request head would keep its connection (and be served) after
    // shutdown returned, until `header_read_timeout`. Aborting drops the sockets.
    tasks.shutdown().await;
    drop(open);
}

/// Serves until `signal` completes, then shuts down gracefully. A convenience over [`serve`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
/// use metrics_runtime::http::{serve_until, ServerConfig};
/// use metrics_runtime::Registry;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let config = ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..ServerConfig::default() };
/// let started = Instant::now();
/// // In an application the signal is `tokio::signal::ctrl_c()` or a shutdown channel.
/// let signal = tokio::time::sleep(Duration::from_millis(20));
/// serve_until(Arc::new(Registry::new()), config, signal).await.unwrap();
/// assert!(started.elapsed() >= Duration::from_millis(20)); // served until the signal
/// # });
/// ```
///
/// # Errors
///
/// The error of binding the address.
///
/// # Panics
///
/// When polled outside a tokio runtime with I/O and time enabled (`enable_all`): the server
/// is a tokio task.
pub async fn serve_until(
    registry: Arc<Registry>,
    config: ServerConfig,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let handle = serve(registry, config).await?;
    signal.await;
    handle.shutdown().await;
    Ok(())
}

/// Answers `503` without waiting (a full socket buffer just loses the answer) and closes.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(BUSY);
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;
    use hyper::header::{HeaderMap, HeaderValue, ACCEPT_ENCODING};

    fn gz(values: &[&'static str]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_static(v));
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_negotiation() {
        assert!(gz(&["gzip"]));
        assert!(gz(&["br, gzip;q=0.5"]));
        assert!(gz(&["*"]));
        assert!(gz(&["GZIP; Q=1"]));
        assert!(!gz(&["gzip;q=0"]));
        assert!(!gz(&["gzip;q=0.000"]));
        assert!(!gz(&["identity"]));
        assert!(!gz(&[]));
        // An explicit gzip element decides over `*`, in either order.
        assert!(!gz(&["gzip;q=0, *"]));
        assert!(!gz(&["*, gzip;q=0"]));
        assert!(!gz(&["*;q=0"]));
        assert!(gz(&["*;q=0, gzip"]));
        // Every Accept-Encoding field counts, not only the first.
        assert!(gz(&["br", "gzip"]));
        assert!(!gz(&["*", "gzip;q=0"]));
        // Malformed q-values are ignored, not taken as 1.
        assert!(!gz(&["gzip;q=x"]));
        assert!(!gz(&["gzip;q=2"]));
    }
}
