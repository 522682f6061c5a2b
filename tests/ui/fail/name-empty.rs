use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests being served.
    #[metric(name = "")]
    inflight_requests: Gauge,
}

fn main() {}
