use metrics_runtime::exemplar::Exemplars;
use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests being served.
    inflight_requests: Exemplars<Gauge>,
}

fn main() {}
