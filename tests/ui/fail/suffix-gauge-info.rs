use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Build information.
    build_info: Gauge,
}

fn main() {}
