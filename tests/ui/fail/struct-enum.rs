use metrics_runtime::Metrics;

#[derive(Metrics)]
pub enum AppMetrics {
    Requests,
}

fn main() {}
