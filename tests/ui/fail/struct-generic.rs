use metrics_runtime::{Counter, Metrics, TagSet};

#[derive(Metrics)]
pub struct AppMetrics<T: TagSet> {
    /// Requests served.
    requests_total: Counter<T>,
}

fn main() {}
