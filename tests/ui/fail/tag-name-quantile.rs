use metrics_runtime::{Metrics, Summary, Tag};

#[derive(Tag, Clone, Copy)]
#[tag(name = "quantile")]
pub enum Part {
    Low,
    High,
}

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    request_duration_seconds: Summary<Part>,
}

fn main() {}
