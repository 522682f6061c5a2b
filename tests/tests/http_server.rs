//! The HTTP `/metrics` server (`metrics_runtime::http::serve`) against real TCP clients on
//! 127.0.0.1: content negotiation, gzip, status codes, and the hardening (bounded request
//! heads, stalled clients cut off, a connection limit, graceful shutdown).
//!
//! Normal requests go through `ureq` or a small raw HTTP/1.1 client over
//! `tokio::net::TcpStream` (which also sends the malformed, oversized and stalled requests).
//! Every wait is bounded, so a misbehaving server fails a test instead of hanging it.

use std::future::Future;
use std::io::{self, Read as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::{Metrics, Registry};
use tests::conformance::{populated, Conformance, Region};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The longest any single step may take before the test fails (generous: a loaded machine).
const LIMIT: Duration = Duration::from_secs(10);

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The `Accept` header Prometheus sends when scraping.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// `fut`, or a panic naming `what` when it takes longer than [`LIMIT`].
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing within {LIMIT:?}"),
    }
}

fn config() -> ServerConfig {
    ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() }
}

/// What a test body gets: the live metrics, the registry the server renders, its address.
#[derive(Clone)]
struct Env {
    metrics: Arc<Conformance>,
    registry: Arc<Registry>,
    addr: SocketAddr,
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A registry with the populated conformance schema, served with `config`.
async fn start(config: ServerConfig) -> (Env, metrics_runtime::http::ServerHandle) {
    let metrics = Arc::new(populated());
    let mut registry = Registry::new();
    registry.register_arc(Arc::clone(&metrics) as Arc<dyn Metrics>).unwrap();
    let registry = Arc::new(registry);
    let handle = serve(Arc::clone(&registry), config).await.unwrap();
    let env = Env { metrics, registry, addr: handle.local_addr() };
    (env, handle)
}

/// Serves with `config`, runs `test`, and shuts the server down whether or not `test` panicked
/// (its panic is re-raised afterwards).
async fn run<F, Fut>(config: ServerConfig, test: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (env, handle) = start(config).await;
    let outcome = tokio::spawn(test(env)).await;
    within("shutdown", handle.shutdown()).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// One HTTP response as received.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 200;
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(SHOWN)]);
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &format!("{body}... ({} bytes)", self.body.len()))
            .finish()
    }
}

impl Response {
    /// The value of header `name` (case-insensitive), which must not be repeated.
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(values.next().is_none(), "repeated header {name}: {self:?}");
        first
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    fn gunzip(&self) -> String {
        let mut out = String::new();
        flate2::read::GzDecoder::new(self.body.as_slice()).read_to_string(&mut out).expect("a gzip body");
        out
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A raw HTTP/1.1 client on one TCP connection.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = within("connect", TcpStream::connect(addr)).await.expect("connect");
        Self { stream, buf: Vec::new() }
    }

    async fn send(&mut self, bytes: &[u8]) {
        within("send", self.stream.write_all(bytes)).await.expect("send");
    }

