use metrics_runtime::{Counter, Metrics};

#[derive(Metrics)]
pub struct AppMetrics(
    /// Requests served.
    Counter,
);

fn main() {}
