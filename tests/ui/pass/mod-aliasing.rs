// A local `mod metrics_runtime` does not capture the paths of the generated code, and the real
// crate can be imported under another name.
use ::metrics_runtime as mr;
use mr::{Metrics, Tag, TagSet};

#[allow(dead_code)]
mod metrics_runtime {
    pub struct Counter;
    pub trait TagSet {}
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "5xx")]
    ServerError,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Http {
    pub method: Method,
    pub status: Status,
}

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    requests_total: mr::Counter<Http>,
    /// Requests being served.
    inflight_requests: mr::Gauge,
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    request_duration_seconds: mr::Histogram<Method>,
    /// Checkout time.
    #[metric(unit = "seconds")]
    checkout_seconds: mr::Summary<Status>,
}

static METRICS: AppMetrics = AppMetrics::new();

fn main() {
    METRICS.requests_total.with(Http { method: Method::Get, status: Status::Success }).inc();
    METRICS.inflight_requests.inc();
    METRICS.request_duration_seconds.with(Method::Post).record(0.5);
    METRICS.checkout_seconds.with(Status::ServerError).record(0.5);
    assert_eq!(<Method as mr::Tag>::NAME, "method");
    assert_eq!(<Http as mr::TagSet>::CARDINALITY, 4);
    let text = METRICS.render_prometheus();
    assert!(text.contains("requests_total{method=\"get\",status=\"2xx\"} 1\n"), "{text}");
    assert!(text.contains("request_duration_seconds_bucket{method=\"post\",le=\"1.0\"} 1\n"), "{text}");
}