    /// Sends `method path` with `headers` (and `Host`), and reads the response.
    async fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.send(request.as_bytes()).await;
        within(&format!("response to {method} {path}"), self.read_response(method == "HEAD"))
            .await
            .unwrap_or_else(|e| panic!("response to {method} {path}: {e}"))
    }

    /// Reads more bytes into the buffer; 0 at end of stream. Cancel safe.
    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response (no body after a HEAD). Cancel safe: bytes read stay buffered.
    async fn read_response(&mut self, head_request: bool) -> io::Result<Response> {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("closed before a complete response head; got {:?}", String::from_utf8_lossy(&self.buf)),
                ));
            }
        };
        let head = String::from_utf8(self.buf[..end - 4].to_vec()).expect("ASCII head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {status_line:?}");
        let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line {status_line:?}"));
        let headers = lines
            .map(|line| {
                let (k, v) = line.split_once(':').unwrap_or_else(|| panic!("header line {line:?}"));
                (k.to_owned(), v.trim().to_owned())
            })
            .collect();
        self.buf.drain(..end);
        let mut response = Response { status, headers, body: Vec::new() };
        assert_eq!(response.header("transfer-encoding"), None, "the server sends Content-Length: {response:?}");
        if head_request {
            return Ok(response);
        }
        match response.header("content-length") {
            Some(len) => {
                let len: usize = len.parse().expect("numeric Content-Length");
                while self.buf.len() < len {
                    if self.fill().await? == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed inside the body"));
                    }
                }
                response.body = self.buf.drain(..len).collect();
            }
            // Delimited by the end of the connection.
            None => {
                while self.fill().await? != 0 {}
                response.body = std::mem::take(&mut self.buf);
            }
        }
        Ok(response)
    }

    /// Reads until the server closes the connection: the bytes received (including any not yet
    /// consumed) and how reading ended (`Ok` for a clean end of stream).
    async fn read_until_closed(&mut self) -> (Vec<u8>, io::Result<()>) {
        let end = loop {
            match self.fill().await {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        (std::mem::take(&mut self.buf), end)
    }
}

/// A request through `ureq` (a blocking client, run off the runtime).
async fn ureq_call(method: &'static str, url: String, headers: &[(&str, &str)]) -> Response {
    let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let call = tokio::task::spawn_blocking(move || {
        let mut request = ureq::request(method, &url).timeout(LIMIT);
        for (k, v) in &headers {
            request = request.set(k, v);
        }
        let response = match request.call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {url}: {e}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .flat_map(|name| response.all(&name).into_iter().map(|v| (name.clone(), v.to_owned())).collect::<Vec<_>>())
            .collect();
        let mut body = Vec::new();
        response.into_reader().read_to_end(&mut body).expect("read body");
        Response { status, headers, body }
    });
    within("ureq", call).await.expect("ureq call")
}

// 1. GET /metrics.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_metrics_serves_the_prometheus_text_of_the_moment() {
    run(config(), |env| async move {
        let response = ureq_call("GET", env.url("/metrics"), &[]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some(PROMETHEUS_TEXT));
        assert_eq!(response.header("content-encoding"), None);
        assert_eq!(response.header("vary"), Some("Accept, Accept-Encoding"));
        let before = env.registry.render_prometheus();
        assert_eq!(response.text(), before);
        assert!(before.contains("conf_sent_bytes_total 1000000007\n"), "{before}");

        // Live values: the next scrape renders the registry as it is then.
        env.metrics.sent_bytes_total.add(5);
        env.metrics.queue_depth.with(Region::Eu).set(7.5);
        let response = ureq_call("GET", env.url("/metrics"), &[]).await;
        assert_eq!(response.status, 200);
        let after = env.registry.render_prometheus();
        assert_ne!(after, before);
        assert_eq!(response.text(), after);
        assert!(after.contains("conf_sent_bytes_total 1000000012\n"), "{after}");
        assert!(after.contains("conf_queue_depth{region=\"eu\"} 7.5\n"), "{after}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_keep_alive_connection_serves_several_requests() {
    run(config(), |env| async move {
        let mut client = Client::connect(env.addr).await;
        for i in 1..=3u64 {
            env.metrics.sent_bytes_total.inc();
            let response = client.request("GET", "/metrics", &[]).await;
            assert_eq!(response.status, 200, "request {i}");
            assert_eq!(response.header("content-type"), Some(PROMETHEUS_TEXT));
            assert_eq!(response.header("connection"), None, "request {i}");
            assert_eq!(response.text(), env.registry.render_prometheus());
            assert!(response.text().contains(&format!("conf_sent_bytes_total {}\n", 1_000_000_007 + i)));
        }
    })
    .await;
}

// 2. Content negotiation.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_accept_header_gets_openmetrics() {
    run(config(), |env| async move {
        let response = ureq_call("GET", env.url("/metrics"), &[("Accept", PROMETHEUS_ACCEPT)]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some(OPENMETRICS_TEXT));
        assert_eq!(response.text(), env.registry.render_openmetrics());
        assert!(response.text().ends_with("# EOF\n"), "{}", response.text());

        // Asking for the text format (or for anything) gets the text format.
        let mut client = Client::connect(env.addr).await;
        for accept in ["text/plain;version=0.0.4", "*/*"] {
            let response = client.request("GET", "/metrics", &[("Accept", accept)]).await;
            assert_eq!(response.status, 200);
            assert_eq!(response.header("content-type"), Some(PROMETHEUS_TEXT), "{accept}");
            assert_eq!(response.text(), env.registry.render_prometheus(), "{accept}");
        }
    })
    .await;
}

// 3. gzip.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_only_when_accepted() {
    run(config(), |env| async move {
        let mut client = Client::connect(env.addr).await;
        let text = env.registry.render_prometheus();

        let response = client.request("GET", "/metrics", &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.header("content-type"), Some(PROMETHEUS_TEXT));
        assert_eq!(response.header("vary"), Some("Accept, Accept-Encoding"));
        assert_eq!(response.header("content-length"), Some(response.body.len().to_string().as_str()));
        assert_eq!(response.gunzip(), text);
        assert!(response.body.len() < text.len(), "{} compressed bytes for {} plain", response.body.len(), text.len());

        // As browsers and Prometheus send it, combined with OpenMetrics.
        let response = client
            .request("GET", "/metrics", &[("Accept", PROMETHEUS_ACCEPT), ("Accept-Encoding", "gzip, deflate, br")])
            .await;
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.header("content-type"), Some(OPENMETRICS_TEXT));
        assert_eq!(response.gunzip(), env.registry.render_openmetrics());

        // Not accepted: no header at all, or gzip refused with q=0, or another coding only.
        for headers in [&[][..], &[("Accept-Encoding", "gzip;q=0")][..], &[("Accept-Encoding", "identity")][..]] {
            let response = client.request("GET", "/metrics", headers).await;
            assert_eq!(response.status, 200);
            assert_eq!(response.header("content-encoding"), None, "{headers:?}");
            assert_eq!(response.text(), text, "{headers:?}");
        }
    })
    .await;
}

