use metrics_runtime::{Counter, Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Jobs run.
    jobs_total: Counter,
    /// Jobs running.
    jobs: Gauge,
}

fn main() {}
