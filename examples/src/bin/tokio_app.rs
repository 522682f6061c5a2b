//! Plain tokio, no web framework: workers timed with `#[timed]` and `TimedExt::timed`, the
//! metrics served by `metrics_runtime::http::serve` on a free port of 127.0.0.1, scraped once.
//!
//! `cargo run -p examples --bin tokio_app`

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::{timed, Counter, Gauge, Histogram, Metrics, Outcome, Registry, Summary, Tag, TimedExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "job", rename_all = "snake_case")]
enum Job {
    Resize,
    Upload,
}

#[derive(Metrics)]
#[metrics(namespace = "worker")]
struct WorkerMetrics {
    /// Jobs finished, by kind.
    jobs_total: Counter<Job>,
    /// Workers running.
    active_workers: Gauge,
    /// Time to run a job, by outcome.
    #[metric(unit = "seconds", buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05])]
    job_duration_seconds: Histogram<Outcome>,
    /// Upload time quantiles over the last minute.
    #[metric(unit = "seconds", quantiles = [0.5, 0.9, 0.99], window_secs = 60)]
    upload_seconds: Summary,
}

static METRICS: WorkerMetrics = WorkerMetrics::new();

#[derive(Debug)]
struct TooLarge;

/// Every call is recorded under `ok` or `error`; a call dropped mid-way under `cancelled`.
#[timed(METRICS.job_duration_seconds)]
async fn resize(size: u64) -> Result<(), TooLarge> {
    tokio::time::sleep(Duration::from_millis(size)).await;
    if size > 4 {
        return Err(TooLarge);
    }
    METRICS.jobs_total.with(Job::Resize).inc();
    Ok(())
}

async fn upload(n: u64) {
    tokio::time::sleep(Duration::from_millis(1 + n % 3)).await;
    METRICS.jobs_total.with(Job::Upload).inc();
}

async fn worker(id: u64) {
    METRICS.active_workers.inc();
    for n in 0..5 {
        _ = resize((id + n) % 6).await;
        // Any future, timed at the call site.
        upload(n).timed(&METRICS.upload_seconds).await;
    }
    METRICS.active_workers.dec();
}

/// One `GET /metrics` over a raw TCP connection; returns the whole response.
async fn scrape(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut registry = Registry::new();
    registry.register(&METRICS).expect("names are unique");
    let config = ServerConfig { addr: SocketAddr::from(([127, 0, 0, 1], 0)), ..ServerConfig::default() };
    let server = serve(Arc::new(registry), config).await?;

    let workers: Vec<_> = (0..4).map(|id| tokio::spawn(worker(id))).collect();
    for w in workers {
        w.await.expect("workers do not panic");
    }

    print!("{}", scrape(server.local_addr()).await?);
    server.shutdown().await;
    Ok(())
}
