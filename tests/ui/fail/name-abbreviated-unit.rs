use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Latency of the last request.
    latency_ms: Gauge,
}

fn main() {}
