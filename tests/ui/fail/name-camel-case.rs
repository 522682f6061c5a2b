use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    #[metric(name = "httpRequests_total")]
    http_requests_total: Counter,
}

fn main() {}
