//! Quick start: the README example under a small simulated workload, then its exposition.
//!
//! `cargo run -p examples --bin quickstart`

use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "method", rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "4xx")]
    ClientError,
    #[tag(value = "5xx")]
    ServerError,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Http {
    pub method: Method,
    pub status: Status,
}

#[derive(Metrics)]
#[metrics(namespace = "shop")]
pub struct ShopMetrics {
    /// Requests served, by method and status class.
    requests_total: Counter<Http>,
    /// Requests being served right now.
    inflight_requests: Gauge,
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0])]
    request_duration_seconds: Histogram<Method>,
    /// Checkout latency quantiles over the last minute.
    #[metric(unit = "seconds", quantiles = [0.5, 0.9, 0.99, 0.999], window_secs = 60)]
    checkout_seconds: Summary,
}

pub static METRICS: ShopMetrics = ShopMetrics::new();

/// A small deterministic pseudo-random generator (xorshift), so the demo needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let methods = [Method::Get, Method::Get, Method::Get, Method::Post, Method::Put, Method::Delete];
    for _ in 0..10_000 {
        METRICS.inflight_requests.inc();
        let method = methods[(rng.next() % methods.len() as u64) as usize];
        let roll = rng.unit();
        let status = if roll < 0.93 {
            Status::Success
        } else if roll < 0.98 {
            Status::ClientError
        } else {
            Status::ServerError
        };
        // Exponential-ish latency around 20 ms.
        let latency = -0.02 * (1.0 - rng.unit()).ln();
        METRICS.requests_total.with(Http { method, status }).inc();
        METRICS.request_duration_seconds.with(method).record(latency);
        if method == Method::Post {
            METRICS.checkout_seconds.record(latency * 3.0);
        }
        METRICS.inflight_requests.dec();
    }
    // Dynamic input is parsed once, with typed errors.
    let parsed = Http::from_pairs(&[("method", "GET"), ("status", "2xx")]).expect("valid tags");
    METRICS.requests_total.with(parsed).inc();
    if let Err(e) = "PATCH".parse::<Method>() {
        eprintln!("rejected input: {e}");
    }

    print!("{}", METRICS.render_prometheus());
    if let Some(p99) = METRICS.checkout_seconds.percentile(0.99) {
        eprintln!("checkout p99: {:.1} ms", p99 * 1000.0);
    }
}
