use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    #[metric(max_series = 0)]
    requests_total: Counter,
}

fn main() {}
