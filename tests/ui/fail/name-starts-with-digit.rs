use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Server errors.
    #[metric(name = "5xx_responses_total")]
    server_errors_total: Counter,
}

fn main() {}
