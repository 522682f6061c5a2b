use metrics_runtime::{Counter, Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    #[metric(name = "requests served_total")]
    requests_total: Counter,
    /// Requests being served.
    #[metric(name = "__inflight_requests")]
    inflight_requests: Gauge,
}

fn main() {}
