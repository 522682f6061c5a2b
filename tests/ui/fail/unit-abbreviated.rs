use metrics_runtime::{Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "ms")]
    request_duration: Histogram,
}

fn main() {}
