use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Jobs run.
    jobs_total: Gauge,
}

fn main() {}
