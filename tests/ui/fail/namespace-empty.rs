use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
#[metrics(namespace = "")]
pub struct AppMetrics {
    /// Requests served.
    requests_total: Counter,
}

fn main() {}
