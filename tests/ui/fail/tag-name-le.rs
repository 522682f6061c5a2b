use metrics_runtime::{Histogram, Metrics, Tag};

#[derive(Tag, Clone, Copy)]
#[tag(name = "le")]
pub enum Bound {
    Low,
    High,
}

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    request_duration_seconds: Histogram<Bound>,
}

fn main() {}
