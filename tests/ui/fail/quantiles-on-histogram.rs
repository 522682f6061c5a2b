use metrics_runtime::{Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", quantiles = [0.5, 0.99])]
    request_duration_seconds: Histogram,
}

fn main() {}
