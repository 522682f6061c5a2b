use metrics_runtime::{Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.1, 1.0, 1e400])]
    request_duration_seconds: Histogram,
}

fn main() {}
