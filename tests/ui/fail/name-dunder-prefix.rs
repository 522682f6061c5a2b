use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    #[metric(name = "__requests_total")]
    requests_total: Counter,
}

fn main() {}
