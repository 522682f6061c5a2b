use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    #[metric(description = "Requests served.")]
    requests_total: Counter,
}

fn main() {}
