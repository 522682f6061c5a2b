use metrics_runtime::{Metrics, Summary};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", quantiles = [])]
    request_duration_seconds: Summary,
}

fn main() {}
