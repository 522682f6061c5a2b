use metrics_runtime::{Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Size of a response body.
    #[metric(unit = "bytes")]
    response_size: Histogram,
}

fn main() {}
