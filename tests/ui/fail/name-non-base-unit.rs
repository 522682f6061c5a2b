use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Latency of the last request.
    latency_milliseconds: Gauge,
}

fn main() {}
