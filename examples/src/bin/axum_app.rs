//! An axum 0.8 application that serves its own metrics: `metrics_runtime::http::respond`
//! mounted at `/metrics` (content negotiation on `Accept`, gzip on `Accept-Encoding`), and
//! `#[timed]` handlers.
//!
//! It binds 127.0.0.1 on a free port, sends a few requests to itself, prints the scraped
//! exposition and exits. `cargo run -p examples --bin axum_app -- --addr 127.0.0.1:3000 --serve`
//! keeps serving until Ctrl-C instead.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use metrics_runtime::{http::respond, timed, Counter, Histogram, Metrics, Outcome, Registry, Tag};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "route", rename_all = "snake_case")]
enum Route {
    Hello,
    Checkout,
}

#[derive(Metrics)]
#[metrics(namespace = "axum_app")]
struct AppMetrics {
    /// Requests served, by route.
    requests_total: Counter<Route>,
    /// Time to serve a request, by route.
    #[metric(unit = "seconds", buckets = [0.001, 0.005, 0.025, 0.1, 0.5])]
    request_duration_seconds: Histogram<Route>,
    /// Checkout time, by outcome (`ok`, `error`, `cancelled`, `panicked`).
    #[metric(unit = "seconds", buckets = [0.001, 0.005, 0.025, 0.1, 0.5])]
    checkout_seconds: Histogram<Outcome>,
}

static METRICS: AppMetrics = AppMetrics::new();

#[timed(METRICS.request_duration_seconds.with(Route::Hello))]
async fn hello() -> &'static str {
    METRICS.requests_total.with(Route::Hello).inc();
    "hello\n"
}

/// `#[timed]` on a handler returning `Result`: an `Err` is recorded under `outcome="error"`.
#[timed(METRICS.checkout_seconds)]
async fn checkout(body: String) -> Result<&'static str, StatusCode> {
    METRICS.requests_total.with(Route::Checkout).inc();
    if body.is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    Ok("ordered\n")
}

/// The `/metrics` route: the `Accept` header picks OpenMetrics or Prometheus text.
async fn metrics(State(registry): State<Arc<Registry>>, request: Request) -> impl IntoResponse {
    respond(&registry, "/metrics", &request)
}

/// A minimal HTTP/1.1 client: sends one request, returns the whole response (head and body).
async fn fetch(addr: SocketAddr, request_line: &str, headers: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "{request_line} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    Some(args.get(i + 1).cloned().unwrap_or_default())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut registry = Registry::new();
    registry.register(&METRICS).expect("names are unique");
    let app = Router::new()
        .route("/", get(hello))
        .route("/checkout", post(checkout))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(registry));

    let addr = arg("--addr").unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("serving http://{addr}/metrics");
    if std::env::args().any(|a| a == "--serve") {
        return axum::serve(listener, app).with_graceful_shutdown(async { _ = tokio::signal::ctrl_c().await }).await;
    }

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server =
        tokio::spawn(
            async move { axum::serve(listener, app).with_graceful_shutdown(async { _ = stopped.await }).await },
        );

    fetch(addr, "GET /", "", "").await?;
    fetch(addr, "GET /", "", "").await?;
    fetch(addr, "POST /checkout", "", "one book").await?;
    fetch(addr, "POST /checkout", "", "").await?;
    // What Prometheus sends: OpenMetrics is preferred.
    let accept = "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n";
    let scraped = fetch(addr, "GET /metrics", accept, "").await?;
    print!("{scraped}");

    _ = stop.send(());
    server.await.expect("the server task does not panic")?;
    Ok(())
}
