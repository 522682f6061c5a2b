use metrics_runtime::{Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.01, 0.1, 0.05, 1.0])]
    request_duration_seconds: Histogram,
}

fn main() {}
