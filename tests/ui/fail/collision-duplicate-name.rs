use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served.
    requests_total: Counter,
    /// Requests served, again.
    #[metric(name = "requests_total")]
    served_total: Counter,
}

fn main() {}
