use metrics_runtime::{Counter, Histogram, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Size of a response body.
    foo: Histogram,
    /// Things counted.
    foo_count_total: Counter,
}

fn main() {}
