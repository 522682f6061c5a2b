use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    #[metric(help = "")]
    requests_total: Counter,
}

fn main() {}
