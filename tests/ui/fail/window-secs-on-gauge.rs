use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests being served.
    #[metric(window_secs = 60)]
    inflight_requests: Gauge,
}

fn main() {}
