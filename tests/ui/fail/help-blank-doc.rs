use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    ///
    requests_total: Counter,
}

fn main() {}
