use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    requests: Counter,
}

fn main() {}
