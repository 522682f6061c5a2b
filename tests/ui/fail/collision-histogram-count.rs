use metrics_runtime::{Gauge, Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Size of a response body.
    foo: Histogram,
    /// Number of things.
    foo_count: Gauge,
}

fn main() {}
