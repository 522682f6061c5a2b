use metrics_runtime::{Metrics, Summary};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", window_secs = 0)]
    request_duration_seconds: Summary,
}

fn main() {}