// 4. Paths and methods.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_paths_404_other_methods_405_head_has_no_body() {
    run(config(), |env| async move {
        let response = ureq_call("GET", env.url("/other"), &[]).await;
        assert_eq!(response.status, 404);
        assert_eq!(response.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(response.text(), "not found; metrics are served at the metrics path\n");
        // The path is compared exactly.
        for path in ["/", "/metrics/", "/metricsx", "/METRICS"] {
            let response = ureq_call("GET", env.url(path), &[]).await;
            assert_eq!(response.status, 404, "{path}");
        }
        // A query string does not change the path.
        let response = ureq_call("GET", env.url("/metrics?x=1"), &[]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), env.registry.render_prometheus());

        for method in ["POST", "DELETE", "PUT"] {
            let response = ureq_call(method, env.url("/metrics"), &[]).await;
            assert_eq!(response.status, 405, "{method}");
            assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
            assert_eq!(response.header("content-type"), Some("text/plain; charset=utf-8"));
            assert_eq!(response.text(), "method not allowed; use GET\n", "{method}");
        }
        // A POST with a body, on a raw connection that is then reused.
        let mut client = Client::connect(env.addr).await;
        client.send(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").await;
        let response = within("405", client.read_response(false)).await.unwrap();
        assert_eq!(response.status, 405);
        assert_eq!(response.header("allow"), Some("GET, HEAD"));
        let response = client.request("GET", "/metrics", &[]).await;
        assert_eq!(response.status, 200);

        // HEAD: the GET headers, no body. Connection: close, so that any body bytes the server
        // wrongly sent would show up before the end of the stream.
        let get = client.request("GET", "/metrics", &[]).await;
        let response = client.request("HEAD", "/metrics", &[("Connection", "close")]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some(PROMETHEUS_TEXT));
        assert_eq!(response.header("vary"), Some("Accept, Accept-Encoding"));
        // RFC 9110 8.6: a Content-Length in a HEAD response must be the GET body's length.
        if let Some(len) = response.header("content-length") {
            assert_eq!(len, get.body.len().to_string(), "{response:?}");
        }
        let (rest, end) = within("close after HEAD", client.read_until_closed()).await;
        end.unwrap();
        assert_eq!(String::from_utf8_lossy(&rest), "", "HEAD response had a body");
    })
    .await;
}

