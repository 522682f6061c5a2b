use metrics_runtime::{Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "milliseconds")]
    request_duration: Histogram,
}

fn main() {}
