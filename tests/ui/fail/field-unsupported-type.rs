use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    requests_total: Counter,
    /// Requests being served.
    inflight_requests: u64,
}

fn main() {}
