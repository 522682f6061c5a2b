use metrics_runtime::{Metrics, Summary};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", quantiles = [0.5, 0.99, 0.9])]
    request_duration_seconds: Summary,
}

fn main() {}
