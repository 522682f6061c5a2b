use metrics_runtime::{Counter, Metrics, Tag};

#[derive(Tag, Clone, Copy)]
#[tag(name = "service")]
enum Service {
    Api,
}

#[derive(Metrics)]
#[metrics(labels(service = "checkout", region = "eu"))]
pub struct AppMetrics {
    /// Requests served, by service.
    requests_total: Counter<Service>,
}

fn main() {}