// 5. Oversized request heads.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_head_gets_431_and_the_server_carries_on() {
    run(config(), |env| async move {
        // Just under the default 8 KiB bound: served.
        let mut client = Client::connect(env.addr).await;
        let filler = "a".repeat(7 * 1024);
        let response = client.request("GET", "/metrics", &[("X-Filler", &filler)]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), env.registry.render_prometheus());

        // One 20 KiB header. hyper reads at most `max_buf_size` (8 KiB) of an unfinished head,
        // then answers `431 Request Header Fields Too Large` itself (the service never runs),
        // with an empty body and `connection: close`, and closes the connection. It leaves the
        // other 12 KiB unread, so closing makes the server's kernel reset the connection
        // instead of ending it cleanly: after the 431 the client sees either the end of the
        // stream or ECONNRESET. (On Linux a reset does not discard what was already received,
        // so the 431 itself is always readable.)
        let mut client = Client::connect(env.addr).await;
        let big = "b".repeat(20 * 1024);
        client.send(format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes()).await;
        let response =
            within("431", client.read_response(false)).await.expect("a 431 response before the connection ends");
        assert_eq!(response.status, 431, "{response:?}");
        assert_eq!(response.header("connection"), Some("close"), "{response:?}");
        assert_eq!(response.header("content-length"), Some("0"), "{response:?}");
        assert!(response.body.is_empty());
        let (rest, end) = within("close after 431", client.read_until_closed()).await;
        assert!(rest.is_empty(), "bytes after the 431: {rest:?}");
        if let Err(e) = end {
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
        }

        // Many headers adding up to more than 8 KiB, each small: the same.
        let mut client = Client::connect(env.addr).await;
        let mut request = String::from("GET /metrics HTTP/1.1\r\nHost: x\r\n");
        for i in 0..90 {
            request.push_str(&format!("X-H{i}: {}\r\n", "c".repeat(100)));
        }
        request.push_str("\r\n");
        client.send(request.as_bytes()).await;
        let response =
            within("431", client.read_response(false)).await.expect("a 431 response before the connection ends");
        assert_eq!(response.status, 431, "{response:?}");

        // The server still serves normal requests.
        let mut client = Client::connect(env.addr).await;
        let response = client.request("GET", "/metrics", &[]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), env.registry.render_prometheus());
    })
    .await;
}

// 6. Stalled clients.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_cut_off_and_do_not_hold_up_others() {
    let timeout = Duration::from_millis(300);
    let config = ServerConfig { header_read_timeout: timeout, ..config() };
    run(config, move |env| async move {
        let connected = Instant::now();
        // One client sends nothing, one half a request line.
        let mut silent = Client::connect(env.addr).await;
        let mut half = Client::connect(env.addr).await;
        half.send(b"GET /metr").await;
        let silent = tokio::spawn(async move {
            let (bytes, end) = silent.read_until_closed().await;
            (bytes, end, connected.elapsed())
        });
        let half = tokio::spawn(async move {
            let (bytes, end) = half.read_until_closed().await;
            (bytes, end, connected.elapsed())
        });

        // While they stall, other clients are served at once.
        let mut served_meanwhile = 0;
        while !(silent.is_finished() && half.is_finished()) {
            assert!(connected.elapsed() < LIMIT, "stalled clients not cut off within {LIMIT:?}");
            let mut other = Client::connect(env.addr).await;
            let response = other.request("GET", "/metrics", &[]).await;
            assert_eq!(response.status, 200);
            assert_eq!(response.text(), env.registry.render_prometheus());
            if !silent.is_finished() {
                served_meanwhile += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(served_meanwhile > 0, "no request was answered while the stalled client was connected");

        // Both cut off after the header read timeout: the connection just ends (hyper sends no
        // 408), cleanly, since the server read everything the client sent.
        for (name, task) in [("silent", silent), ("half", half)] {
            let (bytes, end, after) = task.await.unwrap();
            assert!(bytes.is_empty(), "{name}: the server sent {bytes:?}");
            end.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                after >= timeout - Duration::from_millis(50),
                "{name}: cut off after {after:?}, before the {timeout:?} timeout"
            );
            assert!(after < Duration::from_secs(3), "{name}: cut off only after {after:?}");
        }
    })
    .await;
}

