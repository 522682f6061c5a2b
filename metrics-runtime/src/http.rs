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
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::encode::negotiate;
use crate::registry::Registry;

/// Settings of the `/metrics` server. The defaults bind `127.0.0.1:9898`.
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
    /// Connections served at once; further clients wait in the listen backlog. Default 64.
    pub max_connections: usize,
    /// Time a client has to send its request headers before the connection is closed.
    /// Default 5 s.
    pub header_read_timeout: Duration,
    /// Largest request head accepted (bigger ones get `431`). Default 8 KiB, hyper's minimum.
    pub max_header_bytes: usize,
    /// How long graceful shutdown waits for in-flight requests. Default 5 s.
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 9898)),
            path: "/metrics".to_owned(),
            max_connections: 64,
            header_read_timeout: Duration::from_secs(5),
            max_header_bytes: 8 * 1024,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// Whether the client accepts gzip (`Accept-Encoding` with a non-zero q-value).
fn accepts_gzip(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split(',').any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let q = parts.find_map(|p| p.strip_prefix("q=").and_then(|q| q.trim().parse::<f64>().ok())).unwrap_or(1.0);
            (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0
        })
    })
}

/// Answers one request for `path`: the exposition of `registry` in the negotiated format
/// (OpenMetrics when the `Accept` header prefers it, Prometheus text otherwise), gzip when
/// accepted; `404` for other paths, `405` (with `Allow`) for methods other than GET and HEAD.
///
/// Mount it in an axum or hyper application, or let [`serve`] run it.
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
    if request.uri().path() != path {
        return plain(StatusCode::NOT_FOUND, "not found; metrics are served at the metrics path\n");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed; use GET\n");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let headers = request.headers();
    let format = negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let mut text = String::new();
    registry.write(format, &mut text);
    let gzip = accepts_gzip(headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()));
    let body = if gzip {
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::with_capacity(text.len() / 4), flate2::Compression::fast());
        // Writing into a Vec cannot fail.
        let compressed = encoder.write_all(text.as_bytes()).and_then(|()| encoder.finish());
        match compressed {
            Ok(bytes) => Bytes::from(bytes),
            Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "compression failed\n"),
        }
    } else {
        Bytes::from(text)
    };
    let mut response = Response::new(Full::new(if request.method() == Method::HEAD { Bytes::new() } else { body }));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    h.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
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
/// Hardened for the open network: at most `max_connections` served at once, request heads
/// bounded (`431` beyond), clients that stall before sending their headers cut off after
/// `header_read_timeout`, graceful shutdown.
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
/// The error of binding the address.
///
/// # Panics
///
/// When polled outside a tokio runtime with I/O and time enabled (`enable_all`): the server
/// is a tokio task.
pub async fn serve(registry: Arc<Registry>, config: ServerConfig) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, registry, config, rx));
    Ok(ServerHandle { local_addr, shutdown, task })
}

async fn changed(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn accept_loop(listener: TcpListener, registry: Arc<Registry>, config: ServerConfig, rx: watch::Receiver<bool>) {
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192))
        .keep_alive(true);
    let path: Arc<str> = Arc::from(config.path.as_str());
    // The connection tasks, so that shutdown can end the ones the grace period did not.
    let mut connections = tokio::task::JoinSet::new();
    let stop = changed(rx);
    tokio::pin!(stop);
    loop {
        // Reap finished connections (at most about `max_connections` accumulate).
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut stop => break,
            permit = Arc::clone(&limit).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, _) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors or a reset before accept: back off briefly.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let registry = Arc::clone(&registry);
        let path = Arc::clone(&path);
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let response = respond(&registry, &path, &request);
            async move { Ok::<_, Infallible>(response) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            // Errors are the client's (reset, timeout, malformed request): nothing to do.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(config.shutdown_timeout, graceful.shutdown()).await;
    // Close what the grace period did not finish: hyper closes only idle keep-alive
    // connections at once, and waits for any other to complete a request, so a client that
    // never finishes its request head would keep its connection (and be served) after
    // shutdown returned, until `header_read_timeout`. Aborting drops the sockets.
    connections.shutdown().await;
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

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("br, gzip;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}
