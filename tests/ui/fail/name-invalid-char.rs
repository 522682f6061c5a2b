use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    #[metric(name = "requests-served_total")]
    requests_total: Counter,
}

fn main() {}
