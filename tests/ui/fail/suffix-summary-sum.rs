use metrics_runtime::{Metrics, Summary};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    latency_sum: Summary,
}

fn main() {}
