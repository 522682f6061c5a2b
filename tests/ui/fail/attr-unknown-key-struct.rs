use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
#[metrics(namespce = "shop")]
pub struct AppMetrics {
    /// Requests served.
    requests_total: Counter,
}

fn main() {}
