use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    #[metric(buckets = [0.1, 1.0])]
    requests_total: Counter,
}

fn main() {}
