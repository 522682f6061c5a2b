use metrics_runtime::{Gauge, Metrics};

#[derive(Metrics)]
#[metrics(labels(le = "1", region = "", region = "us"))]
pub struct AppMetrics {
    /// Jobs waiting.
    queue_depth: Gauge,
}

fn main() {}
