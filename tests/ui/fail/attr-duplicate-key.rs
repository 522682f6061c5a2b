use metrics_runtime::{Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", unit = "seconds")]
    request_duration_seconds: Histogram,
}

fn main() {}
