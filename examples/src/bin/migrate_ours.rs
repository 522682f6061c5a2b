//! The migration guide's app (docs/MIGRATING.md) with `metrics-runtime`.
//!
//! `cargo run -p examples --bin migrate_ours`

use examples::{route, REQUESTS};
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "method", rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
    Put,
    Delete,
    #[tag(value = "other")]
    Other,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "4xx")]
    ClientError,
    #[tag(value = "5xx")]
    ServerError,
}

impl Status {
    fn of(code: u16) -> Self {
        match code {
            200..=399 => Self::Success,
            400..=499 => Self::ClientError,
            _ => Self::ServerError,
        }
    }
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
struct Http {
    method: Method,
    status: Status,
}

#[derive(Metrics)]
#[metrics(namespace = "app")]
struct AppMetrics {
    /// Requests served, by method and status class.
    requests_total: Counter<Http>,
    /// Requests being served right now.
    inflight_requests: Gauge,
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0])]
    request_duration_seconds: Histogram<Method>,
}

static METRICS: AppMetrics = AppMetrics::new();

fn handle(method: &str, path: &str) -> u16 {
    // Parsed once; a method outside the enum is counted as `other`, not as a new series.
    let tag = method.parse().unwrap_or(Method::Other);
    METRICS.inflight_requests.inc();
    let timer = METRICS.request_duration_seconds.with(tag).start_timer();
    let status = route(method, path);
    METRICS.requests_total.with(Http { method: tag, status: Status::of(status) }).inc();
    timer.stop();
    METRICS.inflight_requests.dec();
    status
}

fn main() {
    for (method, path) in REQUESTS {
        handle(method, path);
    }
    // What `GET /metrics` would answer.
    print!("{}", METRICS.render_prometheus());
}