// 7. The connection limit.

/// Waits until `n` requests wait for a render.
async fn waiting(handle: &metrics_runtime::http::ServerHandle, n: usize) {
    within("requests waiting for a render", async {
        while handle.stats().waiting_requests != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_limit_the_idle_connection_makes_room_and_busy_ones_get_503() {
    let config = ServerConfig {
        max_connections: 2,
        // Long, so that idle keep-alive connections keep their slots for the whole test, and
        // so that a request made right after a render waits (busy) for the next one.
        header_read_timeout: Duration::from_secs(60),
        min_render_interval: Duration::from_secs(3),
        ..config()
    };
    let (env, handle) = start(config).await;
    // Two keep-alive connections: the first answered at once (the first render), then idle.
    let mut first = Client::connect(env.addr).await;
    assert_eq!(first.request("GET", "/metrics", &[]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The second asks for the next render, three seconds away: it is busy meanwhile.
    let mut second = Client::connect(env.addr).await;
    second.send(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    waiting(&handle, 1).await;

    // A third client is accepted at once: the idle first connection makes room for it.
    let started = Instant::now();
    let mut third = Client::connect(env.addr).await;
    third.send(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    let (bytes, _) = within("the evicted connection's end", first.read_until_closed()).await;
    assert!(bytes.is_empty(), "the evicted idle connection got {bytes:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "eviction took {:?}", started.elapsed());
    assert_eq!(handle.stats().evicted, 1);
    waiting(&handle, 2).await;

    // Both connections are busy now: a fourth client is answered 503 at once, not left
    // waiting in the listen backlog.
    let started = Instant::now();
    let mut fourth = Client::connect(env.addr).await;
    let refused = within("the 503", fourth.read_response(false)).await.expect("a 503 response");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(started.elapsed() < Duration::from_secs(1), "refusal took {:?}", started.elapsed());
    assert_eq!(handle.stats().refused, 1);

    // The busy ones are answered by the next render, which both share.
    let renders = handle.stats().renders;
    for client in [&mut second, &mut third] {
        let response = within("a busy client's response", client.read_response(false)).await.expect("a response");
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), env.registry.render_prometheus());
    }
    assert_eq!(handle.stats().renders, renders + 1, "the two waiting requests shared one render");
    assert_eq!(handle.stats().open_connections, 2);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_close_after_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    run(ServerConfig { idle_timeout: idle, ..config() }, move |env| async move {
        let mut client = Client::connect(env.addr).await;
        assert_eq!(client.request("GET", "/metrics", &[]).await.status, 200);
        let served = Instant::now();
        let (bytes, _) = within("the idle close", client.read_until_closed()).await;
        let after = served.elapsed();
        assert!(bytes.is_empty(), "{bytes:?}");
        assert!(after >= idle - Duration::from_millis(50), "closed after {after:?}, before {idle:?}");
        assert!(after < Duration::from_secs(3), "closed only after {after:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_ends_after_its_request_cap_and_its_age() {
    let capped = ServerConfig { max_requests_per_connection: 3, min_render_interval: Duration::ZERO, ..config() };
    run(capped, |env| async move {
        let mut client = Client::connect(env.addr).await;
        for _ in 0..2 {
            let response = client.request("GET", "/metrics", &[]).await;
            assert_eq!((response.status, response.header("connection")), (200, None));
        }
        // The third is the last: answered, marked, then the connection closes.
        let response = client.request("GET", "/metrics", &[]).await;
        assert_eq!((response.status, response.header("connection")), (200, Some("close")));
        let (bytes, _) = within("the close after the cap", client.read_until_closed()).await;
        assert!(bytes.is_empty(), "{bytes:?}");
    })
    .await;
    let aged = ServerConfig { max_connection_age: Duration::from_millis(200), ..config() };
    run(aged, |env| async move {
        let mut client = Client::connect(env.addr).await;
        assert_eq!(client.request("GET", "/metrics", &[]).await.header("connection"), None);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let response = client.request("GET", "/metrics", &[]).await;
        assert_eq!((response.status, response.header("connection")), (200, Some("close")));
        let (bytes, _) = within("the close after the age", client.read_until_closed()).await;
        assert!(bytes.is_empty(), "{bytes:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_refused_by_q_zero_and_read_from_every_accept_encoding_field() {
    run(config(), |env| async move {
        let mut client = Client::connect(env.addr).await;
        let response = client.request("GET", "/metrics", &[("Accept-Encoding", "gzip;q=0, *")]).await;
        assert_eq!(response.header("content-encoding"), None);
        assert_eq!(response.text(), env.registry.render_prometheus());
        let response =
            client.request("GET", "/metrics", &[("Accept-Encoding", "br"), ("Accept-Encoding", "gzip")]).await;
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.gunzip(), env.registry.render_prometheus());
    })
    .await;
}

// 8. Graceful shutdown.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_keep_alive_connections_at_once() {
    let config = ServerConfig {
        shutdown_timeout: Duration::from_secs(20),
        header_read_timeout: Duration::from_secs(60),
        ..config()
    };
    let (env, handle) = start(config).await;
    let mut idle = Client::connect(env.addr).await;
    assert_eq!(idle.request("GET", "/metrics", &[]).await.status, 200);

    let started = Instant::now();
    within("shutdown", handle.shutdown()).await;
    let took = started.elapsed();
    // An idle keep-alive connection is closed at once: shutdown does not wait out the 20 s.
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    let (bytes, end) = within("close of the idle connection", idle.read_until_closed()).await;
    assert!(bytes.is_empty(), "{bytes:?}");
    end.unwrap();
    let refused = TcpStream::connect(env.addr).await;
    assert_eq!(refused.map(|_| ()).unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_completes_within_the_timeout_despite_unfinished_requests() {
    let shutdown_timeout = Duration::from_secs(1);
    let config = ServerConfig {
        shutdown_timeout,
        // Far longer than the test: only shutdown can end the unfinished requests.
        header_read_timeout: Duration::from_secs(60),
        ..config()
    };
    let (env, handle) = start(config).await;
    // An idle keep-alive connection, a request in flight (half its head sent), and a
    // connection that has sent nothing yet.
    let mut idle = Client::connect(env.addr).await;
    assert_eq!(idle.request("GET", "/metrics", &[]).await.status, 200);
    let mut in_flight = Client::connect(env.addr).await;
    in_flight.send(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n").await;
    let mut silent = Client::connect(env.addr).await;
    // The server accepts in order, so once a later client is answered, both were accepted.
    let mut probe = Client::connect(env.addr).await;
    assert_eq!(probe.request("GET", "/metrics", &[]).await.status, 200);
    drop(probe);

    let started = Instant::now();
    within("shutdown", handle.shutdown()).await;
    let took = started.elapsed();
    assert!(
        took < shutdown_timeout + Duration::from_secs(4),
        "shutdown took {took:?} with a {shutdown_timeout:?} timeout"
    );

    // Nothing listens any more.
    let refused = TcpStream::connect(env.addr).await;
    assert_eq!(refused.map(|_| ()).unwrap_err().kind(), io::ErrorKind::ConnectionRefused);

    // The idle connection was closed.
    let (bytes, end) = within("close of the idle connection", idle.read_until_closed()).await;
    assert!(bytes.is_empty(), "{bytes:?}");
    end.unwrap();

    // Once shutdown has returned the server has stopped: the connections the grace period
    // did not finish are closed too, and a stopped server answers no more requests.
    for (name, client) in [("in flight", &mut in_flight), ("silent", &mut silent)] {
        let closed = tokio::time::timeout(Duration::from_secs(2), client.read_until_closed()).await;
        if let Ok((bytes, _)) = &closed {
            assert!(bytes.is_empty(), "{name}: {bytes:?}");
            continue;
        }
        // Still open: show what finishing the request gets from the stopped server.
        let rest: &[u8] =
            if name == "in flight" { b"\r\n" } else { b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" };
        let _ = client.stream.write_all(rest).await;
        let answer = tokio::time::timeout(Duration::from_secs(2), client.read_response(false)).await;
        panic!(
            "{name}: connection still open {:?} after shutdown returned; finishing its request \
             got {answer:?}",
            started.elapsed().saturating_sub(took)
        );
    }
    drop(env);
}
